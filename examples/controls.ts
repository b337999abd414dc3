// Study 5 — controls that isolate what the device adds (issue 14), every arm's η tuned on a
// validation split, ≥ 10 seeds, verdicts from paired (by seed) 95 % confidence intervals:
//   carry   per batch size b: TNGD with the state carried (κ₀ = 0, the reference; and κ₀ > 0),
//           TNGD reset to 0, NGD-CG warm-started from e^{−λt}·x_prev (the memory control),
//           NGD-CG cold, exact NGD (Woodbury);
//   delay   Fig. 4b on the paper's grid t_d ∈ {0, 0.2, 1}τ;
//   adam    TNGD-Adam in the paper's regime: λ = 1, t ∈ {0.1, 0.2, 0.4}τ, Euler δt = 0.02τ,
//           β₁ = β₂ = 0, against Adam;
//   sweep-t     Fig. 4a (t ∈ {5, 10, 20, 50}τ against exact NGD) with η tuned per arm;
//   sweep-kappa Fig. 7 (κ₀ ∈ {1e-3, 1e-2, 1e-1} at t = τ against κ₀ = 0) with η tuned per arm;
//   curvature   study 3's GGN against the empirical Fisher (NGD and TNGD) with η tuned per arm;
// and κ₀ expressed as signal-to-noise against the device's ADC full scale.
// Per-seed results go to per-seed.csv / per-seed.json with the command and the commit.
import { appendFileSync, existsSync } from 'node:fs';
import { join } from 'node:path';
import { PROFILES } from '../src/emulator/physics/index.ts';
import { formatNumber, formatTable } from '../src/host-loop/run/index.ts';
import { numberList, parseStudyArgs, positiveInt, positiveNumber, runIfMain, seedList, studyCommand } from './lib/cli.ts';
import { DeviceError } from '../src/driver/errors.ts';
import { TngdDeviceError } from '../src/host-loop/optimizers/tngd.ts';
import type { TrainTest } from '../src/host-loop/data/load.ts';
import { armFigures, tailMean } from './lib/arms.ts';
import type { Arm, ArmsResult } from './lib/arms.ts';
import { simpleFigure } from './lib/figures.ts';
import { StudyOutput } from './lib/output.ts';
import { formatDiff, pairedDiff, tQuantile975 } from './lib/paired.ts';
import type { PairedDiff } from './lib/paired.ts';
import { resolvePaperSetup, withPaperTrainingOptions } from './lib/paper-setup.ts';
import type { PaperTrainingOptions } from './lib/paper-setup.ts';
import { gitProvenance } from './lib/provenance.ts';
import { tngdAvailable, tngdConfig } from './lib/tngd-options.ts';
import type { TngdSettings } from './lib/tngd-options.ts';
import { runOne, summarizeGroups, validationSplit } from './lib/training.ts';
import type { CommonRunSettings, FinishedRun, RunSpec } from './lib/training.ts';
import type { GridPoint, TuningResult } from './lib/tuning.ts';

const PARTS = ['carry', 'delay', 'adam', 'sweep-t', 'sweep-kappa', 'curvature'] as const;
type Part = (typeof PARTS)[number];

interface ControlArm {
  label: string;
  optimizer: string;
  /** options without lr (tuned) */
  options: Record<string, unknown>;
  grid: number[];
}

interface PartResult {
  part: Part;
  key: string;
  title: string;
  batch: number;
  reference: string;
  tuning: TuningResult[];
  arms: ArmsResult;
  paired: PairedDiff[];
  /** runs the device stopped (e.g. the emulator's Euler step check), with the reason */
  stopped: { label: string; seed: number; lr: number; message: string }[];
}

interface Options extends PaperTrainingOptions {
  bList?: number[];
  tTau: number;
  kappa0: number;
  cgIters: number;
  lrGrid?: number[];
  adamLrGrid?: number[];
  tuneIters?: number;
  tuningSeeds: number;
  parts: string;
  delayT: number;
  shippedData: boolean;
  noiseArm: boolean;
  tList?: number[];
  kappaList?: number[];
}

