// Study 5 — the paper's second experiment (Fig. 5) at this machine's size: LoRA fine-tuning of a
// small pretrained transformer encoder for extractive QA. Adam, TNGD (λ = 1, t = 0.4τ),
// TNGD-Adam (β₁ = β₂ = 0, λ = 1, t ∈ {0.1, 0.2, 0.4}τ) through the emulated device, and
// NGD-Woodbury (λ = 1), all on the adapters and span head only. The device integrates the OU
// dynamics exactly by default: the paper's Euler simulation with δt = 0.02τ (--integrator euler)
// is unstable for this curvature (λmax(A) ≈ 100–200 > 1.875/δt) and the emulator refuses it; the
// readout averages samples every 0.02τ either way. η is tuned per arm on the validation split (tuning seed 1000, disjoint from the reported
// seeds), then every arm runs seeds 1..n with the same batches per seed; train loss, test loss,
// EM and F1 against iterations and compute time.
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { InvalidArgumentError } from 'commander';
import { makeQaSplits, type QaSet } from '../src/host-loop/data/qa/task.ts';
import { squadScores } from '../src/host-loop/data/qa/squad-metrics.ts';
import { Vocab } from '../src/host-loop/data/qa/vocab.ts';
import { SpanLoraModel } from '../src/host-loop/models/transformer/span-model.ts';
import { formatNumber, formatTable, lineChartSvg, meanSd } from '../src/host-loop/run/index.ts';
import type { Series } from '../src/host-loop/run/index.ts';
import { numberList, parseStudyArgs, positiveInt, positiveNumber, runIfMain, seedList, studyCommand } from './lib/cli.ts';
import { formatInterval, meanInterval, pairedDifference, verdict } from './lib/intervals.ts';
import { BASE_FILE, loadBase } from './lib/lora-base.ts';
import { evaluateQa, runLora } from './lib/lora-training.ts';
import type { LoraArm, LoraRun, LoraRunSettings } from './lib/lora-training.ts';
import { StudyOutput } from './lib/output.ts';

interface Family {
  arm: Omit<LoraArm, 'options'> & { base: Record<string, unknown> };
  grid: number[];
}

/** Mean mini-batch train loss over the last k iterations (the paper reports training loss). */
export function tailLoss(run: LoraRun, k = 10): number {
  const t = run.records.slice(-k).map((r) => r.trainLoss);
  return t.reduce((a, b) => a + b, 0) / Math.max(1, t.length);
}

/** Baselines on a split: the most frequent training span (position only) and the first value of the asked kind (type only). */
export function shortcutBaselines(train: QaSet, test: QaSet, vocab: Vocab): { position: { em: number; f1: number }; type: { em: number; f1: number } } {
  const counts = new Map<string, number>();
  for (let i = 0; i < train.n; i++) {
    const key = `${train.start[i]},${train.end[i]}`;
    counts.set(key, (counts.get(key) ?? 0) + 1);
  }
  const [s, e] = [...counts.entries()].sort((a, b) => b[1] - a[1] || (a[0] < b[0] ? -1 : 1))[0][0].split(',').map(Number);
  const L = test.maxLen;
  const pos = Array.from({ length: test.n }, (_, i) => (e < test.lengths[i] ? vocab.decode(test.tokens.subarray(i * L + s, i * L + e + 1)).join(' ') : ''));
  return { position: squadScores(pos, test.answers), type: squadScores(test.examples.map((x) => x.firstOfKind), test.answers) };
}

