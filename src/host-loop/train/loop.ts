// The training loop behind `tngd train`: mini-batches from a seeded batcher, one optimizer step
// per batch, JSON-lines metrics per iteration, periodic test evaluation, checkpoints every K
// iterations, and an HTML/SVG report at the end. A run resumed from a checkpoint continues
// bit-identically: same parameters bytes and the same metric lines apart from timings.
//
// Run folder layout:  <out>/config.json  <out>/metrics.jsonl  <out>/checkpoints/ckpt-*.ckpt
//                     <out>/report.html  <out>/*.svg
import { existsSync, mkdirSync, rmSync, statSync } from 'node:fs';
import { basename, dirname, join, resolve } from 'node:path';
import { Batcher, gatherBatch, type BatcherState } from '../data/dataset.ts';
import type { TrainTest } from '../data/load.ts';
import { makeBatchOracle } from '../batch-oracle.ts';
import { FactorWorkspace } from '../curvature/factors.ts';
import { createModel } from '../models/model.ts';
import { accuracy } from '../models/losses.ts';
import { assertModelFitsData, evaluate } from '../models/evaluate.ts';
import { createOptimizer } from '../optimizers/registry.ts';
import type { Optimizer, StepStats } from '../types.ts';
export type { ReconnectPolicy } from './link-recovery.ts';
export { resumeCommandFor } from './link-recovery.ts';
import {
  CheckpointError,
  CheckpointStore,
  MetricsWriter,
  readCheckpoint,
  readMetrics,
  summarizeRuns,
  truncateMetrics,
  writeFileAtomic,
  writeReport,
  type Checkpoint,
  type IterationMetrics,
  type RunRecord,
  type SummaryRow,
} from '../run/index.ts';
import { mergeResumeConfig, parseTrainConfig, splitDeviceSecret, totalIterations, type TrainConfig, type TrainConfigOverrides } from './config.ts';
import { loadRunData } from './data-cache.ts';
import { deviceBackedSourceOf, openRunDevice, type RunDevice } from './device.ts';
import './tngd-device.ts';
import { LinkLostError, RunFolderInUseError, TrainRunError, TrainUsageError } from './errors.ts';
import { LinkDown, recoveringStep, resumeCommandFor, type ReconnectPolicy } from './link-recovery.ts';
import { clearRunFolder, runFolderEntries } from './run-folder.ts';
import type { ProgressSink } from './progress.ts';
import type { RunObserver } from '../run/observer.ts';
import type { SpuDriver } from '../../driver/driver.ts';

export interface TrainOptions {
  /** run folder (created); required unless resuming, where it defaults to the checkpoint's run folder */
  out?: string;
  /** resume from a checkpoint file, a run folder or its checkpoints folder */
  resume?: string;
  /** with `resume`: options from the command line (only iters, epochs, evalEvery, checkpointEvery, keepCheckpoints and device may differ) */
  overrides?: TrainConfigOverrides;
  /**
   * a fresh run into a folder that is not empty replaces the previous run's files; without it
   * such a folder is refused (RunFolderInUseError), so no run is overwritten by accident
   */
  overwrite?: boolean;
  /** tcp devices: the shared secret (a ?secret= in the device URL is moved here; neither is stored) */
  secret?: string;
  /** link loss mid-run: reconnect attempts and backoff (default 5 attempts, 250 ms doubling to 4 s) */
  reconnect?: ReconnectPolicy;
  /** abort = finish the current iteration, write a checkpoint and return with interrupted = true */
  signal?: AbortSignal;
  progress?: ProgressSink | null;
  /** informational lines (resume notes, divergence); default: none */
  log?: (line: string) => void;
  /** series name in reports; default the optimizer name */
  label?: string;
  /** name on the progress bar; default the label */
  progressLabel?: string;
  /** write report.html and SVGs at the end; default true */
  report?: boolean;
  /** pre-loaded data (compare shares it between runs) */
  data?: TrainTest;
  /** told of the run, each metrics line and the end (live page, periodic report) */
  observer?: RunObserver;
}