function parseParts(s: string): Part[] {
  const parts = s.split(',').map((p) => p.trim());
  const bad = parts.filter((p) => !(PARTS as readonly string[]).includes(p));
  if (bad.length || parts.length === 0) throw new Error(`--parts: unknown part(s) ${bad.join(', ')}; choose from ${PARTS.join(', ')}`);
  return parts as Part[];
}

const tngdArm = (label: string, s: Omit<TngdSettings, 'lr'>, grid: number[]): ControlArm => {
  const c = tngdConfig({ ...s, lr: 1 });
  const { lr: _lr, ...options } = c.options;
  return { label, optimizer: c.optimizer, options, grid };
};

type StoppedRun = FinishedRun & { stopped?: string };

/**
 * runOne, except that a run the device stops (TngdDeviceError: an unstable Euler step, a refused
 * system) counts as diverged with its reason kept, instead of ending the study.
 */
async function runSafely(spec: RunSpec, s: CommonRunSettings, data: TrainTest, runsDir: string, finalTrainEval?: number): Promise<StoppedRun> {
  try {
    return await runOne(spec, s, data, runsDir, finalTrainEval);
  } catch (e) {
    if (!(e instanceof TngdDeviceError || e instanceof DeviceError)) throw e;
    console.log(`[${spec.label}] seed ${spec.seed}: stopped by the device: ${e.message.split('\n')[0]}`);
    const nan = { loss: NaN, accuracy: NaN, n: 0 };
    return { spec, diverged: true, iterations: 0, records: [], finalTrain: nan, finalTest: nan, hostSecondsPerIter: NaN, wallSeconds: NaN, computeSeconds: NaN, deviceTauPerIter: NaN, stopped: e.message.split('\n')[0] };
  }
}

/** lib/tuning's protocol (validation split, tuning seeds, final validation loss, +∞ if diverged), with stopped runs scored as diverged. */
async function tuneArm(family: string, a: ControlArm, s: CommonRunSettings, data: TrainTest, runsDir: string, tuningSeeds: number[], stopped: PartResult['stopped']): Promise<TuningResult> {
  const split = validationSplit(data, 0.1);
  const grid: GridPoint[] = [];
  for (const lr0 of a.grid) {
    const lr = Number(lr0.toPrecision(12));
    const runs = [];
    for (const seed of tuningSeeds) {
      const r = await runSafely({ label: `tune-${family}-lr${lr}`, optimizer: a.optimizer, optimizerOptions: { ...a.options, lr }, seed }, s, split, runsDir, 0);
      if (r.stopped) stopped.push({ label: `tuning ${a.label}`, seed, lr, message: r.stopped });
      runs.push(r);
    }
    const losses = runs.map((r) => (r.diverged || !Number.isFinite(r.finalTest.loss) ? Infinity : r.finalTest.loss));
    const point = {
      lr,
      validationLoss: losses.reduce((x, y) => x + y, 0) / losses.length,
      validationAccuracy: runs.reduce((x, r) => x + r.finalTest.accuracy, 0) / runs.length,
      perSeedLoss: losses,
      diverged: runs.some((r) => r.diverged),
    };
    grid.push(point);
    console.log(`[tune ${family}] lr ${lr}: validation loss ${point.validationLoss.toFixed(4)}${point.diverged ? ' (diverged or stopped)' : ''}`);
  }
  let bi = 0;
  for (let i = 1; i < grid.length; i++) if (grid[i].validationLoss < grid[bi].validationLoss) bi = i;
  return { family, optimizer: a.optimizer, grid, best: grid[bi].lr, atEdge: grid.length > 1 && (bi === 0 || bi === grid.length - 1) };
}

function perSeedRow(part: Part, batch: number, r: FinishedRun): Record<string, string | number | boolean> {
  return {
    part,
    batch,
    arm: r.spec.label,
    optimizer: r.spec.optimizer,
    lr: Number(r.spec.optimizerOptions.lr),
    seed: r.spec.seed,
    diverged: r.diverged,
    stoppedByDevice: (r as StoppedRun).stopped !== undefined,
    testLoss: r.finalTest.loss,
    testAccuracy: r.finalTest.accuracy,
    trainLoss: r.finalTrain.loss,
    trainAccuracy: r.finalTrain.accuracy,
    wallSeconds: r.wallSeconds,
  };
}

