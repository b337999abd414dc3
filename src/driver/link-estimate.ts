// What the driver has measured about its link, for sizing the bulk window: the smallest round
// trip of a BulkChunk (the link's own latency, without queueing) and the delivery rate of bulk
// data. The window then covers bandwidth × (round trip + QUEUE_ALLOWANCE_MS) (+1 so the pipe
// never drains while an acknowledgement is on its way), never more than the device accepts: a
// fast link keeps the device's window, a slow or buffered one (a paced UART, a USB bridge) stops
// queueing chunks it cannot carry any sooner.
//
// Why the allowance: bandwidth × smallest round trip alone is self-limiting. The rate measured
// with a small window is the rate that window allows (each end pauses for its own processing,
// event-loop turns and GC, which the smallest round trip does not show), so the next window is
// smaller still: over TCP with the emulator in another process it fell from 8 to 2 chunks in two
// uploads and the upload ran at a tenth of the link. A few milliseconds of queue bridge those
// pauses and still bound what a slow link holds ahead of an abort or a heartbeat.

/** Queue the window may keep beyond bandwidth × round trip, ms. */
export const QUEUE_ALLOWANCE_MS = 10;

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

  /** Chunks in flight that cover bandwidth × (round trip + allowance); the device's window until measured. */
  window(chunkBytes: number, deviceWindow: number): number {
    if (!Number.isFinite(this.rttMs) || this.bytesPerMs <= 0) return deviceWindow;
    const bytes = this.bytesPerMs * (this.rttMs + QUEUE_ALLOWANCE_MS);
    return Math.max(2, Math.min(deviceWindow, Math.ceil(bytes / chunkBytes) + 1));
  }
}
