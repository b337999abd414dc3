// Liveness of one link: a heartbeat when the link has been quiet for everyMs, and the count of
// consecutive unanswered ones; at maxMisses the device is declared gone (onLost). One Liveness
// per link: the driver stops it when the link goes down and starts a new one on reconnect, so a
// heartbeat still in flight on an old link can never take down the new one.
import type { Logger } from 'pino';
import { TimeoutError } from './errors.ts';

/** What liveness watches on the link. */
export interface LinkActivity {
  readonly isDown: boolean;
  /** performance.now() of the last byte received */
  readonly lastRxAt: number;
}

export interface LivenessOptions {
  /** quiet time before a heartbeat, ms (> 0) */
  everyMs: number;
  /** consecutive unanswered heartbeats that declare the device gone */
  maxMisses: number;
  log: Logger;
  /** Called once, when the misses reach maxMisses. */
  onLost(misses: number): void;
}

export class Liveness {
  private timer: NodeJS.Timeout | null = null;
  private busy = false;
  private stopped = false;
  private misses = 0;

  constructor(
    private readonly link: LinkActivity,
    private readonly ping: () => Promise<unknown>,
    private readonly o: LivenessOptions,
  ) {}

  start(): void {
    if (this.timer || this.stopped) return;
    // Checking twice per interval bounds the detection delay by 1.5 × everyMs.
    this.timer = setInterval(() => void this.tick(), Math.max(10, Math.floor(this.o.everyMs / 2)));
    this.timer.unref();
  }

  /** Stops the timer for good; a heartbeat in flight is no longer counted. */
  stop(): void {
    this.stopped = true;
    if (this.timer) clearInterval(this.timer);
    this.timer = null;
  }

  private async tick(): Promise<void> {
    if (this.busy || this.stopped || this.link.isDown) return;
    if (performance.now() - this.link.lastRxAt < this.o.everyMs) return;
    this.busy = true;
    try {
      await this.ping();
      this.misses = 0;
    } catch (e) {
      // Only silence counts: a device error or a reboot is an answer.
      if (e instanceof TimeoutError && !this.stopped) {
        this.misses++;
        this.o.log.warn({ misses: this.misses }, 'heartbeat unanswered');
        if (this.misses >= this.o.maxMisses) {
          this.stop();
          this.o.onLost(this.misses);
        }
      }
    } finally {
      this.busy = false;
    }
  }
}

/**
 * Tells a device that rebooted on a live link (its state lost, the link up) by its uptime going
 * backwards. The 1 s slack keeps a device whose clock is read a little differently per reply from
 * being taken for a rebooted one. Reset at each handshake: a new session is a new baseline.
 */
export class UptimeWatch {
  private lastUptimeMs = 0;

  /** Records a heartbeat's uptime; true when it shows a reboot since the previous one. */
  observe(uptimeMs: number): boolean {
    const rebooted = uptimeMs + 1000 < this.lastUptimeMs;
    this.lastUptimeMs = uptimeMs;
    return rebooted;
  }

  reset(): void {
    this.lastUptimeMs = 0;
  }
}