export function perSeedRows(parts: PartResult[]): Record<string, string | number | boolean>[] {
  return parts.flatMap((p) => p.arms.runs.map((r: FinishedRun) => perSeedRow(p.part, p.batch, r)));
}

/** One line per finished reported run, written as it finishes (the study's incremental record). */
function appendProgress(dir: string, part: Part, batch: number, r: FinishedRun): void {
  const row = perSeedRow(part, batch, r);
  const path = join(dir, 'progress.csv');
  const csv = toCsv([row]).split('\n');
  appendFileSync(path, (existsSync(path) ? '' : csv[0] + '\n') + csv[1] + '\n');
}

export function toCsv(rows: Record<string, string | number | boolean>[]): string {
  if (rows.length === 0) return '';
  const cols = Object.keys(rows[0]);
  const cell = (v: string | number | boolean) => (typeof v === 'number' ? (Number.isFinite(v) ? String(v) : 'NaN') : String(v).includes(',') ? `"${String(v)}"` : String(v));
  return [cols.join(','), ...rows.map((r) => cols.map((c) => cell(r[c])).join(','))].join('\n');
}

/** κ₀ against the ADC full scale: noise sd of the weakest mode (eigenvalue λ) after t and at equilibrium. */
export function snrRows(kappas: number[], lambda: number, tTau: number, fullScale: number): { kappa0: number; sdAtT: number; sdStationary: number; snrAtT: number; snrDbAtT: number; snrStationary: number; snrDbStationary: number }[] {
  return kappas.map((k) => {
    const sdAtT = Math.sqrt((k * (1 - Math.exp(-2 * lambda * tTau))) / lambda);
    const sdStationary = Math.sqrt(k / lambda);
    return { kappa0: k, sdAtT, sdStationary, snrAtT: fullScale / sdAtT, snrDbAtT: 20 * Math.log10(fullScale / sdAtT), snrStationary: fullScale / sdStationary, snrDbStationary: 20 * Math.log10(fullScale / sdStationary) };
  });
}

