// Delivers byte chunks in order, each no earlier than its due time. Shared by the delay/stall
// faults and by link-rate pacing. Everything already due is delivered in one go, so timer
// granularity (~1 ms) does not cap the achievable rate.
export class TimedQueue {
  private readonly items: { at: number; buf: Buffer }[] = [];
  private timer: NodeJS.Timeout | null = null;
  private stopped = false;
  private idleWaiters: (() => void)[] = [];

  constructor(private readonly deliver: (buf: Buffer) => void) {}

  get pending(): number {
    return this.items.length;
  }

  /** `at` in performance.now() milliseconds; earlier items never overtake later ones. */
  push(buf: Buffer, at: number): void {
    if (this.stopped) return;
    this.items.push({ at, buf });
    this.schedule();
  }

  /** Resolves once everything queued has been delivered. */
  idle(): Promise<void> {
    if (this.items.length === 0) return Promise.resolve();
    return new Promise((r) => this.idleWaiters.push(r));
  }

  stop(): void {
    this.stopped = true;
    this.items.length = 0;
    if (this.timer) clearTimeout(this.timer);
    this.timer = null;
    this.flushWaiters();
  }

  private flushWaiters(): void {
    const w = this.idleWaiters;
    this.idleWaiters = [];
    for (const f of w) f();
  }

  private schedule(): void {
    if (this.timer || this.items.length === 0) return;
    const wait = Math.max(0, this.items[0].at - performance.now());
    this.timer = setTimeout(() => {
      this.timer = null;
      this.run();
    }, wait);
  }

  private run(): void {
    const now = performance.now();
    const due: Buffer[] = [];
    while (this.items.length > 0 && this.items[0].at <= now + 0.5) due.push(this.items.shift()!.buf);
    if (due.length > 0 && !this.stopped) this.deliver(due.length === 1 ? due[0] : Buffer.concat(due));
    if (this.items.length === 0) this.flushWaiters();
    else this.schedule();
  }
}
