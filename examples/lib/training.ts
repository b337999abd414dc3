// Training runs for the studies, all through the project's one training loop `train()`:
// validation splits for learning-rate tuning, per-run folders, a "compute time" axis that is
// comparable across digital optimizers and TNGD, and seed aggregation.
import { existsSync, readFileSync, writeFileSync } from 'node:fs';
import { createHash } from 'node:crypto';
import { join } from 'node:path';
import type { Dataset } from '../../src/host-loop/data/dataset.ts';
import type { TrainTest } from '../../src/host-loop/data/load.ts';
import { createModel } from '../../src/host-loop/models/model.ts';
import { evaluate } from '../../src/host-loop/models/evaluate.ts';
import { train } from '../../src/host-loop/train/loop.ts';
import type { TrainConfigInput } from '../../src/host-loop/train/config.ts';
import { meanSd } from '../../src/host-loop/run/index.ts';
import type { IterationMetrics, MeanSd, RunRecord } from '../../src/host-loop/run/index.ts';

/** First n samples of a data set, as a view (no copy). */
export function headOf(ds: Dataset, n: number): Dataset {
  const m = Math.min(n, ds.n);
  return { ...ds, n: m, x: ds.x.subarray(0, m * ds.d), y: ds.y.subarray(0, m) };
}

/** Last `frac` of the training set held out for tuning (the test set is never used to tune). */
export function validationSplit(data: TrainTest, frac: number): TrainTest {
  const nVal = Math.max(1, Math.round(data.train.n * frac));
  const nTrain = data.train.n - nVal;
  const d = data.train.d;
  const train: Dataset = { ...data.train, n: nTrain, x: data.train.x.subarray(0, nTrain * d), y: data.train.y.subarray(0, nTrain) };
  const test: Dataset = { ...data.train, n: nVal, x: data.train.x.subarray(nTrain * d), y: data.train.y.subarray(nTrain) };
  return { train, test, dir: data.dir };
}

export interface RunSpec {
  /** series label, e.g. "Adam (lr 1e-3)" or "tngd t=10τ" */
  label: string;
  optimizer: string;
  optimizerOptions: Record<string, unknown>;
  seed: number;
}

export interface CommonRunSettings {
  model: string;
  batch: number;
  iters: number;
  evalEvery: number;
  /** what train() records as the data source (for its config.json) */
  dataConfig: { dir: string | null; downsample: boolean };
  /** device URL for optimizers that need one */
  device?: string;
  /** extra host-side seconds per iteration charged on the compute-time axis, per optimizer (projected device time) */
  projectedDeviceSeconds?: (spec: RunSpec, rec: IterationMetrics) => number;
  /** reuse a finished run whose folder holds the same configuration (finished.json) */
  reuse?: boolean;
}

export interface FinishedRun {
  spec: RunSpec;
  diverged: boolean;
  iterations: number;
  records: IterationMetrics[];
  /** whole-data-set evaluation of the final parameters */
  finalTrain: { loss: number; accuracy: number; n: number };
  finalTest: { loss: number; accuracy: number; n: number };
  /** mean host seconds per iteration (gradient + optimizer step, device wait excluded by TNGD) */
  hostSecondsPerIter: number;
  /** wall seconds the emulated run took (includes emulating the analogue dynamics) */
  wallSeconds: number;
  /** cumulative compute seconds at the end (host + projected device) */
  computeSeconds: number;
  /** analogue time per iteration, τ (0 for digital) */
  deviceTauPerIter: number;
}