function curve(runs: LoraRun[], x: 'iter' | 'computeSeconds', pick: (r: LoraRun['records'][number]) => number | undefined, window = 1): Series[] {
  const labels = [...new Set(runs.map((r) => r.label))];
  return labels.map((label) => {
    const group = runs.filter((r) => r.label === label && !r.diverged);
    const byIter = new Map<number, { xs: number[]; ys: number[] }>();
    for (const run of group)
      run.records.forEach((rec, i) => {
        let y = pick(rec);
        if (y === undefined) return;
        if (window > 1) {
          const lo = Math.max(0, i - window + 1);
          const w = run.records.slice(lo, i + 1).map(pick).filter((v): v is number => v !== undefined);
          y = w.reduce((a, b) => a + b, 0) / w.length;
        }
        const e = byIter.get(rec.iter) ?? { xs: [], ys: [] };
        e.xs.push(x === 'iter' ? rec.iter : rec.computeSeconds);
        e.ys.push(y);
        byIter.set(rec.iter, e);
      });
    const points = [...byIter.entries()]
      .sort((a, b) => a[0] - b[0])
      .map(([, v]) => {
        const m = meanSd(v.ys);
        return { x: v.xs.reduce((a, b) => a + b, 0) / v.xs.length, y: m.mean, lo: m.mean - m.sd, hi: m.mean + m.sd };
      });
    return { name: label, points };
  });
}

