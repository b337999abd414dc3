// Study 1 — Fashion-MNIST, one network for every optimizer: TNGD, TNGD-Adam (device through the
// emulator), Adam and SGD with momentum (learning rate tuned over a stated grid), NGD-Woodbury
// and NGD-CG (tuned likewise). Train/test loss and accuracy against iterations and against
// compute time, mean ± sd over seeds. Tuning uses seeds 1000, 1001 and a validation split carved from the
// training set; the reported runs use seeds 1..n on the full training set and the test set.
import { existsSync } from 'node:fs';
import { join } from 'node:path';
import { loadDataset } from '../src/host-loop/data/load.ts';
import type { TrainTest } from '../src/host-loop/data/load.ts';
import { createModel } from '../src/host-loop/models/model.ts';
import { getOptimizerSpec } from '../src/host-loop/optimizers/index.ts';
import { formatMeanSd, formatNumber, formatTable } from '../src/host-loop/run/index.ts';
import type { MeanSd } from '../src/host-loop/run/index.ts';
import { numberList, parseStudyArgs, positiveInt, positiveNumber, runIfMain, seedList, studyCommand } from './lib/cli.ts';
import { StudyOutput } from './lib/output.ts';
import { PAPER_DEVICE, projectTngdDevice } from './lib/device-model.ts';
import { curveFigure, simpleFigure } from './lib/figures.ts';
import { plotRecord, runForJson, runOne, summarizeGroups } from './lib/training.ts';
import type { CommonRunSettings, FinishedRun, GroupSummary } from './lib/training.ts';
import { tuneLr } from './lib/tuning.ts';
import type { TuningResult } from './lib/tuning.ts';
import { DEBIAN_FASHION_MNIST } from './lib/paper-setup.ts';

export { DEBIAN_FASHION_MNIST };

interface Family {
  key: string;
  label: string;
  optimizer: string;
  base: Record<string, unknown>;
  /** a fixed grid, or one derived from learning rates already chosen (by family label) */
  grid: number[] | ((chosen: Map<string, number>) => number[]);
}

export const pct = (m: MeanSd): MeanSd => ({ ...m, mean: m.mean * 100, sd: m.sd * 100 });

export function groupTable(groups: GroupSummary[], lrs: Map<string, number>): string {
  return formatTable(
    ['optimizer', 'lr', 'seeds', 'train loss', 'train acc %', 'test loss', 'test acc %', 'host ms/iter', 'compute s'],
    groups.map((g) => [
      g.label,
      lrs.has(g.label) ? formatNumber(lrs.get(g.label)!, 3) : String(g.options.lr ?? '—'),
      `${g.seeds.length}${g.diverged ? ` (${g.diverged} diverged)` : ''}`,
      formatMeanSd(g.finalTrainLoss),
      formatMeanSd(pct(g.finalTrainAccuracy), 4),
      formatMeanSd(g.finalTestLoss),
      formatMeanSd(pct(g.finalTestAccuracy), 4),
      formatMeanSd(g.hostMsPerIter, 3),
      formatMeanSd(g.computeSeconds, 3),
    ]),
  );
}

