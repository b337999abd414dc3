// A run in flight. Started by SpuDriver.run(), which returns at once: the host computes its
// next gradient while the device integrates, then awaits `result` (the paper's asynchronous
// loop). Streamed sample blocks are buffered until iterated; the iterator ends with the run.
import type { ReplyBody } from '../protocol/index.ts';
import type { RunResult, SampleBlock } from './types.ts';

type Waiter = { resolve: (r: IteratorResult<SampleBlock>) => void; reject: (e: unknown) => void };

/** Sample blocks pushed by the device, pulled by the caller (one consumer). */
export class SampleQueue {
  private readonly blocks: SampleBlock[] = [];
  private readonly waiters: Waiter[] = [];
  private ended = false;
  private error: unknown = null;
  /** blocks received in total */
  received = 0;

  push(b: SampleBlock): void {
    if (this.ended) return;
    this.received++;
    const w = this.waiters.shift();
    if (w) w.resolve({ value: b, done: false });
    else this.blocks.push(b);
  }

  end(error?: unknown): void {
    if (this.ended) return;
    this.ended = true;
    if (error !== undefined) this.error = error;
    for (const w of this.waiters.splice(0)) {
      if (this.error !== null) w.reject(this.error);
      else w.resolve({ value: undefined, done: true });
    }
  }

  next(): Promise<IteratorResult<SampleBlock>> {
    const b = this.blocks.shift();
    if (b) return Promise.resolve({ value: b, done: false });
    if (this.ended) return this.error !== null ? Promise.reject(this.error) : Promise.resolve({ value: undefined, done: true });
    return new Promise((resolve, reject) => this.waiters.push({ resolve, reject }));
  }
}

/** A promise with its settle functions (Promise.withResolvers arrives in Node 22). */
export function deferred<T>(): { promise: Promise<T>; resolve: (v: T) => void; reject: (e: unknown) => void } {
  let resolve!: (v: T) => void;
  let reject!: (e: unknown) => void;
  const promise = new Promise<T>((res, rej) => {
    resolve = res;
    reject = rej;
  });
  return { promise, resolve, reject };
}

export interface RunHandleInit {
  ended: Promise<ReplyBody<'Run'>>;
  result: Promise<RunResult>;
  samples: SampleQueue | null;
  abort: () => Promise<ReplyBody<'Abort'>>;
}

export class RunHandle {
  /** Resolves with the Run reply when the device finishes (before results are fetched). */
  readonly ended: Promise<ReplyBody<'Run'>>;
  /** Resolves with the run's results (mean/final fetched as configured). */
  readonly result: Promise<RunResult>;
  private readonly queue: SampleQueue | null;
  private readonly abortFn: () => Promise<ReplyBody<'Abort'>>;

  constructor(init: RunHandleInit) {
    this.ended = init.ended;
    this.result = init.result;
    // A caller that never awaits one of these must not crash the process with an unhandled rejection.
    this.ended.catch(() => {});
    this.result.catch(() => {});
    this.queue = init.samples;
    this.abortFn = init.abort;
  }

  /** Streamed sample blocks, in order; ends when the run ends (throws if it failed). */
  samples(): AsyncIterableIterator<SampleBlock> {
    const q = this.queue;
    if (!q) throw new TypeError('this run was started without streamSamples: true');
    const it: AsyncIterableIterator<SampleBlock> = {
      next: () => q.next(),
      [Symbol.asyncIterator]: () => it,
    };
    return it;
  }

  /** Asks the device to stop the run; `result` then resolves with the 'aborted' flag. */
  abort(): Promise<ReplyBody<'Abort'>> {
    return this.abortFn();
  }
}
