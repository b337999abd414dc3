// SCPI-style FIFO error queue of fixed depth (PROTOCOL.md §9.3). When an error arrives and only
// one slot is free, that slot gets a QUEUE_OVERFLOW entry and further errors are dropped
// (counted) until the host reads or clears.
import { ErrorCode, packPlain } from '../../protocol/index.ts';
import type { ErrorEntry } from '../../protocol/index.ts';

export class ErrorQueue {
  private entries: ErrorEntry[] = [];
  private overflowed = false;
  /** errors lost since the overflow entry was queued */
  dropped = 0;
  last: { code: number; message: string } | undefined;

  constructor(readonly depth: number) {}

  get length(): number {
    return this.entries.length;
  }

  push(e: ErrorEntry): void {
    const entry = { ...e, message: e.message.slice(0, 256) };
    this.last = { code: entry.code, message: entry.message };
    if (this.overflowed) {
      this.dropped++;
      return;
    }
    if (this.entries.length < this.depth - 1) {
      this.entries.push(entry);
      return;
    }
    this.overflowed = true;
    this.dropped = 1;
    this.entries.push({ code: ErrorCode.QUEUE_OVERFLOW, message: 'error queue overflow: later errors were lost', requestId: 0, type: 0, uptimeMs: entry.uptimeMs });
  }

  /** Removes and returns up to max entries, oldest first, as many as fit `room` packed bytes. */
  read(max: number, room = Infinity): ErrorEntry[] {
    let k = 0;
    for (let used = 0; k < Math.min(max, this.entries.length); k++) {
      used += packPlain(this.entries[k]).length;
      if (used > room) break;
    }
    const out = this.entries.splice(0, k);
    // Reading frees slots: errors are queued again from now on.
    if (out.length > 0) this.overflowed = false;
    return out;
  }

  clear(): number {
    const n = this.entries.length;
    this.entries = [];
    this.overflowed = false;
    this.dropped = 0;
    return n;
  }
}
