// Progress display for training runs: a cli-progress bar on stderr, only when stderr is a TTY
// (a pipe or a CI log gets no escape codes). Shows loss, test accuracy and iterations/s.
import cliProgress from 'cli-progress';

export interface ProgressSink {
  start(label: string, total: number, done: number): void;
  /** after each iteration; `testAccuracy` is the latest evaluation, if any */
  update(iter: number, trainLoss: number, testAccuracy: number | undefined): void;
  stop(): void;
}

/** A progress bar on `stream` (default stderr), or null when the stream is not a terminal. */
export function terminalProgress(stream: NodeJS.WriteStream = process.stderr): ProgressSink | null {
  if (!stream.isTTY) return null;
  let bar: cliProgress.SingleBar | null = null;
  let t0 = 0;
  let first = 0;
  // Smoothed loss: a mini-batch loss jumps too much to read.
  let ema = NaN;
  return {
    start(label, total, done) {
      bar = new cliProgress.SingleBar(
        {
          stream,
          format: `${label} {bar} {value}/{total} | loss {loss} | test acc {acc} | {rate} it/s | ETA {eta_formatted}`,
          barsize: 24,
          hideCursor: true,
          clearOnComplete: false,
          fps: 8,
          etaBuffer: 50,
        },
        cliProgress.Presets.shades_classic,
      );
      t0 = performance.now();
      first = done;
      ema = NaN;
      bar.start(total, done, { loss: '—', acc: '—', rate: '—' });
    },
    update(iter, trainLoss, testAccuracy) {
      if (!bar) return;
      ema = Number.isNaN(ema) ? trainLoss : 0.9 * ema + 0.1 * trainLoss;
      const secs = (performance.now() - t0) / 1e3;
      const rate = secs > 0 ? (iter - first) / secs : 0;
      bar.update(iter, {
        loss: Number.isFinite(ema) ? ema.toFixed(4) : String(ema),
        acc: testAccuracy === undefined ? '—' : `${(testAccuracy * 100).toFixed(1)}%`,
        rate: rate >= 100 ? rate.toFixed(0) : rate.toFixed(1),
      });
    },
    stop() {
      bar?.stop();
      bar = null;
    },
  };
}