export interface TrainResult {
  config: TrainConfig;
  out: string;
  metricsPath: string;
  /** report.html, when written */
  reportPath: string | null;
  /** last checkpoint written (null if none) */
  checkpointPath: string | null;
  /** iterations completed (including those before a resume) */
  iterations: number;
  totalIterations: number;
  interrupted: boolean;
  /** the loss or the parameters became non-finite; the run stopped there */
  diverged: boolean;
  /** every metrics record of the run, resumed part included */
  records: IterationMetrics[];
  summary: SummaryRow;
  params: Float64Array;
}

/** Keys of a metrics line that measure time and so differ between otherwise identical runs. */
export const TIMING_KEYS = ['wallSeconds', 'hostSeconds', 'gradSeconds', 'deviceSeconds', 'evalSeconds'] as const;

const hr = (): bigint => process.hrtime.bigint();
const secs = (a: bigint, b: bigint): number => Number(b - a) / 1e9;
/** Lets signals (Ctrl-C) and timers run between synchronous iterations. */
const yieldToEventLoop = (): Promise<void> => new Promise((r) => setImmediate(r));

interface LoopState {
  iteration: number;
  batcher: BatcherState;
}

function isLoopState(x: unknown): x is { batcher: BatcherState } {
  const b = (x as { batcher?: BatcherState } | null)?.batcher;
  return !!b && typeof b.seed === 'number' && typeof b.epoch === 'number' && typeof b.pos === 'number';
}

/** Finds the checkpoint to resume from and the run folder it belongs to. */
export function locateCheckpoint(path: string): { checkpoint: Checkpoint; path: string; out: string; skipped: string[] } {
  const p = resolve(path);
  if (!existsSync(p)) throw new CheckpointError('not-found', p, 'no such file or folder');
  if (statSync(p).isFile()) {
    const dir = dirname(p);
    return { checkpoint: readCheckpoint(p), path: p, out: basename(dir) === 'checkpoints' ? dirname(dir) : dir, skipped: [] };
  }
  const sub = join(p, 'checkpoints');
  const storeDir = existsSync(sub) && statSync(sub).isDirectory() ? sub : p;
  const latest = new CheckpointStore(storeDir).loadLatest();
  const skipped = latest?.skipped.map((s) => s.error.message) ?? [];
  if (!latest) throw new TrainRunError(`--resume ${path}: no loadable checkpoint in ${storeDir}${skipped.length ? ` (${skipped.join('; ')})` : ''}`, 'data');
  return { checkpoint: latest.checkpoint, path: latest.path, out: storeDir === sub ? p : basename(p) === 'checkpoints' ? dirname(p) : p, skipped };
}

export async function train(input: unknown, opts: TrainOptions = {}): Promise<TrainResult> {
  const log = opts.log ?? (() => {});
  // ---- configuration: fresh or from a checkpoint ----
  let cfg: TrainConfig;
  let resumed: ReturnType<typeof locateCheckpoint> | null = null;
  if (opts.resume !== undefined) {
    resumed = locateCheckpoint(opts.resume);
    for (const s of resumed.skipped) log(`skipped damaged checkpoint: ${s}`);
    let saved: TrainConfig;
    try {
      saved = parseTrainConfig(resumed.checkpoint.config);
    } catch (e) {
      if (e instanceof TrainUsageError) throw new CheckpointError('invalid', resumed.path, `stored run configuration is not valid: ${e.message}`);
      throw e;
    }
    cfg = mergeResumeConfig(saved, opts.overrides ?? {});
  } else {
    cfg = parseTrainConfig(input);
  }
  if (opts.out === undefined && !resumed) throw new TrainUsageError(['out: a run folder is required']);
  // The secret travels beside the config, never in it (config.json, checkpoints, reports).
  const split = splitDeviceSecret(cfg.device);
  cfg = { ...cfg, device: split.url };
  const secret = opts.secret ?? split.secret;
  if (!resumed) {
    const entries = runFolderEntries(resolve(opts.out!));
    if (entries.length > 0 && !opts.overwrite) throw new RunFolderInUseError(resolve(opts.out!), entries);
  }

  // ---- data, model, optimizer ----
  const { train: trainSet, test: testSet } = opts.data ?? loadRunData(cfg.data);
  const model = createModel(cfg.model);
  assertModelFitsData(model, trainSet);
  if (cfg.batch > trainSet.n) throw new TrainUsageError([`batch size ${cfg.batch} exceeds the ${trainSet.n} training samples`]);
  const device: RunDevice | null = await openRunDevice(cfg, secret !== undefined ? { secret } : {});
  try {
    return await runWithDevice(cfg, opts, { trainSet, testSet, model, resumed, device, log });
  } finally {
    await device?.close();
  }
}