export async function main(argv: string[]): Promise<{ out: StudyOutput; parts: PartResult[] }> {
  const cmd = withPaperTrainingOptions(
    studyCommand('controls', 'controls for the TNGD effects: carry vs reset vs warm-started CG, noise, batch size, delay grid, TNGD-Adam regime (η tuned per arm, paired CIs)', 10),
    'not used: η is tuned per arm',
  )
    .option('--b-list <list>', 'batch sizes of the carry controls (default 8,32,64; --quick: 8)', numberList('--b-list', true))
    .option('--t-tau <t>', 'analogue time t of the carry controls, τ', positiveNumber('--t-tau'), 10)
    .option('--kappa0 <κ>', 'κ₀ of the noisy arms', positiveNumber('--kappa0'), 1e-3)
    .option('--cg-iters <n>', 'CG iterations of the CG controls', positiveInt('--cg-iters', 10000), 5)
    .option('--lr-grid <list>', 'η grid of the TNGD / NGD / CG arms (default 0.01,0.03,0.1)', numberList('--lr-grid'))
    .option('--adam-lr-grid <list>', 'η grid of Adam and TNGD-Adam (default 1e-3,3e-3,1e-2,3e-2)', numberList('--adam-lr-grid'))
    .option('--tune-iters <n>', 'iterations per tuning run (default: --iters)', positiveInt('--tune-iters'))
    .option('--tuning-seeds <n>', 'tuning seeds 1000, 1001, … (disjoint from the reported seeds)', positiveInt('--tuning-seeds', 10), 1)
    .option('--parts <list>', `which controls (${PARTS.join(',')})`, PARTS.join(','))
    .option('--delay-t <t>', 'analogue time t of the delay grid, τ', positiveNumber('--delay-t'), 5)
    .option('--t-list <list>', 'analogue times t of sweep-t, τ (default 5,10,20,50; --quick: 5,50)', numberList('--t-list'))
    .option('--kappa-list <list>', 'noise strengths κ₀ of sweep-kappa (default 1e-3,1e-2,1e-1; --quick: 1e-1)', numberList('--kappa-list'))
    .option('--no-noise-arm', 'carry controls without the κ₀ > 0 arm (one TNGD arm fewer at large b)')
    .option('--shipped-data', 'train on the shipped 6k/1k 14×14 subset (full run lengths) instead of --data', false);
  const o = parseStudyArgs<Options>(cmd, argv);
  const q = o.quick;
  const parts = parseParts(o.parts);
  // the shipped subset with the full run lengths (machines without the full data set)
  const setup = o.shippedData && !q ? { ...resolvePaperSetup({ ...o, quick: true }), iters: o.iters ?? 100, evalEvery: o.evalEvery ?? 20 } : resolvePaperSetup(o);
  const { dataConfig, dataLabel, data, model, iters, evalEvery } = setup;
  const bList = o.bList ?? (q ? [8] : [8, 32, 64]);
  const lrGrid = o.lrGrid ?? (q ? [0.01, 0.03] : [0.01, 0.03, 0.1]);
  const adamGrid = o.adamLrGrid ?? (q ? [1e-3, 1e-2] : [1e-3, 3e-3, 1e-2, 3e-2]);
  const tuneIters = o.tuneIters ?? (q ? 3 : iters);
  const seeds = seedList(q ? Math.min(2, o.seeds) : o.seeds);
  const tuningSeeds = Array.from({ length: o.tuningSeeds }, (_, i) => 1000 + i);
  const lambda = o.damping;
  const provenance = gitProvenance();
  const out = new StudyOutput('controls', o.out, argv, { ...o, bList, lrGrid, adamGrid, iters, tuneIters, evalEvery, seeds, tuningSeeds, parts, provenance });
  const runsDir = join(out.dir, 'runs');
  const summary: string[] = [
    `# Controls: ${model.name} (N = ${model.numParams}), ${dataLabel}, ${iters} iterations, seeds ${seeds[0]}–${seeds[seeds.length - 1]}`,
    '',
    `Tuning: every arm's η on its own grid, ${tuneIters}-iteration runs with tuning seed(s) ${tuningSeeds.join(', ')} on the training set's last 10 % held out, score = final validation loss; the reported runs use the tuned η on the full training set and the test set.`,
    `Paired differences: arm − reference per seed, mean [95 % t interval]; 'lower'/'higher' only when the interval excludes 0.`,
    `Commit ${provenance.commit}${provenance.dirty ? ' (with uncommitted changes)' : ''}.`,
  ];
  const results: PartResult[] = [];
  if (!tngdAvailable()) throw new Error('the TNGD optimizer is not available in this build');

  const runPart = async (part: Part, key: string, title: string, batch: number, reference: string, arms: ControlArm[]): Promise<PartResult> => {
    const settings: CommonRunSettings = { model: o.model, batch, iters, evalEvery, dataConfig, device: 'emu:?profile=ideal&maxRank=1024', reuse: o.reuse };
    const tuneSettings: CommonRunSettings = { ...settings, iters: tuneIters, evalEvery: tuneIters };
    const tuning: TuningResult[] = [];
    const tuned: Arm[] = [];
    const stopped: PartResult['stopped'] = [];
    for (const a of arms) {
      const t = await tuneArm(`${key}-${a.label}`, a, tuneSettings, data, runsDir, tuningSeeds, stopped);
      tuning.push(t);
      tuned.push({ label: a.label, optimizer: a.optimizer, options: { ...a.options, lr: t.best } });
    }
    // Seed-major order, each finished run appended to progress.csv at once: a study stopped
    // part-way keeps complete pairs for its first seeds, and --reuse picks them up again.
    const runs: FinishedRun[] = [];
    for (const seed of seeds)
      for (const a of tuned) {
        const r = await runSafely({ label: a.label, optimizer: a.optimizer, optimizerOptions: a.options, seed }, settings, data, runsDir);
        if (r.stopped) stopped.push({ label: a.label, seed, lr: Number(a.options.lr), message: r.stopped });
        else console.log(`[${key}] ${a.label} seed ${seed}: train loss (last 10) ${tailMean(r).toFixed(4)}, test acc ${(r.finalTest.accuracy * 100).toFixed(2)}%${r.diverged ? ' (diverged)' : ''}`);
        runs.push(r);
        appendProgress(out.dir, part, batch, r);
      }
    runs.sort((x, y) => tuned.findIndex((a) => a.label === x.spec.label) - tuned.findIndex((a) => a.label === y.spec.label) || x.spec.seed - y.spec.seed);
    const res: ArmsResult = { name: key, arms: tuned, runs, groups: summarizeGroups(runs) };
    const bySeed = (label: string, pick: (r: FinishedRun) => number) => ({ label, bySeed: new Map(res.runs.filter((r) => r.spec.label === label).map((r) => [r.spec.seed, r.diverged ? NaN : pick(r)])) });
    const paired = arms
      .filter((a) => a.label !== reference)
      .flatMap((a) => [
        pairedDiff('test loss', bySeed(a.label, (r) => r.finalTest.loss), bySeed(reference, (r) => r.finalTest.loss)),
        pairedDiff('test accuracy %', bySeed(a.label, (r) => 100 * r.finalTest.accuracy), bySeed(reference, (r) => 100 * r.finalTest.accuracy)),
      ]);
    for (const f of armFigures(key, title, res, Math.min(evalEvery, 20))) out.svg(f.file, f.svg);
    const pr: PartResult = { part, key, title, batch, reference, tuning, arms: res, paired, stopped };
    summary.push('', `## ${title}`, '', partTable(pr));
    if (stopped.length) summary.push('', 'Runs stopped by the device (counted as diverged; tuning scores them +∞):', '', ...stopped.map((x) => `- ${x.label}, η = ${x.lr}, seed ${x.seed}: ${x.message}`));
    results.push(pr);
    return pr;
  };

  if (parts.includes('carry')) {
    const decay = Math.exp(-lambda * o.tTau);
    const cg = { damping: lambda, maxIter: o.cgIters, tol: 1e-12 };
    for (const b of bList)
      await runPart('carry', `carry-b${b}`, `Carry controls, b = ${b}, λ = ${lambda}, t = ${o.tTau}τ`, b, 'TNGD carry κ₀=0', [
        tngdArm('TNGD carry κ₀=0', { damping: lambda, tTau: o.tTau, kappa0: 0, integrator: 'exact' }, lrGrid),
        ...(o.noiseArm ? [tngdArm(`TNGD carry κ₀=${o.kappa0}`, { damping: lambda, tTau: o.tTau, kappa0: o.kappa0, integrator: 'exact' }, lrGrid)] : []),
        tngdArm('TNGD reset κ₀=0', { damping: lambda, tTau: o.tTau, kappa0: 0, integrator: 'exact', start: 'reset' }, lrGrid),
        { label: `CG warm e^{−λt}, ${o.cgIters} it`, optimizer: 'ngd-cg', options: { ...cg, warmStart: true, warmDecay: Number(decay.toPrecision(12)) }, grid: lrGrid },
        { label: `CG cold, ${o.cgIters} it`, optimizer: 'ngd-cg', options: cg, grid: lrGrid },
        { label: 'NGD exact (Woodbury)', optimizer: 'ngd-woodbury', options: { damping: lambda }, grid: lrGrid },
      ]);
    const carry = results.filter((r) => r.part === 'carry');
    if (carry.length > 0) {
      const labels = carry[0].paired.filter((d) => d.metric === 'test loss').map((d) => d.arm);
      out.svg(
        'controls-carry-vs-b.svg',
        simpleFigure(
          `Test loss minus TNGD carry κ₀=0, paired by seed (mean, 95 % CI; ${seeds.length} seeds)`,
          'log2 batch size b',
          'Δ test loss',
          labels.map((l) => ({
            name: l,
            points: carry.map((c) => {
              const d = c.paired.find((x) => x.arm === l && x.metric === 'test loss')!;
              return { x: Math.log2(c.batch), y: d.mean, ...(Number.isFinite(d.lo) ? { lo: d.lo, hi: d.hi } : {}) };
            }),
          })),
        ),
      );
    }
  }
  if (parts.includes('delay')) {
    const delays = [0, 0.2, 1];
    await runPart(
      'delay',
      'delay',
      `Fig. 4b delay grid, b = ${o.batch}, t = ${o.delayT}τ, κ₀ = ${o.kappa0}`,
      o.batch,
      'TNGD t_d=0',
      delays.map((d) => tngdArm(`TNGD t_d=${d}τ`.replace('t_d=0τ', 't_d=0'), { damping: lambda, tTau: o.delayT, kappa0: o.kappa0, integrator: 'exact', delayTau: d }, lrGrid)),
    );
    const p = results.find((r) => r.part === 'delay')!;
    out.svg('controls-delay.svg', meanCiFigure(`Fig. 4b: test loss against delay t_d (mean, 95 % CI; ${seeds.length} seeds)`, 't_d (τ)', p, (l) => (l === 'TNGD t_d=0' ? 0 : Number(/t_d=([0-9.]+)τ/.exec(l)![1]))));
  }
  if (parts.includes('adam')) {
    const ts = [0.1, 0.2, 0.4];
    await runPart('adam', 'tngd-adam', `TNGD-Adam in the paper's regime, b = ${o.batch}, λ = 1, Euler δt = 0.02τ, β₁ = β₂ = 0`, o.batch, 'Adam', [
      { label: 'Adam', optimizer: 'adam', options: {}, grid: adamGrid },
      ...ts.map((t) => tngdArm(`TNGD-Adam t=${t}τ`, { damping: 1, tTau: t, kappa0: o.kappa0, integrator: 'euler', dtTau: 0.02, adam: true }, adamGrid)),
    ]);
  }

  if (parts.includes('sweep-t')) {
    // Fig. 4a with η tuned per arm (study 2 ran every arm at the paper's η = 0.01)
    const ts = o.tList ?? (q ? [5, 50] : [5, 10, 20, 50]);
    await runPart('sweep-t', 'sweep-t', `Fig. 4a with tuned η: analogue time t, b = ${o.batch}, λ = ${lambda}, κ₀ = ${o.kappa0}`, o.batch, 'NGD exact (Woodbury)', [
      ...ts.map((t) => tngdArm(`TNGD t=${t}τ`, { damping: lambda, tTau: t, kappa0: o.kappa0, integrator: 'exact' }, lrGrid)),
      { label: 'NGD exact (Woodbury)', optimizer: 'ngd-woodbury', options: { damping: lambda }, grid: lrGrid },
    ]);
  }
  if (parts.includes('sweep-kappa')) {
    // Fig. 7 with η tuned per arm, against the noise-free device at the same t = τ
    const ks = o.kappaList ?? (q ? [1e-1] : [1e-3, 1e-2, 1e-1]);
    await runPart('sweep-kappa', 'sweep-kappa', `Fig. 7 with tuned η: noise κ₀ at t = τ, b = ${o.batch}, λ = ${lambda}`, o.batch, 'TNGD κ₀=0', [
      tngdArm('TNGD κ₀=0', { damping: lambda, tTau: 1, kappa0: 0, integrator: 'exact' }, lrGrid),
      ...ks.map((k) => tngdArm(`TNGD κ₀=${k}`, { damping: lambda, tTau: 1, kappa0: k, integrator: 'exact' }, lrGrid)),
    ]);
  }

  if (parts.includes('curvature')) {
    // study 3 ran the empirical-Fisher arms at the GGN's η; here each arm has its own
    const tngd = { damping: lambda, tTau: o.tTau, kappa0: o.kappa0, integrator: 'exact' as const };
    await runPart('curvature', 'curvature', `GGN against the empirical Fisher with tuned η, b = ${o.batch}, λ = ${lambda}, TNGD t = ${o.tTau}τ, κ₀ = ${o.kappa0}`, o.batch, 'TNGD GGN', [
      tngdArm('TNGD GGN', tngd, lrGrid),
      tngdArm('TNGD EF', { ...tngd, curvature: 'ef' }, lrGrid),
      { label: 'NGD GGN (Woodbury)', optimizer: 'ngd-woodbury', options: { damping: lambda }, grid: lrGrid },
      { label: 'NGD EF (Woodbury)', optimizer: 'ngd-woodbury', options: { damping: lambda, curvature: 'ef' }, grid: lrGrid },
    ]);
  }

  const snr = snrRows([...new Set([1e-3, 1e-2, 1e-1, o.kappa0])].sort((a, b) => a - b), lambda, o.tTau, PROFILES.prototype.fullScale);
  summary.push(
    '',
    `## κ₀ as signal-to-noise against the ADC full scale (±${PROFILES.prototype.fullScale}, prototype profile)`,
    '',
    `Noise sd of the weakest mode (eigenvalue λ = ${lambda}): after t = ${o.tTau}τ from a fixed start √(κ₀(1 − e^{−2λt})/λ), at equilibrium √(κ₀/λ); SNR = full scale / sd.`,
    '',
    formatTable(
      ['κ₀', `sd at t = ${o.tTau}τ`, 'SNR (dB)', 'sd at equilibrium', 'SNR (dB)'],
      snr.map((s) => [formatNumber(s.kappa0, 2), formatNumber(s.sdAtT, 3), `${formatNumber(s.snrAtT, 3)} (${s.snrDbAtT.toFixed(1)})`, formatNumber(s.sdStationary, 3), `${formatNumber(s.snrStationary, 3)} (${s.snrDbStationary.toFixed(1)})`]),
    ),
  );

  const rows = perSeedRows(results);
  const command = `npm run example:controls --${argv.length ? ' ' + argv.join(' ') : ''}`;
  out.text('per-seed.csv', `# ${command}\n# commit ${provenance.commit}${provenance.dirty ? ' (dirty)' : ''}\n${toCsv(rows)}`);
  out.json('per-seed.json', { command, commit: provenance.commit, dirty: provenance.dirty, model: model.name, numParams: model.numParams, data: dataLabel, iters, lambda, rows });
  out.json('results.json', {
    command,
    provenance,
    model: model.name,
    numParams: model.numParams,
    data: dataLabel,
    iters,
    seeds,
    tuningProtocol: { tuningSeeds, tuneIters, validationFraction: 0.1, score: 'final validation loss, mean over tuning seeds; diverged = +∞' },
    snr,
    parts: results.map((p) => ({ part: p.part, key: p.key, title: p.title, batch: p.batch, reference: p.reference, tuning: p.tuning, paired: p.paired, groups: p.arms.groups, stopped: p.stopped })),
  });
  out.text('summary.md', summary.join('\n'));
  console.log(summary.join('\n'));
  out.finish({ provenance });
  return { out, parts: results };
}

