// What the training loop tells an onlooker (the live page's recorder): a run opens, each
// iteration's metrics record, the run closes. The loop knows nothing of pages or servers; it
// calls these hooks and hands device optimizers the watch's trace sink.
import type { SpuDriver } from '../../driver/driver.ts';
import type { StateTraceSink } from '../optimizers/tngd-trace.ts';
import type { IterationMetrics } from './metrics.ts';

export interface RunOpening {
  /** the run folder */
  out: string;
  /** series name (optimizer name in a comparison) */
  label: string;
  seed: number;
  optimizer: string;
  totalIterations: number;
  /** the run's device, when its optimizer uses one */
  device: { driver: SpuDriver; url: string; label: string } | null;
}

export interface RunWatch {
  /** given to device optimizers (context key `stateTraces`) */
  readonly traces?: StateTraceSink;
  /** after each metrics line is written */
  iteration(rec: IterationMetrics): void;
  /** after the last line; the run's files are complete */
  close(end: { interrupted: boolean; diverged: boolean }): void;
}

export interface RunObserver {
  openRun(run: RunOpening): RunWatch;
}