export async function main(argv: string[]): Promise<{ out: StudyOutput; runs: LoraRun[] }> {
  const cmd = studyCommand('lora', 'LoRA fine-tuning of a small pretrained encoder for extractive QA: Adam, TNGD, TNGD-Adam (t = 0.1, 0.2, 0.4 τ), NGD-Woodbury', 5)
    .option('--base <file>', 'pretrained base weights (npm run example:lora-pretrain)', BASE_FILE)
    .option('--rank <ρ>', 'LoRA rank', positiveInt('--rank', 32), 4)
    .option('--alpha <α>', 'LoRA α (update scaling α/ρ)', positiveNumber('--alpha'), 8)
    .option('--batch <b>', 'batch size', positiveInt('--batch', 256), 16)
    .option('--rows-per-block <k>', 'GGN rows kept per softmax block (r = 2·b·k)', positiveInt('--rows-per-block', 32), 2)
    .option('--iters <n>', 'iterations per reported run (same budget for every arm)', positiveInt('--iters'))
    .option('--tune-iters <n>', 'iterations per tuning run', positiveInt('--tune-iters'))
    .option('--eval-every <n>', 'test evaluation period, iterations', positiveInt('--eval-every'))
    .option('--kappa0 <κ>', 'device noise κ₀', positiveNumber('--kappa0'), 1e-3)
    .option('--integrator <kind>', "device integrator: 'exact' OU transition or the paper's 'euler' (δt = 0.02τ)", 'exact')
    .option('--adam-grid <list>', 'Adam learning rates', numberList('--adam-grid'))
    .option('--ngd-grid <list>', 'TNGD and NGD-Woodbury learning rates', numberList('--ngd-grid'))
    .option('--tngd-adam-grid <list>', 'TNGD-Adam learning rates', numberList('--tngd-adam-grid'))
    .option('--device <url>', 'device for the TNGD arms (the emulator takes each run seed)', 'emu:?profile=ideal')
    // Splitting one study over processes: --tuning reuses the η of an earlier tuning.json, --only
    // runs some arms (their runs go to runs.json), --merge reports the runs.json of several folders.
    .option('--tuning <file>', 'take the tuned η from this tuning.json instead of tuning again')
    .option('--only <labels>', "run only these arms (comma-separated labels, e.g. 'Adam,NGD-Woodbury')")
    .option('--seed-list <list>', 'run these seeds instead of 1..n (comma-separated)', numberList('--seed-list', true))
    .option('--merge <dirs>', 'do not train: report the runs.json of these comma-separated output folders');
  const o = parseStudyArgs<{
    base: string;
    rank: number;
    alpha: number;
    batch: number;
    rowsPerBlock: number;
    iters?: number;
    tuneIters?: number;
    evalEvery?: number;
    kappa0: number;
    integrator: string;
    adamGrid?: number[];
    ngdGrid?: number[];
    tngdAdamGrid?: number[];
    device: string;
    tuning?: string;
    only?: string;
    merge?: string;
    seedList?: number[];
  }>(cmd, argv);
  if (o.integrator !== 'exact' && o.integrator !== 'euler') throw new InvalidArgumentError(`--integrator must be 'exact' or 'euler', got '${o.integrator}'`);
  const q = o.quick;
  const iters = o.iters ?? (q ? 6 : 100);
  const tuneIters = o.tuneIters ?? (q ? 4 : 60);
  const evalEvery = o.evalEvery ?? (q ? 3 : 20);
  const sizes = q ? { train: 200, validation: 40, test: 40 } : { train: 2000, validation: 200, test: 300 };
  const grids = {
    adam: o.adamGrid ?? (q ? [1e-2] : [3e-3, 1e-2, 3e-2]),
    ngd: o.ngdGrid ?? (q ? [0.3] : [0.3, 1, 3]),
    tngdAdam: o.tngdAdamGrid ?? (q ? [3e-3] : [1e-3, 3e-3, 1e-2]),
  };
  const seeds = o.seedList ?? seedList(q ? Math.min(o.seeds, 2) : o.seeds);
  const tuningSeed = 1000;
  const out = new StudyOutput('lora', o.out, argv, { ...o, iters, tuneIters, evalEvery, sizes, grids, seeds, tuningSeed });

  const vocab = new Vocab();
  const { file, base } = loadBase(o.base);
  const model = new SpanLoraModel(file.config, { rank: o.rank, alpha: o.alpha }, base);
  const data = makeQaSplits(1, sizes, vocab, file.config.maxLen);
  const r = 2 * o.batch * o.rowsPerBlock;
  const settings: LoraRunSettings = { iters, batch: o.batch, evalEvery, rowsPerBlock: o.rowsPerBlock, device: o.device, maxAnswerLen: 4 };
  const dev = { damping: 1, kappa0: o.kappa0, integrator: o.integrator, dt: 0.02 };
  const families: Family[] = [
    { arm: { label: 'Adam', optimizer: 'adam', base: {} }, grid: grids.adam },
    { arm: { label: 'TNGD t=0.4τ', optimizer: 'tngd', base: { ...dev, tTau: 0.4 } }, grid: grids.ngd },
    ...[0.1, 0.2, 0.4].map((t) => ({ arm: { label: `TNGD-Adam t=${t}τ`, optimizer: 'tngd-adam', base: { ...dev, tTau: t, beta1: 0, beta2: 0 } }, grid: grids.tngdAdam })),
    { arm: { label: 'NGD-Woodbury', optimizer: 'ngd-woodbury', base: { damping: 1 } }, grid: grids.ngd },
  ];

  // ---- tuning: validation F1 after tune-iters (ties: lower validation loss); a failed run scores −1 ----
  const tuneSettings: LoraRunSettings = { ...settings, iters: tuneIters, evalEvery: tuneIters };
  type Tuning = { label: string; grid: { lr: number; f1: number; em: number; loss: number; failure?: string }[]; best: number; atEdge: boolean }[];
  let tuning: Tuning = [];
  const chosen = new Map<string, number>();
  if (o.tuning) {
    tuning = (JSON.parse(readFileSync(o.tuning, 'utf8')) as { tuning: Tuning }).tuning;
    for (const t of tuning) chosen.set(t.label, t.best);
    const missing = families.filter((f) => !chosen.has(f.arm.label)).map((f) => f.arm.label);
    if (missing.length) throw new InvalidArgumentError(`--tuning ${o.tuning} has no η for ${missing.join(', ')}`);
  }
  for (const f of o.tuning ? [] : families) {
    const points: (typeof tuning)[number]['grid'] = [];
    for (const lr of f.grid) {
      const run = await runLora(model, { label: f.arm.label, optimizer: f.arm.optimizer, options: { ...f.arm.base, lr } }, tuningSeed, tuneSettings, data.train, data.validation);
      const ev = run.final;
      points.push(ev ? { lr, f1: ev.f1, em: ev.em, loss: ev.loss } : { lr, f1: -1, em: -1, loss: -1, failure: run.failure });
      console.log(`[lora tune] ${f.arm.label} lr ${lr}: ${ev ? `validation F1 ${(ev.f1 * 100).toFixed(1)}, loss ${ev.loss.toFixed(3)}` : `failed (${run.failure})`}`);
    }
    let bi = 0;
    for (let i = 1; i < points.length; i++) {
      const a = points[i];
      const b = points[bi];
      if (a.f1 > b.f1 || (a.f1 === b.f1 && a.loss >= 0 && a.loss < b.loss)) bi = i;
    }
    tuning.push({ label: f.arm.label, grid: points, best: points[bi].lr, atEdge: points.length > 1 && (bi === 0 || bi === points.length - 1) });
    chosen.set(f.arm.label, points[bi].lr);
  }
  out.json('tuning.json', {
    protocol: `seed ${tuningSeed}, ${tuneIters} iterations on the training split, score = F1 on the validation split (${sizes.validation} questions), ties broken by the lower validation loss; a failed run scores −1`,
    tuning,
  });

  // ---- reported runs ----
  const only = o.only?.split(',').map((x) => x.trim());
  const unknown = (only ?? []).filter((l) => !families.some((f) => f.arm.label === l));
  if (unknown.length) throw new InvalidArgumentError(`--only: unknown arm ${unknown.join(', ')} (arms: ${families.map((f) => f.arm.label).join(', ')})`);
  const runs: LoraRun[] = [];
  if (o.merge) for (const dir of o.merge.split(',')) runs.push(...(JSON.parse(readFileSync(join(dir.trim(), 'runs.json'), 'utf8')) as LoraRun[]));
  for (const f of o.merge ? [] : families.filter((x) => !only || only.includes(x.arm.label)))
    for (const seed of seeds) {
      const run = await runLora(model, { label: f.arm.label, optimizer: f.arm.optimizer, options: { ...f.arm.base, lr: chosen.get(f.arm.label)! } }, seed, settings, data.train, data.test);
      runs.push(run);
      out.json('runs.json', runs); // after every run, so a stopped process keeps what it finished
      console.log(
        `[lora] ${f.arm.label} seed ${seed}: train loss (last 10) ${tailLoss(run).toFixed(4)}` +
          (run.final ? `, test EM ${(run.final.em * 100).toFixed(1)}, F1 ${(run.final.f1 * 100).toFixed(1)}` : ` — ${run.failure}`),
      );
    }

  if (!o.merge) out.json('runs.json', runs);
  const seedsRun = [...new Set(runs.map((x) => x.seed))].sort((a, b) => a - b);
  runs.sort((a, b) => families.findIndex((f) => f.arm.label === a.label) - families.findIndex((f) => f.arm.label === b.label) || a.seed - b.seed);

  // ---- baselines and summaries ----
  const untuned = evaluateQa(model, model.init(1), data.test, settings.maxAnswerLen, vocab);
  const shortcuts = shortcutBaselines(data.train, data.test, vocab);
  const labels = families.map((f) => f.arm.label).filter((l) => runs.some((r) => r.label === l));
  const per = (label: string, pick: (r: LoraRun) => number) => runs.filter((r) => r.label === label).map(pick);
  const ok = (label: string) => runs.some((r) => r.label === label) && runs.filter((r) => r.label === label).every((r) => !r.diverged);
  const groups = labels.map((label) => {
    const rs = runs.filter((r) => r.label === label);
    const good = rs.filter((r) => !r.diverged && r.final);
    return {
      label,
      lr: chosen.get(label)!,
      seeds: rs.map((r) => r.seed),
      failed: rs.filter((r) => r.diverged).map((r) => ({ seed: r.seed, failure: r.failure })),
      trainLossTail: meanInterval(good.map((r) => tailLoss(r))),
      testLoss: meanInterval(good.map((r) => r.final!.loss)),
      em: meanInterval(good.map((r) => r.final!.em * 100)),
      f1: meanInterval(good.map((r) => r.final!.f1 * 100)),
      hostMsPerIter: meanInterval(good.map((r) => (r.records.reduce((a, x) => a + x.hostSeconds, 0) / r.records.length) * 1e3)),
      computeSeconds: meanInterval(good.map((r) => r.records[r.records.length - 1].computeSeconds)),
    };
  });
  // paired comparisons (same seeds: same initialisation and batch order), only between arms whose seeds all completed
  const pairs: [string, string][] = [
    ['TNGD t=0.4τ', 'Adam'],
    ...[0.1, 0.2, 0.4].map((t): [string, string] => [`TNGD-Adam t=${t}τ`, 'Adam']),
    ['TNGD-Adam t=0.4τ', 'TNGD-Adam t=0.1τ'],
    ['TNGD-Adam t=0.2τ', 'TNGD-Adam t=0.1τ'],
    ['TNGD-Adam t=0.4τ', 'TNGD t=0.4τ'],
    ['NGD-Woodbury', 'Adam'],
    ['TNGD t=0.4τ', 'NGD-Woodbury'],
  ];
  const comparisons = pairs
    .filter(([a, b]) => ok(a) && ok(b))
    .map(([a, b]) => {
      const dLoss = pairedDifference(per(a, (r) => tailLoss(r)), per(b, (r) => tailLoss(r)));
      const dF1 = pairedDifference(per(a, (r) => r.final!.f1 * 100), per(b, (r) => r.final!.f1 * 100));
      const dEm = pairedDifference(per(a, (r) => r.final!.em * 100), per(b, (r) => r.final!.em * 100));
      return { a, b, trainLoss: { ...dLoss, verdict: verdict(dLoss) }, f1: { ...dF1, verdict: verdict(dF1) }, em: { ...dEm, verdict: verdict(dEm) } };
    });

  out.json('results.json', {
    task: 'templated extractive QA (src/host-loop/data/qa), data seed 1',
    sizes,
    encoder: file.config,
    baseParams: base.length,
    baseFile: { sha256: file.sha256, recipe: file.recipe, command: file.command, pretrainSeconds: file.pretrainSeconds, history: file.history },
    lora: { rank: o.rank, alpha: o.alpha, targets: 'Wq, Wv of every layer' },
    N: model.numParams,
    adapterParams: model.numAdapterParams,
    headParams: model.numParams - model.numAdapterParams,
    batch: o.batch,
    rowsPerBlock: o.rowsPerBlock,
    r,
    iters,
    evalEvery,
    device: o.device,
    kappa0: o.kappa0,
    integrator: o.integrator,
    chosenLr: Object.fromEntries(chosen),
    baselines: { untrainedAdapters: untuned, ...shortcuts },
    groups,
    comparisons,
    runs: runs.map((x) => ({
      label: x.label,
      optimizer: x.optimizer,
      options: x.options,
      seed: x.seed,
      diverged: x.diverged,
      failure: x.failure ?? null,
      final: x.final,
      trainLoss: x.records.map((rec) => rec.trainLoss),
      computeSeconds: x.records.map((rec) => rec.computeSeconds),
      deviceTau: x.records.length ? x.records[0].deviceTau : 0,
      evals: x.records.filter((rec) => rec.eval).map((rec) => ({ iter: rec.iter, computeSeconds: rec.computeSeconds, ...rec.eval })),
    })),
  });

  const window = Math.min(10, iters);
  const chart = (title: string, xLabel: string, yLabel: string, series: Series[], logY = false) => lineChartSvg({ title: `${title} (mean ± sd, ${seedsRun.length} seeds)`, xLabel, yLabel, series, logY });
  const trainLoss = (r: LoraRun['records'][number]) => r.trainLoss;
  const em = (r: LoraRun['records'][number]) => (r.eval ? r.eval.em * 100 : undefined);
  const f1 = (r: LoraRun['records'][number]) => (r.eval ? r.eval.f1 * 100 : undefined);
  const testLoss = (r: LoraRun['records'][number]) => r.eval?.loss;
  out.svg('train-loss-vs-iter.svg', chart(`Train loss (mini-batch, ${window}-iteration mean)`, 'iteration', 'train loss', curve(runs, 'iter', trainLoss, window), true));
  out.svg('train-loss-vs-time.svg', chart('Train loss against compute time', 'compute seconds (host; TNGD: + projected device)', 'train loss', curve(runs, 'computeSeconds', trainLoss, window), true));
  out.svg('test-loss-vs-iter.svg', chart('Test loss', 'iteration', 'test loss', curve(runs, 'iter', testLoss)));
  out.svg('test-em-vs-iter.svg', chart('Test exact match', 'iteration', 'EM %', curve(runs, 'iter', em)));
  out.svg('test-f1-vs-iter.svg', chart('Test F1', 'iteration', 'F1 %', curve(runs, 'iter', f1)));
  out.svg('test-f1-vs-time.svg', chart('Test F1 against compute time', 'compute seconds (host; TNGD: + projected device)', 'F1 %', curve(runs, 'computeSeconds', f1)));

  const pct = (x: { em: number; f1: number }) => `EM ${(x.em * 100).toFixed(1)}, F1 ${(x.f1 * 100).toFixed(1)}`;
  const table = formatTable(
    ['arm', 'η', 'seeds', 'train loss (last 10 it)', 'test loss', 'test EM %', 'test F1 %', 'host ms/iter', 'compute s/run'],
    groups.map((g) => [
      g.label,
      formatNumber(g.lr, 3),
      `${g.seeds.length}${g.failed.length ? ` (${g.failed.length} failed)` : ''}`,
      formatInterval(g.trainLossTail),
      formatInterval(g.testLoss),
      formatInterval(g.em),
      formatInterval(g.f1),
      formatInterval(g.hostMsPerIter),
      formatInterval(g.computeSeconds),
    ]),
  );
  const cmpTable = formatTable(
    ['a − b', 'train loss', 'verdict', 'test F1 (points)', 'verdict', 'test EM (points)', 'verdict'],
    comparisons.map((c) => [`${c.a} − ${c.b}`, formatInterval(c.trainLoss), c.trainLoss.verdict, formatInterval(c.f1), c.f1.verdict, formatInterval(c.em), c.em.verdict]),
  );
  const edge = tuning.filter((t) => t.atEdge).map((t) => `${t.label} (η ${t.best})`);
  out.text(
    'summary.md',
    [
      `# LoRA fine-tuning for extractive QA: base ${base.length} frozen weights, N = ${model.numParams} trainable (adapters ${model.numAdapterParams} + head ${model.numParams - model.numAdapterParams}), b = ${o.batch}, r = ${r}, ${iters} iterations, seeds ${seedsRun.join(', ')}`,
      '',
      'Mean [95% t-interval] over seeds:',
      '',
      '```',
      table,
      '```',
      '',
      'Paired differences (same seeds), 95% t-intervals:',
      '',
      '```',
      cmpTable,
      '```',
      '',
      `Test split: ${sizes.test} questions. Baselines on it: adapters untrained (B = 0, random head) ${pct(untuned)}; position only (most frequent training span) ${pct(shortcuts.position)}; type only (first value of the asked kind) ${pct(shortcuts.type)}.`,
      edge.length ? `best η at the edge of its grid: ${edge.join(', ')}` : 'every best η is inside its grid',
      ...groups.flatMap((g) => g.failed.map((f) => `${g.label} seed ${f.seed} failed: ${f.failure}`)),
    ].join('\n'),
  );
  console.log(table);
  console.log(cmpTable);
  out.finish();
  return { out, runs };
}

runIfMain(import.meta.url, main);