function partTable(p: PartResult): string {
  const lr = new Map(p.tuning.map((t, i) => [p.arms.arms[i].label, t]));
  const head = formatTable(
    ['arm', 'η (tuned)', 'seeds', 'test loss (mean, 95 % CI)', 'test acc % (mean, 95 % CI)'],
    p.arms.groups.map((g) => {
      const t = lr.get(g.label)!;
      const ci = (m: { mean: number; sd: number; n: number }, k = 1) =>
        m.n > 1 ? `${formatNumber(m.mean * k, 4)} ± ${formatNumber(tQuantile975(m.n - 1) * (m.sd * k) / Math.sqrt(m.n), 2)}` : formatNumber(m.mean * k, 4);
      return [g.label, `${formatNumber(t.best, 3)}${t.atEdge ? ' (grid edge)' : ''}`, `${g.seeds.length}${g.diverged ? ` (${g.diverged} diverged)` : ''}`, ci(g.finalTestLoss), ci(g.finalTestAccuracy, 100)];
    }),
  );
  const diffs = formatTable(
    ['arm − ' + p.reference, 'metric', 'paired seeds', 'mean [95 % CI]', 'verdict'],
    p.paired.map((d) => [d.arm, d.metric, String(d.n), formatDiff(d, d.metric.startsWith('test acc') ? 2 : 4), d.verdict]),
  );
  return ['```', head, '', diffs, '```'].join('\n');
}

function meanCiFigure(title: string, xLabel: string, p: PartResult, xOf: (label: string) => number): string {
  return simpleFigure(title, xLabel, 'test loss', [
    {
      name: 'TNGD',
      points: p.arms.groups
        .map((g) => {
          const m = g.finalTestLoss;
          const half = m.n > 1 ? (tQuantile975(m.n - 1) * m.sd) / Math.sqrt(m.n) : 0;
          return { x: xOf(g.label), y: m.mean, ...(m.n > 1 ? { lo: m.mean - half, hi: m.mean + half } : {}) };
        })
        .sort((a, b) => a.x - b.x),
    },
  ]);
}

runIfMain(import.meta.url, main);