/** Runs one configuration through train(); the run folder is <runsDir>/<label>-s<seed>. */
export async function runOne(spec: RunSpec, s: CommonRunSettings, data: TrainTest, runsDir: string, finalTrainEvalSamples = 10_000): Promise<FinishedRun> {
  const cfg: TrainConfigInput = {
    model: s.model,
    loss: 'ce',
    data: s.dataConfig,
    optimizer: spec.optimizer,
    optimizerOptions: spec.optimizerOptions,
    batch: s.batch,
    iters: s.iters,
    seed: spec.seed,
    evalEvery: s.evalEvery,
    checkpointEvery: s.iters,
    keepCheckpoints: 1,
    ...(s.device ? { device: s.device } : {}),
  };
  // Runs are keyed by what they compute, not by their label, so a configuration shared by two
  // comparisons (e.g. the baseline arm) is trained once per invocation.
  const key = JSON.stringify({ cfg, n: [data.train.n, data.test.n], finalTrainEvalSamples });
  const hash = createHash('sha256').update(key).digest('hex').slice(0, 12);
  const memo = memory.get(hash);
  if (memo) return relabel(memo, spec);
  const folder = join(runsDir, `${spec.optimizer}-${hash}-s${spec.seed}`);
  const finishedPath = join(folder, 'finished.json');
  if (s.reuse && existsSync(finishedPath)) {
    const saved = JSON.parse(readFileSync(finishedPath, 'utf8'), (_k, v: unknown) => (v === 'NaN' ? NaN : v)) as { key: string; run: FinishedRun };
    if (saved.key === key) {
      console.log(`[reuse] ${folder}`);
      runCounts.reusedFromDisk++;
      memory.set(hash, saved.run);
      return relabel(saved.run, spec);
    }
  }
  const run = await trainOnce(cfg, spec, s, data, folder, finalTrainEvalSamples);
  runCounts.trained++;
  writeFileSync(finishedPath, JSON.stringify({ key, run }, (_k, v: unknown) => (typeof v === 'number' && Number.isNaN(v) ? 'NaN' : v)));
  memory.set(hash, run);
  return run;
}

const memory = new Map<string, FinishedRun>();

/** Runs trained in this process and runs taken from an earlier invocation (--reuse). */
export const runCounts = { trained: 0, reusedFromDisk: 0 };

function relabel(run: FinishedRun, spec: RunSpec): FinishedRun {
  return { ...run, spec };
}

async function trainOnce(
  cfg: TrainConfigInput,
  spec: RunSpec,
  s: CommonRunSettings,
  data: TrainTest,
  folder: string,
  finalTrainEvalSamples: number,
): Promise<FinishedRun> {
  const res = await train(cfg, { out: folder, data, report: false, label: spec.label });
  const model = createModel(res.config.model);
  const ok = !res.diverged;
  const nan = { loss: NaN, accuracy: NaN, n: 0 };
  const finalTrain = ok && finalTrainEvalSamples > 0 ? evaluate(model, res.params, headOf(data.train, finalTrainEvalSamples), 'ce') : nan;
  const finalTest = ok ? evaluate(model, res.params, data.test, 'ce') : nan;
  let compute = 0;
  let host = 0;
  let tau = 0;
  const records = res.records.map((r) => {
    host += r.hostSeconds ?? 0;
    tau += r.deviceTau ?? 0;
    compute += (r.hostSeconds ?? 0) + (s.projectedDeviceSeconds?.(spec, r) ?? 0);
    return { ...r, computeSeconds: compute };
  });
  const n = Math.max(1, records.length);
  return {
    spec,
    diverged: res.diverged,
    iterations: res.iterations,
    records,
    finalTrain,
    finalTest,
    hostSecondsPerIter: host / n,
    wallSeconds: records.length ? records[records.length - 1].wallSeconds : 0,
    computeSeconds: compute,
    deviceTauPerIter: tau / n,
  };
}

/**
 * Records for plotting: the mini-batch train loss/accuracy averaged over a trailing window
 * (they are too noisy per iteration), and wallSeconds replaced by the compute-time axis.
 */
