// Progress for logs and CI (stderr not a terminal): one plain line every few seconds, no escape
// codes, so a long run shows it is alive and when it should end.
import type { ProgressSink } from '../train/progress.ts';

export interface LineProgressOptions {
  /** ms between lines; default 5000 */
  everyMs?: number;
  now?: () => number;
  write?: (line: string) => void;
}

export function formatEta(seconds: number): string {
  if (!Number.isFinite(seconds) || seconds < 0) return '?';
  if (seconds < 60) return `${Math.round(seconds)} s`;
  if (seconds < 3600) return `${Math.floor(seconds / 60)} min ${Math.round(seconds % 60)} s`;
  return `${Math.floor(seconds / 3600)} h ${Math.round((seconds % 3600) / 60)} min`;
}

/** A ProgressSink printing `label: iteration i/N, loss …, test acc …, r it/s, ETA …` at most every `everyMs`, and once at the end. */
export function lineProgress(o: LineProgressOptions = {}): ProgressSink {
  const every = o.everyMs ?? 5000;
  const now = o.now ?? (() => performance.now());
  const write = o.write ?? ((l: string) => process.stderr.write(l + '\n'));
  let label = '';
  let total = 0;
  let first = 0;
  let t0 = 0;
  let lastPrint = 0;
  let last: { iter: number; loss: number; acc: number | undefined } | null = null;
  // smoothed like the terminal bar's: a mini-batch loss jumps too much to read
  let ema = NaN;
  const line = (): string => {
    if (!last) return `${label}: starting (${total} iterations)`;
    const secs = (now() - t0) / 1e3;
    const rate = secs > 0 ? (last.iter - first) / secs : 0;
    const eta = rate > 0 ? (total - last.iter) / rate : NaN;
    return (
      `${label}: iteration ${last.iter}/${total} (${((100 * last.iter) / Math.max(1, total)).toFixed(0)}%), loss ${Number.isFinite(last.loss) ? last.loss.toFixed(4) : String(last.loss)}` +
      `${last.acc === undefined ? '' : `, test acc ${(100 * last.acc).toFixed(1)}%`}, ${rate >= 100 ? rate.toFixed(0) : rate.toFixed(2)} it/s, ETA ${formatEta(eta)}`
    );
  };
  return {
    start(l, tot, done) {
      label = l;
      total = tot;
      first = done;
      t0 = lastPrint = now();
      last = null;
      ema = NaN;
    },
    update(iter, trainLoss, testAccuracy) {
      ema = Number.isNaN(ema) ? trainLoss : 0.9 * ema + 0.1 * trainLoss;
      last = { iter, loss: ema, acc: testAccuracy };
      if (now() - lastPrint >= every) {
        lastPrint = now();
        write(line());
      }
    },
    stop() {
      if (last) write(line());
      last = null;
    },
  };
}
