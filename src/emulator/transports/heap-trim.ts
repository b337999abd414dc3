// Keeps glibc from handing freed heap back to the kernel after every garbage collection in a
// process that serves a device over a byte stream.
//
// Why: Node reads a socket into a fresh 64 KiB buffer per read. When a collection frees a batch of
// them, glibc's free() finds more than M_TRIM_THRESHOLD (128 KiB by default) free at the top of
// the heap and returns it (brk); the next reads fault every page back in. Measured with
// `tngd emulate --tcp` receiving 4 MiB uploads: ~900 minor faults per upload (one per page
// received) and about half the device process's CPU time, in the kernel.
//
// Node has no mallopt(). glibc does raise the threshold on its own (its "dynamic mmap threshold"):
// freeing an mmap'd chunk larger than the current mmap threshold, and at most 32 MiB, sets that
// threshold to the chunk's size and the trim threshold to twice that, for the whole process. So we
// free one such chunk on purpose: a worker thread allocates 16 MiB (never touched, so never
// resident) and exits, which frees it. Afterwards up to 32 MiB of free heap stays mapped, and
// allocations below 16 MiB come from the heap. Elsewhere (musl, macOS, Windows) this is a worker
// that allocates and exits: harmless, and nothing is assumed from it.
import { Worker } from 'node:worker_threads';

/** Size of the chunk freed on purpose: the trim threshold becomes twice this (glibc caps it at 32 MiB). */
export const TRIM_CHUNK_BYTES = 16 << 20;

/** True when this process runs on glibc (the only allocator this tuning concerns). */
export function onGlibc(): boolean {
  const header = (process.report?.getReport() as { header?: { glibcVersionRuntime?: string } } | undefined)?.header;
  return typeof header?.glibcVersionRuntime === 'string';
}

let done: Promise<boolean> | null = null;

/**
 * Raises glibc's heap trim threshold for this process (see above); resolves true once done, false
 * where the process does not run on glibc or TNGD_KEEP_FREED_HEAP=0 (to compare, or to rule it
 * out). Idempotent; ~20 ms once (a worker's start).
 */
export function keepFreedHeap(): Promise<boolean> {
  done ??= !onGlibc() || process.env.TNGD_KEEP_FREED_HEAP === '0'
    ? Promise.resolve(false)
    : new Promise<boolean>((resolve) => {
        // no execArgv: the worker is plain CommonJS whatever loaders or input type this process has
        const w = new Worker(`require('node:buffer').Buffer.allocUnsafeSlow(${TRIM_CHUNK_BYTES})`, { eval: true, execArgv: [] });
        w.once('error', () => resolve(false));
        w.once('exit', (code) => resolve(code === 0));
      });
  return done;
}
