// The paper's MNIST setting at the paper's budget, on Fashion-MNIST (issue 14, deliverable 1):
// 10 000 training and 10 000 test images, b = 64, 10 epochs, λ = 0.01, t = 50τ, an MLP, against
// Adam, SGD with momentum, NGD-Woodbury, warm-started NGD-CG and K-FAC, every η tuned per arm on a
// validation split carved from the 10 000 training images.
//
// One emulated TNGD run costs tens of CPU minutes here, so the study runs in stages that can be
// spread over processes and survive a kill:
//   --stage tune   --arm A --grid η1,η2,…   one file per (η, tuning seed) under <data>/tuning/
//   --stage run    --arm A --seed-list 1,2  one file per seed under <data>/runs/; the training
//                  checkpoints every --checkpoint-every iterations into <work>/ and a rerun of
//                  the same command resumes an unfinished seed and skips a finished one
//   --stage report reads the committed files only: headline table (mean ± 95 % t-interval,
//                  paired differences against TNGD), figures, summary.md
import { createHash } from 'node:crypto';
import { existsSync, mkdirSync, readdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { join, resolve } from 'node:path';
import { loadDataset } from '../src/host-loop/data/load.ts';
import type { TrainTest } from '../src/host-loop/data/load.ts';
import { evaluate } from '../src/host-loop/models/evaluate.ts';
import { createModel } from '../src/host-loop/models/model.ts';
import type { IterationMetrics, RunRecord } from '../src/host-loop/run/index.ts';
import { train } from '../src/host-loop/train/loop.ts';
import { TngdDeviceError } from '../src/host-loop/optimizers/tngd.ts';
import type { TrainResult } from '../src/host-loop/train/loop.ts';
import { numberList, parseStudyArgs, positiveInt, positiveNumber, runIfMain, studyCommand } from './lib/cli.ts';
import { PAPER_DEVICE, projectTngdDevice } from './lib/device-model.ts';
import { curveFigure, simpleFigure } from './lib/figures.ts';
import { meanInterval } from './lib/intervals.ts';
import { formatDiff, pairedDiff } from './lib/paired.ts';
import { DEBIAN_FASHION_MNIST } from './lib/paper-setup.ts';
import { gitProvenance } from './lib/provenance.ts';
import { headOf, validationSplit } from './lib/training.ts';
import { chooseLr, jsonReplacer, readRunRecords, readTunePoints, RUN_SCHEMA, TUNE_SCHEMA } from './lib/paper-budget-record.ts';
import type { EvalRow, PaperRunRecord, Provenance, TunePointRecord } from './lib/paper-budget-record.ts';

export interface PaperArm {
  key: string;
  label: string;
  optimizer: string;
  /** options without lr */
  options: Record<string, unknown>;
  /** runs through the emulated device (projected device time is charged) */
  device: boolean;
}

/** The study's arms at damping λ, analogue time t, noise κ₀, Euler step δt and CG cap. */
export function paperArms(p: { damping: number; tTau: number; kappa0: number; dtTau: number; cgMaxIter: number }): PaperArm[] {
  const tngd = { damping: p.damping, tTau: p.tTau, kappa0: p.kappa0 };
  return [
    { key: 'tngd', label: 'TNGD (exact)', optimizer: 'tngd', options: { ...tngd, integrator: 'exact' }, device: true },
    // control: the same device and η without noise, so the noise's share of any TNGD-vs-NGD gap shows
    { key: 'tngd-nf', label: 'TNGD (exact, κ₀ = 0)', optimizer: 'tngd', options: { ...tngd, kappa0: 0, integrator: 'exact' }, device: true },
    { key: 'tngd-euler', label: `TNGD (Euler δt = ${p.dtTau}τ)`, optimizer: 'tngd', options: { ...tngd, integrator: 'euler', dt: p.dtTau }, device: true },
    { key: 'adam', label: 'Adam', optimizer: 'adam', options: {}, device: false },
    { key: 'sgd', label: 'SGD + momentum 0.9', optimizer: 'sgd', options: { momentum: 0.9 }, device: false },
    { key: 'ngd-woodbury', label: 'NGD-Woodbury (exact NGD)', optimizer: 'ngd-woodbury', options: { damping: p.damping }, device: false },
    // warm start from e^{−λt}·x_prev: the digital counterpart of TNGD's carried device state
    {
      key: 'ngd-cg',
      label: `NGD-CG (warm, ≤ ${p.cgMaxIter} it.)`,
      optimizer: 'ngd-cg',
      options: { damping: p.damping, maxIter: p.cgMaxIter, tol: 1e-4, warmStart: true, warmDecay: Number(Math.exp(-p.damping * p.tTau).toPrecision(12)) },
      device: false,
    },
    { key: 'kfac', label: 'K-FAC', optimizer: 'kfac', options: { damping: p.damping }, device: false },
  ];
}

interface Options {
  quick: boolean;
  out: string;
  seeds: number;
  stage: string;
  arm?: string;
  grid?: number[];
  seedList?: number[];
  lr?: number;
  data?: string;
  dataOut: string;
  work: string;
  figures?: string;
  model: string;
  batch: number;
  epochs: number;
  tuneEpochs: number;
  tuningSeeds: number[];
  trainN: number;
  testN: number;
  valN: number;
  evalEvery: number;
  checkpointEvery: number;
  damping: number;
  tTau: number;
  kappa0: number;
  dt: number;
  cgMaxIter: number;
  chunk?: number;
  until?: number;
}

interface Ctx {
  o: Options;
  data: TrainTest;
  dataConfig: { dir: string | null; downsample: boolean };
  provenance: Provenance;
  arms: PaperArm[];
}

function findArm(ctx: Ctx, key: string | undefined): PaperArm {
  const a = ctx.arms.find((x) => x.key === key);
  if (!a) throw new Error(`--arm must be one of ${ctx.arms.map((x) => x.key).join(', ')}, got '${key ?? ''}'`);
  return a;
}

const writeJson = (path: string, v: unknown) => writeFileSync(path, JSON.stringify(v, jsonReplacer, 1) + '\n');

interface Segment {
  started: string;
  wallSeconds: number;
  cpuSeconds: number;
  /** iterations completed at the end of the segment */
  iterations: number;
}

function readSegments(folder: string): Segment[] {
  const segPath = join(folder, 'segments.json');
  return existsSync(segPath) ? (JSON.parse(readFileSync(segPath, 'utf8')) as Segment[]) : [];
}

/** Iteration of the newest checkpoint in a run folder (0: none). */
function checkpointedIteration(folder: string): number {
  const ckDir = join(folder, 'checkpoints');
  if (!existsSync(ckDir)) return 0;
  const its = readdirSync(ckDir)
    .map((n) => /^ckpt-(\d+)\.ckpt$/.exec(n))
    .filter((m): m is RegExpExecArray => m !== null)
    .map((m) => Number(m[1]));
  return its.length ? Math.max(...its) : 0;
}

/**
 * Trains one configuration into `folder` up to `untilIteration`, resuming from its checkpoint
 * when an earlier segment (this process's previous chunk, or a process that was stopped) left
 * one; process CPU and wall time are summed over the segments.
 */
async function trainResumable(cfg: Record<string, unknown>, folder: string, data: TrainTest, untilIteration: number): Promise<{ res: TrainResult; segments: Segment[] }> {
  const segments = readSegments(folder);
  // a process stopped mid-segment leaves a checkpoint but no segment entry (its CPU time is lost)
  const resumable = checkpointedIteration(folder) > 0;
  const cpu0 = process.cpuUsage();
  const t0 = performance.now();
  const started = new Date().toISOString();
  const common = { data, report: false, log: (l: string) => console.log(`  ${l}`) };
  let res: TrainResult;
  if (resumable) {
    res = await train(undefined, { ...common, resume: folder, overrides: { iters: untilIteration } });
  } else {
    mkdirSync(folder, { recursive: true });
    segments.length = 0;
    const { epochs: _e, ...rest } = cfg;
    res = await train({ ...rest, iters: untilIteration }, { ...common, out: folder, overwrite: true });
  }
  const cpu = process.cpuUsage(cpu0);
  segments.push({ started, wallSeconds: (performance.now() - t0) / 1e3, cpuSeconds: (cpu.user + cpu.system) / 1e6, iterations: res.iterations });
  writeJson(join(folder, 'segments.json'), segments);
  return { res, segments };
}

function runConfig(ctx: Ctx, arm: PaperArm, lr: number, seed: number, epochs: number): Record<string, unknown> {
  return {
    model: ctx.o.model,
    loss: 'ce',
    data: ctx.dataConfig,
    optimizer: arm.optimizer,
    optimizerOptions: { ...arm.options, lr },
    batch: ctx.o.batch,
    epochs,
    seed,
    evalEvery: ctx.o.evalEvery,
    checkpointEvery: ctx.o.checkpointEvery,
    keepCheckpoints: 1,
    // without ?seed the emulator takes the run seed
    ...(arm.device ? { device: 'emu:?profile=ideal' } : {}),
  };
}

const folderKey = (cfg: unknown, n: number[]) => createHash('sha256').update(JSON.stringify({ cfg, n })).digest('hex').slice(0, 10);

function projectedDevicePerIter(ctx: Ctx, arm: PaperArm, numParams: number, outputDim: number): number {
  if (!arm.device) return 0;
  return projectTngdDevice(numParams, ctx.o.batch, outputDim, { ...PAPER_DEVICE, analogTimeTau: ctx.o.tTau }).deviceSeconds;
}

/** Evaluation rows: test metrics where train() evaluated, the mini-batch train metrics averaged since the previous row. */
function evalRows(records: IterationMetrics[], devicePerIter: number): EvalRow[] {
  const rows: EvalRow[] = [];
  let host = 0;
  let l = 0;
  let a = 0;
  let k = 0;
  for (const r of records) {
    host += r.hostSeconds ?? 0;
    l += r.trainLoss;
    a += r.trainAccuracy ?? NaN;
    k++;
    if (typeof r.testLoss === 'number') {
      rows.push({
        iter: r.iter,
        trainLoss: l / k,
        trainAccuracy: a / k,
        testLoss: r.testLoss,
        testAccuracy: r.testAccuracy ?? NaN,
        hostSeconds: host,
        computeSeconds: host + devicePerIter * r.iter,
      });
      l = a = k = 0;
    }
  }
  return rows;
}

async function stageRun(ctx: Ctx): Promise<void> {
  const arm = findArm(ctx, ctx.o.arm);
  const seeds = ctx.o.seedList ?? Array.from({ length: ctx.o.seeds }, (_, i) => i + 1);
  let lr = ctx.o.lr;
  if (lr === undefined) {
    const choice = chooseLr(readTunePoints(ctx.o.dataOut), arm.key);
    if (!choice) throw new Error(`no tuning points for '${arm.key}' under ${ctx.o.dataOut}/tuning: run --stage tune first or pass --lr`);
    lr = choice.best;
    console.log(`[paper-budget] ${arm.key}: tuned lr ${lr}${choice.atEdge ? ' (at the edge of its grid)' : ''}`);
  }
  const runsDir = join(ctx.o.dataOut, 'runs');
  mkdirSync(runsDir, { recursive: true });
  const model = createModel(ctx.o.model);
  const total = ctx.o.epochs * Math.floor(ctx.data.train.n / ctx.o.batch);
  const chunk = ctx.o.chunk ?? total;
  // --until: stop every seed at this iteration (a stated reduced budget; records stay incomplete)
  const stopAt = Math.min(total, ctx.o.until ?? total);
  // Seeds advance round-robin by `chunk` iterations, each chunk ending in a checkpoint and a
  // record (complete: false until the last), so a study stopped early leaves every seed at about
  // the same iteration.
  let pending = [...seeds];
  const locks = join(ctx.o.work, 'locks');
  mkdirSync(locks, { recursive: true });
  while (pending.length) {
    // the least advanced seed no other process is training (several processes may share the seeds)
    const order = pending
      .map((seed) => ({ seed, done: checkpointedIteration(join(ctx.o.work, `${arm.key}-${folderKey(runConfig(ctx, arm, lr, seed, ctx.o.epochs), [ctx.data.train.n, ctx.data.test.n])}-s${seed}`)) }))
      .sort((a, b) => a.done - b.done || a.seed - b.seed);
    const claimed = order.map((x) => x.seed).find((seed) => claimLock(join(locks, `${arm.key}-e${ctx.o.epochs}-s${seed}.lock`)));
    if (claimed === undefined) {
      console.log(`[paper-budget] ${arm.key}: the remaining seeds (${pending.join(', ')}) are being trained by another process`);
      break;
    }
    const release = () => rmSync(join(locks, `${arm.key}-e${ctx.o.epochs}-s${claimed}.lock`), { force: true });
    try {
      const seed = claimed;
      const cfg = runConfig(ctx, arm, lr, seed, ctx.o.epochs);
      const key = folderKey(cfg, [ctx.data.train.n, ctx.data.test.n]);
      const file = join(runsDir, `${arm.key}-e${ctx.o.epochs}-s${seed}.json`);
      if (existsSync(file)) {
        const prev = JSON.parse(readFileSync(file, 'utf8')) as { configKey?: string; complete?: boolean };
        if (prev.configKey !== key) throw new Error(`${file} holds a run of another configuration; move it away first`);
        if (prev.complete) {
          console.log(`[paper-budget] ${arm.key} seed ${seed}: finished earlier (${file})`);
          pending = pending.filter((x) => x !== seed);
          continue;
        }
      }
      const folder = join(ctx.o.work, `${arm.key}-${key}-s${seed}`);
      const done = checkpointedIteration(folder);
      if (done >= stopAt) {
        if (!existsSync(file)) throw new Error(`${folder} reached iteration ${done} but ${file} is missing; remove the folder to retrain`);
        pending = pending.filter((x) => x !== seed);
        continue;
      }
      const until = Math.min(stopAt, done + chunk);
      let stoppedBy: string | undefined;
      let trained: Awaited<ReturnType<typeof trainResumable>>;
      try {
        trained = await trainResumable(cfg, folder, ctx.data, until);
      } catch (e) {
        // a device refusal (e.g. the Euler step check as λmax(A) grows) ends this seed: its record
        // is rebuilt from the last checkpoint and says why it stopped
        const at = checkpointedIteration(folder);
        if (!(e instanceof TngdDeviceError) || at === 0) throw e;
        stoppedBy = `${e.message} (run ends at its last checkpoint, iteration ${at})`;
        console.log(`[paper-budget] ${arm.key} seed ${seed}: stopped by the device: ${stoppedBy}`);
        trained = await trainResumable(cfg, folder, ctx.data, at);
      }
      const { res, segments } = trained;
      if (res.interrupted) throw new Error(`${arm.key} seed ${seed} was interrupted; rerun the same command to resume`);
      const complete = res.diverged || res.iterations >= total;
      const ok = !res.diverged;
      const nan = { loss: NaN, accuracy: NaN };
      const fin = (ds: TrainTest['train']) => (ok ? evaluate(model, res.params, ds, 'ce') : nan);
      const dev = projectedDevicePerIter(ctx, arm, model.numParams, model.outputDim);
      const host = res.records.reduce((s, r) => s + (r.hostSeconds ?? 0), 0);
      const finalTrain = fin(ctx.data.train);
      const finalTest = fin(ctx.data.test);
      const rec: PaperRunRecord & { configKey: string } = {
        schema: RUN_SCHEMA,
        arm: arm.key,
        label: arm.label,
        optimizer: arm.optimizer,
        options: { ...arm.options, lr },
        lr,
        seed,
        epochs: ctx.o.epochs,
        targetIterations: total,
        iterations: res.iterations,
        complete,
        diverged: res.diverged,
        ...(stoppedBy ? { stoppedBy } : {}),
        model: model.name,
        numParams: model.numParams,
        batch: ctx.o.batch,
        trainSamples: ctx.data.train.n,
        testSamples: ctx.data.test.n,
        evals: evalRows(res.records, dev),
        finalTrain: { loss: finalTrain.loss, accuracy: finalTrain.accuracy },
        finalTest: { loss: finalTest.loss, accuracy: finalTest.accuracy },
        hostSecondsPerIter: host / Math.max(1, res.records.length),
        projectedDeviceSecondsPerIter: dev,
        wallSeconds: segments.reduce((s, g) => s + g.wallSeconds, 0),
        cpuSeconds: segments.reduce((s, g) => s + g.cpuSeconds, 0),
        segments: segments.length,
        provenance: ctx.provenance,
        finishedAt: new Date().toISOString(),
        configKey: key,
      };
      writeJson(file, rec);
      console.log(
        `[paper-budget] ${arm.key} seed ${seed}: iteration ${res.iterations}/${total}, test acc ${(finalTest.accuracy * 100).toFixed(2)} %, test loss ${finalTest.loss.toFixed(4)}, ` +
          `${rec.cpuSeconds.toFixed(0)} CPU s, ${rec.wallSeconds.toFixed(0)} wall s${res.diverged ? ' (diverged)' : ''}`,
      );
      if (complete || stoppedBy || res.iterations >= stopAt) pending = pending.filter((x) => x !== seed);
    } finally {
      release();
    }
  }
}

/** Creates `path` holding this pid unless a live process holds it; a lock of a dead process is taken over. */
function claimLock(path: string): boolean {
  for (let attempt = 0; attempt < 2; attempt++) {
    try {
      writeFileSync(path, String(process.pid), { flag: 'wx' });
      return true;
    } catch {
      const pid = Number(readFileSync(path, 'utf8'));
      try {
        process.kill(pid, 0);
        return false;
      } catch {
        rmSync(path, { force: true });
      }
    }
  }
  return false;
}

async function stageTune(ctx: Ctx): Promise<void> {
  const arm = findArm(ctx, ctx.o.arm);
  if (!ctx.o.grid) throw new Error('--stage tune needs --grid');
  const split = validationSplit(ctx.data, ctx.o.valN / ctx.data.train.n);
  const dir = join(ctx.o.dataOut, 'tuning');
  mkdirSync(dir, { recursive: true });
  const model = createModel(ctx.o.model);
  for (const lr0 of ctx.o.grid)
    for (const seed of ctx.o.tuningSeeds) {
      const lr = Number(lr0.toPrecision(12));
      const file = join(dir, `${arm.key}-lr${lr}-s${seed}.json`);
      if (existsSync(file)) {
        console.log(`[tune ${arm.key}] lr ${lr} seed ${seed}: done earlier`);
        continue;
      }
      const cfg = { ...runConfig(ctx, arm, lr, seed, ctx.o.tuneEpochs), evalEvery: 100_000 };
      const key = folderKey(cfg, [split.train.n, split.test.n]);
      const iters = ctx.o.tuneEpochs * Math.floor(split.train.n / ctx.o.batch);
      const { res, segments } = await trainResumable(cfg, join(ctx.o.work, `tune-${arm.key}-${key}-s${seed}`), split, iters);
      const v = res.diverged ? { loss: Infinity, accuracy: NaN } : evaluate(model, res.params, split.test, 'ce');
      const rec: TunePointRecord = {
        schema: TUNE_SCHEMA,
        arm: arm.key,
        lr,
        seed,
        iterations: res.iterations,
        trainSamples: split.train.n,
        validationSamples: split.test.n,
        diverged: res.diverged,
        validationLoss: Number.isFinite(v.loss) ? v.loss : Infinity,
        validationAccuracy: v.accuracy,
        wallSeconds: segments.reduce((s, g) => s + g.wallSeconds, 0),
        cpuSeconds: segments.reduce((s, g) => s + g.cpuSeconds, 0),
        provenance: ctx.provenance,
      };
      writeJson(file, rec);
      console.log(`[tune ${arm.key}] lr ${lr} seed ${seed}: validation loss ${rec.validationLoss.toFixed(4)}, acc ${(rec.validationAccuracy * 100).toFixed(2)} %, ${rec.cpuSeconds.toFixed(0)} CPU s`);
    }
}

const f3 = (x: number, d = 3) => (Number.isFinite(x) ? Number(x.toPrecision(d)).toString() : String(x));
const ci = (xs: number[], scale = 1, d = 3) => {
  const i = meanInterval(xs.map((x) => x * scale));
  return `${f3(i.mean, d)} ± ${f3((i.hi - i.lo) / 2, 2)}`;
};

const atIter = (r: PaperRunRecord, iter: number): EvalRow | undefined => r.evals.find((e) => e.iter === iter);

/** Tables, paired differences against TNGD and figures, from the committed records only. */
export function report(dataDir: string, figuresDir: string, prefix = 'paper-budget'): { summary: string; figures: string[] } {
  const all = readRunRecords(dataDir);
  const runs = all.filter((r) => !r.diverged);
  const diverged = all.filter((r) => r.diverged);
  const tune = readTunePoints(dataDir);
  const arms = [...new Set(runs.map((r) => r.arm))];
  const byArm = (arm: string) => runs.filter((r) => r.arm === arm);
  const lines: string[] = [];
  lines.push('### Complete runs (final parameters on the whole train and test sets)', '');
  lines.push('| arm | η | iterations | seeds | train loss | train acc % | test loss | test acc % | host ms/iter | compute s/run | CPU s/run | wall s/run |');
  lines.push('|---|---|---|---|---|---|---|---|---|---|---|---|');
  for (const arm of arms) {
    const g = byArm(arm).filter((r) => r.complete);
    if (!g.length) continue;
    const r0 = g[0];
    lines.push(
      `| ${r0.label} | ${f3(r0.lr)} | ${r0.iterations} (${r0.epochs} ep.) | ${g.map((r) => r.seed).join(',')} | ${ci(g.map((r) => r.finalTrain.loss))} | ${ci(g.map((r) => r.finalTrain.accuracy), 100)} | ` +
        `${ci(g.map((r) => r.finalTest.loss))} | ${ci(g.map((r) => r.finalTest.accuracy), 100)} | ${ci(g.map((r) => r.hostSecondsPerIter), 1e3)} | ` +
        `${ci(g.map((r) => r.evals[r.evals.length - 1].computeSeconds))} | ${ci(g.map((r) => r.cpuSeconds))} | ${ci(g.map((r) => r.wallSeconds))} |`,
    );
  }
  const partial = runs.filter((r) => !r.complete);
  lines.push('', partial.length ? `Stopped before the target: ${partial.map((r) => `${r.arm} seed ${r.seed} at ${r.iterations}/${r.targetIterations}${r.stoppedBy ? ' (stopped by the device)' : ''}`).join(', ')}.` : 'Every run reached its target.');
  // every arm against TNGD (exact) at the last iteration all seeds of both reached, paired by seed
  const ref = byArm('tngd');
  const reached = (rs: PaperRunRecord[]) => Math.min(...rs.map((r) => r.evals[r.evals.length - 1].iter));
  const hRef = ref.length ? reached(ref) : Infinity;
  lines.push('', '### Every arm at a common iteration, paired by seed against TNGD (exact)', '');
  lines.push('| arm | at iteration | seeds | test loss | test acc % | Δ test loss vs TNGD [95 % CI] | verdict | Δ test acc pp vs TNGD [95 % CI] | verdict |');
  lines.push('|---|---|---|---|---|---|---|---|---|');
  for (const arm of arms) {
    const g = byArm(arm);
    const h = Math.min(hRef, reached(g));
    const rows = g.map((r) => atIter(r, h)).filter((e): e is EvalRow => e !== undefined);
    const m = (rs: PaperRunRecord[], pick: (e: EvalRow) => number) => new Map(rs.filter((r) => atIter(r, h)).map((r) => [r.seed, pick(atIter(r, h)!)] as [number, number]));
    let dl = '—';
    let vl = '';
    let da = '—';
    let va = '';
    if (arm !== 'tngd' && ref.length) {
      const pl = pairedDiff('testLoss', { label: arm, bySeed: m(g, (e) => e.testLoss) }, { label: 'tngd', bySeed: m(ref, (e) => e.testLoss) });
      const pa = pairedDiff('testAccuracy', { label: arm, bySeed: m(g, (e) => e.testAccuracy * 100) }, { label: 'tngd', bySeed: m(ref, (e) => e.testAccuracy * 100) });
      [dl, vl, da, va] = [formatDiff(pl, 4), pl.verdict, formatDiff(pa, 2), pa.verdict];
    }
    lines.push(`| ${g[0].label} | ${h} | ${rows.length} | ${ci(rows.map((e) => e.testLoss))} | ${ci(rows.map((e) => e.testAccuracy), 100)} | ${dl} | ${vl} | ${da} | ${va} |`);
  }
  const tuneLines: string[] = ['| arm | tuning iterations | seeds | η: validation loss | chosen η |', '|---|---|---|---|---|'];
  for (const arm of [...new Set(tune.map((t) => t.arm))]) {
    const c = chooseLr(tune, arm)!;
    tuneLines.push(
      `| ${arm} | ${c.grid[0].iterations} | ${c.grid[0].seeds.join(',')} | ${c.grid.map((g) => `${f3(g.lr)}: ${f3(g.validationLoss, 4)}`).join('; ')} | ${f3(c.best)}${c.atEdge ? ' (grid edge)' : ''} |`,
    );
  }
  const recs = (rs: PaperRunRecord[], x: 'iter' | 'compute'): RunRecord[] =>
    rs.map((r) => ({
      optimizer: r.label,
      seed: r.seed,
      metrics: r.evals.map(
        (e) =>
          ({
            iter: e.iter,
            wallSeconds: x === 'iter' ? e.hostSeconds : e.computeSeconds,
            trainLoss: e.trainLoss,
            trainAccuracy: e.trainAccuracy,
            testLoss: e.testLoss,
            testAccuracy: e.testAccuracy,
          }) as IterationMetrics,
      ),
    }));
  const tl = 'compute seconds (host; TNGD: + projected device)';
  const figs = [
    curveFigure(`${prefix}-train-loss-vs-iter.svg`, 'Train loss (mini-batch mean between evaluations)', recs(runs, 'iter'), 'iter', 'trainLoss'),
    curveFigure(`${prefix}-train-acc-vs-iter.svg`, 'Train accuracy (mini-batch mean between evaluations)', recs(runs, 'iter'), 'iter', 'trainAccuracy'),
    curveFigure(`${prefix}-test-loss-vs-iter.svg`, 'Test loss', recs(runs, 'iter'), 'iter', 'testLoss'),
    curveFigure(`${prefix}-test-acc-vs-iter.svg`, 'Test accuracy', recs(runs, 'iter'), 'iter', 'testAccuracy'),
    curveFigure(`${prefix}-train-loss-vs-time.svg`, 'Train loss against compute time', recs(runs, 'compute'), 'wallSeconds', 'trainLoss', tl),
    curveFigure(`${prefix}-test-loss-vs-time.svg`, 'Test loss against compute time', recs(runs, 'compute'), 'wallSeconds', 'testLoss', tl),
    curveFigure(`${prefix}-test-acc-vs-time.svg`, 'Test accuracy against compute time', recs(runs, 'compute'), 'wallSeconds', 'testAccuracy', tl),
  ];
  if (tune.length)
    figs.push({
      file: `${prefix}-lr-tuning.svg`,
      svg: simpleFigure(
        'Learning-rate tuning: final validation loss (images held out of the training set)',
        'log10 learning rate',
        'validation loss',
        [...new Set(tune.map((t) => t.arm))].map((arm) => ({ name: arm, points: chooseLr(tune, arm)!.grid.map((g) => ({ x: Math.log10(g.lr), y: Math.min(g.validationLoss, 5) })) })),
        true,
      ),
    });
  mkdirSync(figuresDir, { recursive: true });
  for (const f of figs) writeFileSync(join(figuresDir, f.file), f.svg.endsWith('\n') ? f.svg : f.svg + '\n');
  const cmds = [...new Set(all.map((r) => `${r.provenance.command} (commit ${r.provenance.commit.slice(0, 10)}${r.provenance.dirty ? ', uncommitted changes' : ''})`))];
  const r0 = runs[0];
  const summary = [
    `# Paper-budget study: ${r0?.model ?? '?'} (N = ${r0?.numParams ?? '?'}), b = ${r0?.batch ?? '?'}, ${r0?.trainSamples ?? '?'} train / ${r0?.testSamples ?? '?'} test images`,
    '',
    'Mean ± half-width of the 95 % Student-t interval over seeds; paired differences are arm − TNGD (exact) per seed.',
    '',
    ...lines,
    '',
    '### Learning-rate tuning (final validation loss, mean over tuning seeds)',
    '',
    ...tuneLines,
    '',
    diverged.length ? `diverged runs: ${diverged.map((r) => `${r.arm} seed ${r.seed}`).join(', ')}` : 'no run diverged',
    '',
    'produced by:',
    ...cmds.map((c) => `- ${c}`),
  ].join('\n');
  writeFileSync(join(dataDir, 'summary.md'), summary + '\n');
  return { summary, figures: figs.map((f) => f.file) };
}

export async function main(argv: string[]): Promise<{ summary?: string }> {
  const cmd = studyCommand('paper-budget', "The paper's MNIST setting at its budget on Fashion-MNIST (staged: tune, run, report)", 5)
    .requiredOption('--stage <stage>', 'tune | run | report')
    .option('--arm <key>', 'tngd | tngd-nf | tngd-euler | adam | sgd | ngd-woodbury | ngd-cg | kfac')
    .option('--grid <list>', 'learning rates to tune (--stage tune)', numberList('--grid'))
    .option('--seed-list <list>', 'seeds to run (--stage run; default 1..--seeds)', numberList('--seed-list', true))
    .option('--lr <η>', 'learning rate (--stage run; default: the tuned one)', positiveNumber('--lr'))
    .option('--data <dir>', `IDX folder (default ${DEBIAN_FASHION_MNIST}; --quick: the shipped subset)`)
    .option('--data-out <dir>', 'where per-seed and tuning records go (committed)', 'docs/data/paper-budget')
    .option('--work <dir>', 'run folders with checkpoints (not committed)', 'results/paper-budget')
    .option('--figures <dir>', 'where --stage report writes the SVGs (default docs/figures)')
    .option('--model <spec>', 'network', 'mlp:196-32-10')
    .option('--batch <b>', 'batch size', positiveInt('--batch', 4096), 64)
    .option('--epochs <n>', 'epochs per reported run', positiveInt('--epochs'), 10)
    .option('--tune-epochs <n>', 'epochs per tuning run (on the train part of the split)', positiveInt('--tune-epochs'), 1)
    .option('--tuning-seeds <list>', 'tuning seeds (disjoint from the reported 1..n)', numberList('--tuning-seeds', true), [1000])
    .option('--train-n <n>', 'training images (the first n)', positiveInt('--train-n', 60000), 10000)
    .option('--test-n <n>', 'test images (the first n)', positiveInt('--test-n', 10000), 10000)
    .option('--val-n <n>', 'validation images held out of the training images for tuning (the last n)', positiveInt('--val-n', 60000), 2000)
    .option('--eval-every <k>', 'test evaluation period, iterations', positiveInt('--eval-every'), 52)
    .option('--checkpoint-every <k>', 'checkpoint period, iterations (resume granularity)', positiveInt('--checkpoint-every'), 52)
    .option('--damping <λ>', 'damping λ (paper: 0.01)', positiveNumber('--damping'), 0.01)
    .option('--t-tau <t>', 'TNGD analogue time per iteration, τ (paper: 50)', positiveNumber('--t-tau'), 50)
    .option('--kappa0 <κ>', 'TNGD device noise κ₀', positiveNumber('--kappa0'), 1e-3)
    .option('--dt <δt>', 'Euler step of the tngd-euler arm, τ (paper: 0.1)', positiveNumber('--dt'), 0.1)
    .option('--chunk <n>', 'advance the seeds round-robin by this many iterations (default: one whole run per seed)', positiveInt('--chunk'))
    .option('--until <n>', 'stop the seeds at this iteration (a reduced budget; the records say complete: false)', positiveInt('--until'))
    .option('--cg-max-iter <n>', 'NGD-CG iteration cap', positiveInt('--cg-max-iter', 10000), 10);
  const o = parseStudyArgs<Omit<Options, 'quick' | 'out' | 'seeds'>>(cmd, argv);
  const opts: Options = { ...o, dataOut: resolve(o.dataOut), work: resolve(o.work) };
  const figuresDir = resolve(o.figures ?? 'docs/figures');
  if (opts.stage === 'report') {
    const r = report(opts.dataOut, figuresDir);
    console.log(r.summary);
    return { summary: r.summary };
  }
  if (opts.stage !== 'tune' && opts.stage !== 'run') throw new Error(`--stage must be tune, run or report, got '${opts.stage}'`);
  const dataDir = opts.data ?? (opts.quick ? null : DEBIAN_FASHION_MNIST);
  if (dataDir !== null && !existsSync(dataDir)) throw new Error(`data folder ${dataDir} not found (pass --data, or --quick for the shipped subset)`);
  const all = dataDir === null ? loadDataset() : loadDataset({ dir: dataDir, downsample: true });
  const data: TrainTest = { train: headOf(all.train, opts.trainN), test: headOf(all.test, opts.testN), dir: all.dir };
  const prov = gitProvenance();
  const ctx: Ctx = {
    o: opts,
    data,
    dataConfig: { dir: dataDir, downsample: dataDir !== null },
    provenance: { command: `npm run example:paper-budget -- ${argv.join(' ')}`, commit: prov.commit, dirty: prov.dirty },
    arms: paperArms({ damping: opts.damping, tTau: opts.tTau, kappa0: opts.kappa0, dtTau: opts.dt, cgMaxIter: opts.cgMaxIter }),
  };
  if (opts.stage === 'tune') await stageTune(ctx);
  else await stageRun(ctx);
  return {};
}

runIfMain(import.meta.url, main);
