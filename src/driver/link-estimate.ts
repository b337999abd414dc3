// What the driver has measured about its link, for sizing the bulk window: the smallest round
// trip of a BulkChunk (the link's own latency, without queueing) and the delivery rate of bulk
// data. The window then covers bandwidth × round trip (+1 so the pipe never drains while an
// acknowledgement is on its way), never more than the device accepts: a fast link keeps the
// device's window, a slow or buffered one (a paced UART, a USB bridge) stops queueing chunks it
// cannot carry any sooner.

export class LinkEstimate {
  /** smallest BulkChunk round trip seen, ms */
  rttMs = Infinity;
  /** bulk bytes delivered per ms over the last measured upload */
  bytesPerMs = 0;

  rtt(ms: number): void {
    if (ms >= 0 && ms < this.rttMs) this.rttMs = ms;
  }

  /** One upload's delivery: `bytes` acknowledged over `ms`. */
  delivered(bytes: number, ms: number): void {
    if (bytes > 0 && ms > 0) this.bytesPerMs = bytes / ms;
  }

  /** Chunks in flight that cover bandwidth × round trip; the device's window until measured. */
  window(chunkBytes: number, deviceWindow: number): number {
    if (!Number.isFinite(this.rttMs) || this.bytesPerMs <= 0) return deviceWindow;
    const bdp = this.bytesPerMs * this.rttMs;
    return Math.max(2, Math.min(deviceWindow, Math.ceil(bdp / chunkBytes) + 1));
  }
}