export async function main(argv: string[]): Promise<{ out: StudyOutput; groups: GroupSummary[] }> {
  const cmd = studyCommand('fashion-mnist', 'Fashion-MNIST: TNGD, TNGD-Adam, tuned Adam and SGD+momentum, NGD-Woodbury, NGD-CG', 3)
    .option('--data <dir>', `folder with the four IDX files (default ${DEBIAN_FASHION_MNIST}; --quick: the shipped 14×14 subset)`)
    .option('--model <spec>', 'network for every optimizer', 'conv:14x14x1-c2k3s2-16-10')
    .option('--batch <b>', 'batch size', positiveInt('--batch', 4096))
    .option('--iters <n>', 'iterations per run (same budget for every optimizer)', positiveInt('--iters'))
    .option('--tune-iters <n>', 'iterations per tuning run', positiveInt('--tune-iters'))
    .option('--eval-every <n>', 'test-set evaluation period, iterations', positiveInt('--eval-every'))
    .option('--damping <λ>', 'damping λ for NGD and TNGD', positiveNumber('--damping'), 0.1)
    .option('--t-tau <t>', 'TNGD analogue time per iteration, τ', positiveNumber('--t-tau'), 20)
    .option('--kappa0 <κ>', 'TNGD device noise κ₀', positiveNumber('--kappa0'), 1e-3)
    .option('--integrator <kind>', "emulator integrator for TNGD: 'exact' transition or 'euler' (δt = 0.1τ)", 'exact')
    .option('--sgd-grid <list>', 'SGD (momentum 0.9) learning rates', numberList('--sgd-grid'))
    .option('--adam-grid <list>', 'Adam learning rates', numberList('--adam-grid'))
    .option('--ngd-grid <list>', 'NGD-Woodbury / NGD-CG learning rates (TNGD: the NGD-Woodbury best × 1/3, 1, 3)', numberList('--ngd-grid'))
    .option('--tngd-adam-grid <list>', 'TNGD-Adam (β₁ = β₂ = 0) learning rates', numberList('--tngd-adam-grid'))
    .option('--cg-max-iter <n>', 'NGD-CG iteration cap', positiveInt('--cg-max-iter', 10000), 20)
    .option('--device <url>', 'device URL for TNGD (without ?seed the emulator takes each run seed)', 'emu:?profile=ideal')
    .option('--reuse', 'reuse finished runs with identical configuration from an earlier invocation', false);
  const o = parseStudyArgs<{
    data?: string;
    model: string;
    batch?: number;
    iters?: number;
    tuneIters?: number;
    evalEvery?: number;
    damping: number;
    tTau: number;
    kappa0: number;
    integrator: string;
    sgdGrid?: number[];
    adamGrid?: number[];
    ngdGrid?: number[];
    tngdAdamGrid?: number[];
    cgMaxIter: number;
    device: string;
    reuse: boolean;
  }>(cmd, argv);
  const q = o.quick;
  const dataDir = o.data ?? (q ? null : DEBIAN_FASHION_MNIST);
  if (dataDir !== null && !existsSync(dataDir))
    throw new Error(`data folder ${dataDir} not found (install Debian's dataset-fashion-mnist, pass --data, or use --quick for the shipped subset)`);
  const batch = o.batch ?? 8;
  const iters = o.iters ?? (q ? 16 : 300);
  const tuneIters = o.tuneIters ?? (q ? 8 : 200);
  const evalEvery = o.evalEvery ?? (q ? 8 : 25);
  const grids = {
    sgd: o.sgdGrid ?? (q ? [0.03, 0.1] : [0.01, 0.03, 0.1, 0.3]),
    adam: o.adamGrid ?? (q ? [1e-3, 1e-2] : [3e-4, 1e-3, 3e-3, 1e-2, 3e-2, 0.1]),
    ngd: o.ngdGrid ?? (q ? [0.1, 0.3] : [0.01, 0.03, 0.1, 0.3, 1]),
    tngdAdam: o.tngdAdamGrid ?? (q ? [1e-3, 1e-2] : [1e-3, 3e-3, 1e-2, 3e-2]),
  };
  const seeds = seedList(q ? Math.min(o.seeds, 2) : o.seeds);
  // tuning seeds are disjoint from the reported seeds 1..n
  const tuningSeeds = q ? [1000] : [1000, 1001];
  const out = new StudyOutput('fashion-mnist', o.out, argv, { ...o, batch, dataDir, iters, tuneIters, evalEvery, grids, seeds, tuningSeeds });

  // Full data: 28×28 → 14×14 by 2×2 mean pooling (the shipped subset is already 14×14).
  const data: TrainTest = dataDir === null ? loadDataset() : loadDataset({ dir: dataDir, downsample: true });
  const model = createModel(o.model);
  const dataConfig = { dir: dataDir, downsample: dataDir !== null };
  const projected = (rec: { deviceTau?: number }): number =>
    (rec.deviceTau ?? 0) > 0
      ? projectTngdDevice(model.numParams, batch, model.outputDim, { ...PAPER_DEVICE, analogTimeTau: rec.deviceTau! }).deviceSeconds
      : 0;
  const settings: CommonRunSettings = { model: o.model, batch, iters, evalEvery, dataConfig, device: o.device, reuse: o.reuse, projectedDeviceSeconds: (_s, r) => projected(r) };
  const tuneSettings: CommonRunSettings = { ...settings, iters: tuneIters, evalEvery: tuneIters };
  const tngdBase = { damping: o.damping, tTau: o.tTau, kappa0: o.kappa0, integrator: o.integrator };
  const families: Family[] = [
    { key: 'sgd', label: 'SGD+momentum', optimizer: 'sgd', base: { momentum: 0.9 }, grid: grids.sgd },
    { key: 'adam', label: 'Adam', optimizer: 'adam', base: {}, grid: grids.adam },
    { key: 'ngd-woodbury', label: 'NGD-Woodbury', optimizer: 'ngd-woodbury', base: { damping: o.damping }, grid: grids.ngd },
    { key: 'ngd-cg', label: 'NGD-CG', optimizer: 'ngd-cg', base: { damping: o.damping, maxIter: o.cgMaxIter, tol: 1e-4 }, grid: grids.ngd },
    // TNGD estimates the NGD direction: a three-point grid around NGD-Woodbury's best lr keeps the
    // (slow, emulated) tuning affordable.
    { key: 'tngd', label: 'TNGD', optimizer: 'tngd', base: tngdBase, grid: (c) => [1 / 3, 1, 3].map((m) => m * (c.get('NGD-Woodbury') ?? 0.1)) },
    { key: 'tngd-adam', label: 'TNGD-Adam', optimizer: 'tngd-adam', base: { ...tngdBase, beta1: 0, beta2: 0 }, grid: grids.tngdAdam },
  ];
  const missing = families.filter((f) => !getOptimizerSpec(f.optimizer)).map((f) => f.optimizer);
  for (const m of missing) console.warn(`[fashion-mnist] optimizer '${m}' is not available in this build; skipped`);
  const active = families.filter((f) => getOptimizerSpec(f.optimizer));

  const runsDir = join(out.dir, 'runs');
  const tuning: TuningResult[] = [];
  const chosen = new Map<string, number>();
  for (const f of active) {
    const grid = typeof f.grid === 'function' ? f.grid(chosen) : f.grid;
    const t = await tuneLr(f.key, f.optimizer, f.base, grid, tuneSettings, data, runsDir, { tuningSeeds, validationFraction: 0.1 });
    tuning.push(t);
    chosen.set(f.label, t.best);
  }
  out.json('tuning.json', { protocol: `seeds ${tuningSeeds.join(', ')}, last 10% of the training set held out, score = mean validation loss after tune-iters`, tuneIters, tuning });

  const runs: FinishedRun[] = [];
  for (const f of active)
    for (const seed of seeds) {
      const run = await runOne({ label: f.label, optimizer: f.optimizer, optimizerOptions: { ...f.base, lr: chosen.get(f.label)! }, seed }, settings, data, runsDir);
      runs.push(run);
      console.log(`[fashion-mnist] ${f.label} seed ${seed}: test acc ${(run.finalTest.accuracy * 100).toFixed(2)}%, test loss ${run.finalTest.loss.toFixed(4)}`);
    }
  const groups = summarizeGroups(runs);
  out.json('results.json', {
    data: dataDir === null ? 'shipped 14×14 Fashion-MNIST subset (6000 train / 1000 test)' : `${dataDir} (2×2 mean-pooled to 14×14)`,
    trainSamples: data.train.n,
    testSamples: data.test.n,
    model: model.name,
    numParams: model.numParams,
    batch,
    iters,
    evalEvery,
    damping: o.damping,
    tTau: o.tTau,
    unavailable: missing,
    chosenLr: Object.fromEntries(chosen),
    groups,
    runs: runs.map(runForJson),
  });

  const window = Math.max(1, Math.min(evalEvery, 25));
  const recs = runs.filter((r) => !r.diverged).map((r) => plotRecord(r, window));
  // compute times span two decades between Adam and NGD: plot them on a log axis
  // the time figures have a log x axis (curveFigure): optimizers differ by decades in time per step
  const recsTime = recs.map((r) => ({ ...r, metrics: r.metrics.filter((m) => m.wallSeconds > 0) }));
  const figs = [
    curveFigure('train-loss-vs-iter.svg', `Train loss (mini-batch, ${window}-iteration mean)`, recs, 'iter', 'trainLoss'),
    curveFigure('train-acc-vs-iter.svg', `Train accuracy (mini-batch, ${window}-iteration mean)`, recs, 'iter', 'trainAccuracy'),
    curveFigure('test-loss-vs-iter.svg', 'Test loss', recs, 'iter', 'testLoss'),
    curveFigure('test-acc-vs-iter.svg', 'Test accuracy', recs, 'iter', 'testAccuracy'),
    curveFigure('train-loss-vs-time.svg', 'Train loss against compute time', recsTime, 'wallSeconds', 'trainLoss', 'compute seconds (host; TNGD: + projected device)'),
    curveFigure('test-acc-vs-time.svg', 'Test accuracy against compute time', recsTime, 'wallSeconds', 'testAccuracy', 'compute seconds (host; TNGD: + projected device)'),
  ];
  for (const f of figs) out.svg(f.file, f.svg);
  out.svg(
    'lr-tuning.svg',
    simpleFigure(
      `Learning-rate tuning: validation loss (mean of seeds ${tuningSeeds.join(', ')})`,
      'log10 learning rate',
      'validation loss',
      tuning.map((t) => ({ name: t.family, points: t.grid.map((g) => ({ x: Math.log10(g.lr), y: Math.min(g.validationLoss, 10) })) })),
      true,
    ),
  );
  const table = groupTable(groups, chosen);
  const edge = tuning.filter((t) => t.atEdge).map((t) => `${t.family} (lr ${t.best})`);
  out.text(
    'summary.md',
    [
      `# Fashion-MNIST: ${model.name} (N = ${model.numParams}), b = ${batch}, ${iters} iterations, seeds ${seeds.join(', ')}`,
      '',
      '```',
      table,
      '```',
      '',
      `train metrics: final parameters on the first ${Math.min(10_000, data.train.n)} training samples; test: the whole test set (${data.test.n}).`,
      edge.length ? `best learning rate at the edge of its grid: ${edge.join(', ')}` : 'every best learning rate is inside its grid',
      missing.length ? `not run (optimizer unavailable): ${missing.join(', ')}` : '',
    ].join('\n'),
  );
  console.log(table);
  out.finish();
  return { out, groups };
}

runIfMain(import.meta.url, main);
