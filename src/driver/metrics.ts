// Link and request accounting: what a user needs to tell a slow device from a noisy link.
// Latencies keep the last WINDOW samples per operation (enough for a stable median/p90).

const WINDOW = 512;

export interface LatencyStats {
  count: number;
  minMs: number;
  medianMs: number;
  p90Ms: number;
  maxMs: number;
}

export interface DriverMetrics {
  /** Bytes written to the link (an in-process message link carries messages, not bytes). */
  bytesOut: number;
  bytesIn: number;
  /** Frames (or, on a message link, messages) sent and received. */
  framesOut: number;
  framesIn: number;
  /** Frames the host decoder rejected, by kind (bad CRC, oversize, undecodable, …). */
  badFramesIn: Record<string, number>;
  /** Bytes the host decoder discarded (noise, stale traffic, broken frames). */
  bytesDiscarded: number;
  /** Replies to requests that had already timed out (dropped). */
  lateReplies: number;
  /** Replies/events with an id no request of this session ever had (stale traffic; dropped). */
  unexpectedFrames: number;
  retries: number;
  timeouts: number;
  deviceErrors: number;
  reconnects: number;
  latency: Record<string, LatencyStats>;
}

class Window {
  private readonly buf = new Float64Array(WINDOW);
  private n = 0;
  count = 0;
  min = Infinity;
  max = 0;
  add(ms: number): void {
    this.buf[this.n++ % WINDOW] = ms;
    this.count++;
    if (ms < this.min) this.min = ms;
    if (ms > this.max) this.max = ms;
  }
  stats(): LatencyStats {
    const k = Math.min(this.n, WINDOW);
    const s = Array.from(this.buf.subarray(0, k)).sort((a, b) => a - b);
    const q = (p: number): number => (k === 0 ? 0 : s[Math.min(k - 1, Math.floor(p * k))]);
    return { count: this.count, minMs: this.count ? this.min : 0, medianMs: q(0.5), p90Ms: q(0.9), maxMs: this.max };
  }
}

export class MetricsRecorder {
  bytesOut = 0;
  bytesIn = 0;
  framesOut = 0;
  framesIn = 0;
  readonly badFramesIn: Record<string, number> = {};
  bytesDiscarded = 0;
  lateReplies = 0;
  unexpectedFrames = 0;
  retries = 0;
  timeouts = 0;
  deviceErrors = 0;
  reconnects = 0;
  private readonly latencies = new Map<string, Window>();

  latency(op: string, ms: number): void {
    let w = this.latencies.get(op);
    if (!w) this.latencies.set(op, (w = new Window()));
    w.add(ms);
  }

  badFrame(kind: string): void {
    this.badFramesIn[kind] = (this.badFramesIn[kind] ?? 0) + 1;
  }

  snapshot(): DriverMetrics {
    const latency: Record<string, LatencyStats> = {};
    for (const [k, w] of this.latencies) latency[k] = w.stats();
    return {
      bytesOut: this.bytesOut,
      bytesIn: this.bytesIn,
      framesOut: this.framesOut,
      framesIn: this.framesIn,
      badFramesIn: { ...this.badFramesIn },
      bytesDiscarded: this.bytesDiscarded,
      lateReplies: this.lateReplies,
      unexpectedFrames: this.unexpectedFrames,
      retries: this.retries,
      timeouts: this.timeouts,
      deviceErrors: this.deviceErrors,
      reconnects: this.reconnects,
      latency,
    };
  }
}