interface RunInputs {
  trainSet: TrainTest['train'];
  testSet: TrainTest['test'];
  model: ReturnType<typeof createModel>;
  resumed: ReturnType<typeof locateCheckpoint> | null;
  device: RunDevice | null;
  log: (line: string) => void;
}

async function runWithDevice(cfg: TrainConfig, opts: TrainOptions, inp: RunInputs): Promise<TrainResult> {
  const { trainSet, testSet, model, resumed, device, log } = inp;
  const out = resolve(opts.out ?? resumed!.out);
  const watch = opts.observer?.openRun({
    out,
    label: opts.label ?? cfg.optimizer,
    seed: cfg.seed,
    optimizer: cfg.optimizer,
    totalIterations: totalIterations(cfg, Math.floor(trainSet.n / cfg.batch)),
    device: device ? { driver: device.context.driver as SpuDriver, url: cfg.device, label: device.label } : null,
  });
  const optimizer: Optimizer = createOptimizer(cfg.optimizer, cfg.optimizerOptions, { ...(device?.context ?? {}), ...(watch?.traces ? { stateTraces: watch.traces } : {}) });
  const backed = device ? deviceBackedSourceOf(optimizer) : null;

  let params: Float64Array;
  let state: LoopState;
  if (resumed) {
    const ck = resumed.checkpoint;
    if (ck.params.length !== model.numParams)
      throw new CheckpointError('invalid', resumed.path, `holds ${ck.params.length} parameters, model ${cfg.model} has ${model.numParams}`);
    if (ck.optimizer.name !== cfg.optimizer)
      throw new CheckpointError('invalid', resumed.path, `optimizer state is for '${ck.optimizer.name}', config says '${cfg.optimizer}'`);
    if (!isLoopState(ck.rng)) throw new CheckpointError('invalid', resumed.path, 'no batcher state in the checkpoint');
    params = ck.params;
    optimizer.loadState(ck.optimizer.state);
    state = { iteration: ck.iteration, batcher: ck.rng.batcher };
    if (backed) {
      if (ck.device === undefined) throw new CheckpointError('invalid', resumed.path, 'no device state in the checkpoint of a device-backed optimizer');
      const bs = ck.rng.batcher;
      await backed.restoreDevice(ck.device, {
        // The batch of the checkpointed iteration: the batcher's last `batch` indices.
        lastBatchAt: (theta) => {
          const again = new Batcher(trainSet.n, cfg.batch, cfg.seed, { ...bs, pos: bs.pos - cfg.batch });
          const { x, y } = gatherBatch(trainSet, again.next().idx);
          return makeBatchOracle(model, theta, x, y, cfg.batch, cfg.loss);
        },
      });
    }
  } else {
    params = model.init(cfg.seed);
    state = { iteration: 0, batcher: { seed: cfg.seed, epoch: 0, pos: 0 } };
  }
  const batcher = new Batcher(trainSet.n, cfg.batch, cfg.seed, state.batcher);
  const total = totalIterations(cfg, batcher.batchesPerEpoch);

  // ---- run folder ----
  // A fresh run that fails before its first iteration completes leaves no folder behind.
  const createdOut = !resumed && !existsSync(out);
  // Only with overwrite (train() refused a non-empty folder otherwise): the previous run goes.
  if (!resumed) clearRunFolder(out);
  mkdirSync(out, { recursive: true });
  const metricsPath = join(out, 'metrics.jsonl');
  const store = new CheckpointStore(join(out, 'checkpoints'), { keep: cfg.keepCheckpoints });
  let wallOffset = 0;
  if (resumed) {
    if (existsSync(metricsPath)) {
      const kept = truncateMetrics(metricsPath, state.iteration);
      const recs = readMetrics(metricsPath).records;
      wallOffset = recs.length ? recs[recs.length - 1].wallSeconds : 0;
      if (kept < state.iteration) log(`metrics.jsonl holds ${kept} of the ${state.iteration} iterations before the checkpoint`);
    } else {
      log(`no metrics.jsonl in ${out}; starting a new one at iteration ${state.iteration + 1}`);
    }
  }
  writeFileAtomic(join(out, 'config.json'), Buffer.from(JSON.stringify(cfg, null, 2) + '\n'));
  const metrics = new MetricsWriter(metricsPath, { append: resumed !== null });

  // ---- the loop ----
  const b = cfg.batch;
  const X = new Float64Array(b * trainSet.d);
  const Y = new Int32Array(b);
  const ws = new FactorWorkspace();
  const label = opts.label ?? cfg.optimizer;
  const started = hr();
  let checkpointPath: string | null = null;
  let interrupted = false;
  let diverged = false;
  let lastAcc: number | undefined;
  const saveCheckpoint = async (iteration: number, epoch: number, batcherState: BatcherState = batcher.getState()): Promise<void> => {
    // Device first: it settles a pipelined run, whose readout is then part of the optimizer state.
    const deviceState = backed ? await backed.saveDevice() : undefined;
    metrics.sync();
    checkpointPath = store.save({
      iteration,
      epoch,
      params,
      optimizer: { name: cfg.optimizer, state: optimizer.saveState() },
      rng: { batcher: batcherState },
      config: cfg,
      ...(deviceState !== undefined ? { device: deviceState } : {}),
    });
  };


  const pipelined = cfg.optimizerOptions.pipelined === true;
  const stepRecovering = recoveringStep({ optimizer, params, device, pipelined, policy: opts.reconnect, log });
  let failedBeforeStart = false;
  opts.progress?.start(opts.progressLabel ?? label, total, state.iteration);
  let lastEpoch = resumed?.checkpoint.epoch ?? 0;
  let checkpointed = state.iteration;
  try {
    for (let iter = state.iteration + 1; iter <= total; iter++) {
      if (opts.signal?.aborted) {
        interrupted = true;
        break;
      }
      const before = batcher.getState();
      const epochBefore = lastEpoch;
      const { idx, epoch } = batcher.next();
      lastEpoch = epoch;
      gatherBatch(trainSet, idx, X, Y);
      const t0 = hr();
      const batch = makeBatchOracle(model, params, X, Y, b, cfg.loss, ws);
      const t1 = hr();
      let st: StepStats;
      try {
        st = await stepRecovering(iter, batch);
      } catch (e) {
        if (!(e instanceof LinkDown)) throw e;
        // Stop with a checkpoint at the last completed iteration (the failed step changed nothing;
        // a pipelined run's lost readout leaves only the last checkpoint on disk).
        let at = checkpointed;
        if (!pipelined && state.iteration > checkpointed) {
          await saveCheckpoint(state.iteration, epochBefore, before);
          at = state.iteration;
        }
        log(`stopping: ${e.reason}`);
        throw new LinkLostError(out, iter, at, resumeCommandFor(out), { cause: e.cause });
      }
      const rec: IterationMetrics = {
        iter,
        epoch,
        wallSeconds: 0,
        trainLoss: batch.loss,
        trainAccuracy: accuracy(batch.outputs, Y, b, model.outputDim),
        hostSeconds: secs(t0, t1) + st.hostSeconds,
        gradSeconds: secs(t0, t1),
        deviceTau: st.deviceTau ?? 0,
        bytesOut: st.bytesOut ?? 0,
        bytesIn: st.bytesIn ?? 0,
      };
      // Anything else the optimizer reports (matvecs, deviceSeconds, saturations, …).
      for (const [k, v] of Object.entries(st)) if (typeof v === 'number' && !(k in rec)) rec[k] = v;
      if (!Number.isFinite(batch.loss) || !allFinite(params)) diverged = true;
      if (!diverged && (iter % cfg.evalEvery === 0 || iter === total)) {
        const te = hr();
        const ev = evaluate(model, params, testSet, cfg.loss);
        rec.testLoss = ev.loss;
        rec.testAccuracy = ev.accuracy;
        rec.evalSeconds = secs(te, hr());
        lastAcc = ev.accuracy;
      }
      rec.wallSeconds = wallOffset + secs(started, hr());
      metrics.write(rec);
      watch?.iteration(rec);
      opts.progress?.update(iter, batch.loss, lastAcc);
      state.iteration = iter;
      if (diverged) {
        log(`${label} (seed ${cfg.seed}): loss or parameters became non-finite at iteration ${iter}; stopping (last checkpoint kept)`);
        break;
      }
      if (iter % cfg.checkpointEvery === 0 || iter === total) {
        await saveCheckpoint(iter, epoch);
        checkpointed = iter;
      }
      await yieldToEventLoop();
    }
    if (opts.signal?.aborted && !diverged && state.iteration < total) interrupted = true;
    // Ctrl-C: the iteration in flight has finished; make it resumable.
    if (interrupted && checkpointed !== state.iteration) await saveCheckpoint(state.iteration, lastEpoch);
  } catch (e) {
    failedBeforeStart = state.iteration === 0 && !resumed;
    throw e;
  } finally {
    opts.progress?.stop();
    metrics.close();
    watch?.close({ interrupted, diverged });
    // A run that never completed an iteration leaves nothing behind (nothing to resume either).
    if (failedBeforeStart) {
      if (createdOut) rmSync(out, { recursive: true, force: true });
      else clearRunFolder(out);
    }
  }

  // ---- report ----
  const records = readMetrics(metricsPath).records;
  const run: RunRecord = { optimizer: label, seed: cfg.seed, metrics: records, dir: out };
  let reportPath: string | null = null;
  if (opts.report ?? true) {
    const notes = [
      `model ${cfg.model}, loss ${cfg.loss}, batch ${cfg.batch}, seed ${cfg.seed}, ${state.iteration}/${total} iterations`,
      `optimizer ${cfg.optimizer} ${JSON.stringify(cfg.optimizerOptions)}${device ? ` on ${device.label}` : ''}`,
      `data: ${cfg.data.dir ?? 'shipped Fashion-MNIST subset'}${cfg.data.downsample ? ' (2×2 downsampled)' : ''}`,
    ];
    reportPath = writeReport(out, `tngd train: ${label}`, [run], notes).html;
  }
  return {
    config: cfg,
    out,
    metricsPath,
    reportPath,
    checkpointPath,
    iterations: state.iteration,
    totalIterations: total,
    interrupted,
    diverged,
    records,
    summary: summarizeRuns([run])[0],
    params,
  };
}

function allFinite(v: Float64Array): boolean {
  for (let i = 0; i < v.length; i++) if (!Number.isFinite(v[i])) return false;
  return true;
}
