/**
 * `tngd-spu/train`: the training API behind `tngd train` and `tngd compare` — `train(config,
 * { out })` writes metrics, checkpoints and a report; `compare()` runs optimizers × seeds; the
 * config schema, data loading and the run-folder helpers.
 *
 * @packageDocumentation
 */
export * from '../host-loop/train/index.ts';
export { loadDataset, SHIPPED_DATA_DIR } from '../host-loop/data/load.ts';
export type { LoadOptions, TrainTest } from '../host-loop/data/load.ts';
export { CheckpointError, CheckpointStore, readCheckpoint, readMetrics, summarizeRuns, writeReport, formatSummaryTable } from '../host-loop/run/index.ts';
export type { Checkpoint, IterationMetrics, RunRecord, SummaryRow } from '../host-loop/run/index.ts';
export type { CheckpointErrorCode, StoredCheckpoint, MetricsFile, MeanSd } from '../host-loop/run/index.ts';
export type { ReconnectPolicy } from '../host-loop/train/loop.ts';
export type { RunDeviceOptions } from '../host-loop/train/device.ts';
export type { Dataset } from '../host-loop/data/dataset.ts';
export type { RunObserver } from '../host-loop/run/observer.ts';
export type { RunWatch } from '../host-loop/run/observer.ts';
export type { RunOpening } from '../host-loop/run/observer.ts';