export function plotRecord(run: FinishedRun, window: number): RunRecord {
  const rs = run.records;
  const metrics: IterationMetrics[] = rs.map((r, i) => {
    const lo = Math.max(0, i - window + 1);
    let l = 0;
    let a = 0;
    for (let k = lo; k <= i; k++) {
      l += rs[k].trainLoss;
      a += rs[k].trainAccuracy ?? NaN;
    }
    const m = i - lo + 1;
    return { ...r, trainLoss: l / m, trainAccuracy: a / m, wallSeconds: (r.computeSeconds as number) ?? r.wallSeconds };
  });
  return { optimizer: run.spec.label, seed: run.spec.seed, metrics };
}

export interface GroupSummary {
  label: string;
  optimizer: string;
  options: Record<string, unknown>;
  seeds: number[];
  diverged: number;
  finalTrainLoss: MeanSd;
  finalTrainAccuracy: MeanSd;
  finalTestLoss: MeanSd;
  finalTestAccuracy: MeanSd;
  hostMsPerIter: MeanSd;
  computeSeconds: MeanSd;
  wallSeconds: MeanSd;
  deviceTauPerIter: MeanSd;
}

export function summarizeGroups(runs: FinishedRun[]): GroupSummary[] {
  const groups = new Map<string, FinishedRun[]>();
  for (const r of runs) groups.set(r.spec.label, [...(groups.get(r.spec.label) ?? []), r]);
  return [...groups.entries()].map(([label, g]) => {
    const f = (pick: (r: FinishedRun) => number): MeanSd => meanSd(g.map(pick));
    return {
      label,
      optimizer: g[0].spec.optimizer,
      options: g[0].spec.optimizerOptions,
      seeds: g.map((r) => r.spec.seed),
      diverged: g.filter((r) => r.diverged).length,
      finalTrainLoss: f((r) => r.finalTrain.loss),
      finalTrainAccuracy: f((r) => r.finalTrain.accuracy),
      finalTestLoss: f((r) => r.finalTest.loss),
      finalTestAccuracy: f((r) => r.finalTest.accuracy),
      hostMsPerIter: f((r) => r.hostSecondsPerIter * 1e3),
      computeSeconds: f((r) => r.computeSeconds),
      wallSeconds: f((r) => r.wallSeconds),
      deviceTauPerIter: f((r) => r.deviceTauPerIter),
    };
  });
}

/** Raw-numbers view of a run for results.json: one row per evaluation plus the finals. */
export function runForJson(run: FinishedRun): Record<string, unknown> {
  return {
    label: run.spec.label,
    optimizer: run.spec.optimizer,
    options: run.spec.optimizerOptions,
    seed: run.spec.seed,
    diverged: run.diverged,
    iterations: run.iterations,
    finalTrain: run.finalTrain,
    finalTest: run.finalTest,
    hostSecondsPerIter: run.hostSecondsPerIter,
    computeSeconds: run.computeSeconds,
    wallSeconds: run.wallSeconds,
    deviceTauPerIter: run.deviceTauPerIter,
    trainLoss: run.records.map((r) => r.trainLoss),
    evals: run.records
      .filter((r) => typeof r.testLoss === 'number')
      .map((r) => ({ iter: r.iter, testLoss: r.testLoss, testAccuracy: r.testAccuracy, computeSeconds: r.computeSeconds, wallSeconds: r.wallSeconds })),
  };
}

/**
 * Parameters after a short Adam run (lr 1e-2, b = 16, seed 0), so solve studies use the
 * curvature of a partly trained network rather than of the initialisation.
 */
export async function warmParams(model: string, data: TrainTest, dataConfig: CommonRunSettings['dataConfig'], folder: string, iters: number): Promise<Float64Array> {
  const res = await train(
    { model, loss: 'ce', data: dataConfig, optimizer: 'adam', optimizerOptions: { lr: 1e-2 }, batch: 16, iters, seed: 0, evalEvery: iters, checkpointEvery: iters, keepCheckpoints: 1 },
    { out: folder, data, report: false },
  );
  return res.params;
}
