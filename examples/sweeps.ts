// Study 2 — the paper's sweeps on the emulator:
//   Fig. 4a  analogue time t ∈ {5, 10, 20, 50}τ against exact NGD,
//   Fig. 4b  delay t_d (the device keeps integrating the previous system while the host works),
//   Fig. 7   noise κ₀ ∈ {1e-3, 1e-2, 1e-1} at t = τ.
// Training-level (TNGD through the emulated device via train()) when the TNGD optimizer is
// available, and solve-level on the physics core (relative error of the readout against the
// exact x* = A⁻¹g of a real GGN system) for t and κ₀.
import { join } from 'node:path';
import { formatMeanSd, formatNumber, formatTable, meanSd } from '../src/host-loop/run/index.ts';
import type { MeanSd } from '../src/host-loop/run/index.ts';
import { numberList, parseStudyArgs, positiveNumber, runIfMain, seedList, studyCommand } from './lib/cli.ts';
import { StudyOutput } from './lib/output.ts';
import { simpleFigure } from './lib/figures.ts';
import { armFigures, armsJson, armsTable, runArms } from './lib/arms.ts';
import type { Arm, ArmsResult } from './lib/arms.ts';
import { warmParams } from './lib/training.ts';
import type { CommonRunSettings } from './lib/training.ts';
import { StudyDevice, buildSystem, maxAbs } from './lib/spu-solve.ts';
import { tngdAvailable, tngdConfig } from './lib/tngd-options.ts';
import { resolvePaperSetup, withPaperTrainingOptions } from './lib/paper-setup.ts';
import type { PaperTrainingOptions } from './lib/paper-setup.ts';

export interface SolvePoint {
  x: number;
  label: string;
  relErr: MeanSd;
  cos: MeanSd;
}

const band = (p: SolvePoint[], label: string) => ({
  name: label,
  points: p.filter((q) => q.label === label).map((q) => ({ x: q.x, y: q.relErr.mean, ...(q.relErr.n > 1 ? { lo: Math.max(1e-12, q.relErr.mean - q.relErr.sd), hi: q.relErr.mean + q.relErr.sd } : {}) })),
});

export function solveTable(points: SolvePoint[], xName: string): string {
  return formatTable(
    ['setting', xName, 'rel. error ‖x−x*‖/‖x*‖', 'cos(x, x*)'],
    points.map((p) => [p.label, formatNumber(p.x, 3), formatMeanSd(p.relErr, 3), formatMeanSd(p.cos, 4)]),
  );
}

export async function main(argv: string[]): Promise<{ out: StudyOutput }> {
  const cmd = withPaperTrainingOptions(
    studyCommand('sweeps', "the paper's sweeps: analogue time t, delay t_d, noise κ₀ (training and solve level)", 3),
    'TNGD / NGD learning rate',
  )
    .option('--t-list <list>', 'analogue times t for Fig. 4a, τ', numberList('--t-list'))
    .option('--delay-list <list>', 'delays t_d for Fig. 4b, τ (0 is always included)', numberList('--delay-list'))
    .option('--delay-t <t>', 'analogue time t for the delay sweep, τ', positiveNumber('--delay-t'), 5)
    .option('--kappa-list <list>', 'noise strengths κ₀ for Fig. 7', numberList('--kappa-list'));
  const o = parseStudyArgs<PaperTrainingOptions & { tList?: number[]; delayList?: number[]; delayT: number; kappaList?: number[] }>(cmd, argv);
  const q = o.quick;
  const { dataDir, dataConfig, dataLabel, data, model, iters, evalEvery } = resolvePaperSetup(o);
  const batch = o.batch;
  const tList = o.tList ?? (q ? [5, 50] : [5, 10, 20, 50]);
  const delayList = [0, ...(o.delayList ?? (q ? [2] : [1, 5])).filter((d) => d > 0)];
  const kappaList = o.kappaList ?? (q ? [1e-3, 1e-1] : [1e-3, 1e-2, 1e-1]);
  const seeds = seedList(q ? Math.min(2, o.seeds) : o.seeds);
  const out = new StudyOutput('sweeps', o.out, argv, { ...o, dataDir, batch, iters, evalEvery, tList, delayList, kappaList, seeds });
  const runsDir = join(out.dir, 'runs');
  const results: Record<string, unknown> = {
    data: dataLabel,
    model: model.name,
    numParams: model.numParams,
    batch,
    lr: o.lr,
    damping: o.damping,
  };

  // ---- solve level: one real GGN system, exact integrator, ideal device ----
  const params = await warmParams(o.model, data, dataConfig, join(runsDir, 'warm-start'), q ? 10 : 100);
  const sys = buildSystem(model, params, data.train, 0, batch, o.damping);
  const solveSeeds = seedList(q ? 2 : 3);
  const tGrid = q ? [1, 5, 20, 50] : [1, 2, 5, 10, 20, 50, 100, 200, 500, 1000];
  const tPoints: SolvePoint[] = [];
  const kPoints: SolvePoint[] = [];
  const devs = solveSeeds.map((s) => new StudyDevice(sys, {}, s));
  for (const kappa0 of [0, 1e-3])
    for (const start of ['gradient', 'reset'] as const)
      for (const t of tGrid) {
        // κ₀ = 0 is deterministic: one device is enough
        const outs = (kappa0 === 0 ? devs.slice(0, 1) : devs).map((d) => d.run({ kappa0, integrator: { kind: 'exact' }, tTau: t, start }));
        tPoints.push({ x: t, label: `x₀ = ${start === 'gradient' ? 'g' : '0'}, κ₀ = ${kappa0}`, relErr: meanSd(outs.map((r) => r.relErrFinal)), cos: meanSd(outs.map((r) => r.cosFinal)) });
      }
  for (const t of [1, 20])
    for (const k of [0, 1e-3, 1e-2, 1e-1]) {
      const outs = devs.map((d) => d.run({ kappa0: k, integrator: { kind: 'exact' }, tTau: t, start: 'gradient' }));
      kPoints.push({ x: k, label: `t = ${t}τ`, relErr: meanSd(outs.map((r) => r.relErrFinal)), cos: meanSd(outs.map((r) => r.cosFinal)) });
    }
  results.solve = {
    system: { n: sys.f.n, r: sys.f.r, lambda: sys.lambda, lambdaMaxOfA: sys.lambdaMax, maxAbsXStar: maxAbs(sys.xStar), params: 'after 100 (quick: 10) Adam steps, lr 1e-2, seed 0' },
    readout: 'final state, ideal profile (no quantisation), exact integrator',
    seeds: solveSeeds,
    tSweep: tPoints,
    kappaSweep: kPoints,
  };
  const tLabels = [...new Set(tPoints.map((p) => p.label))];
  out.svg(
    'solve-error-vs-t.svg',
    simpleFigure(
      `Device solve error against t (λ = ${o.damping}, N = ${sys.f.n}, r = ${sys.f.r})`,
      'log10 t (τ)',
      '‖x − x*‖ / ‖x*‖',
      tLabels.map((l) => {
        const s = band(tPoints, l);
        return { ...s, points: s.points.map((p) => ({ ...p, x: Math.log10(p.x) })) };
      }),
      true,
    ),
  );
  out.svg(
    'solve-error-vs-kappa.svg',
    simpleFigure('Device solve error against noise κ₀ (x₀ = g)', 'log10 κ₀ (κ₀ = 0 drawn at −4)', '‖x − x*‖ / ‖x*‖', [...new Set(kPoints.map((p) => p.label))].map((l) => {
      const s = band(kPoints, l);
      return { ...s, points: s.points.map((p) => ({ ...p, x: p.x === 0 ? -4 : Math.log10(p.x) })) };
    }), true),
  );

  // ---- training level: TNGD through the emulated device ----
  const summary: string[] = [
    `# Sweeps: ${model.name} (N = ${model.numParams}), b = ${batch}, η = ${o.lr}, λ = ${o.damping}, ${iters} iterations, seeds ${seeds.join(', ')}`,
    '',
    '## Solve level (physics core, one GGN system, final-state readout)',
    '```',
    solveTable(tPoints, 't/τ'),
    '',
    solveTable(kPoints, 'κ₀'),
    '```',
  ];
  if (!tngdAvailable()) {
    summary.push('', 'Training-level sweeps not run: the TNGD optimizer is not available in this build.');
    results.training = null;
  } else {
    const settings: CommonRunSettings = { model: o.model, batch, iters, evalEvery, dataConfig, device: 'emu:?profile=ideal', reuse: o.reuse };
    const base = { lr: o.lr, damping: o.damping };
    const dev = { integrator: 'exact' as const, kappa0: 1e-3 };
    const ngd: Arm = { label: 'NGD (exact solve)', optimizer: 'ngd-woodbury', options: base };
    const mk = (label: string, s: Parameters<typeof tngdConfig>[0]): Arm => {
      const c = tngdConfig(s);
      return { label, optimizer: c.optimizer, options: c.options };
    };
    const sweeps: { key: string; title: string; arms: Arm[] }[] = [
      { key: 'fig4a-t', title: 'Fig. 4a: analogue time t', arms: [...tList.map((t) => mk(`TNGD t=${t}τ`, { ...base, ...dev, tTau: t })), ngd] },
      { key: 'fig4b-delay', title: `Fig. 4b: delay t_d (t = ${o.delayT}τ)`, arms: [...delayList.map((d) => mk(`TNGD t_d=${d}τ`, { ...base, ...dev, tTau: o.delayT, delayTau: d })), ngd] },
      { key: 'fig7-kappa', title: 'Fig. 7: noise κ₀ (t = τ)', arms: kappaList.map((k) => mk(`TNGD κ₀=${k}`, { ...base, ...dev, tTau: 1, kappa0: k })) },
    ];
    const training: Record<string, unknown> = {};
    for (const sw of sweeps) {
      const res: ArmsResult = await runArms(sw.key, sw.arms, seeds, settings, data, runsDir);
      training[sw.key] = armsJson(res);
      for (const f of armFigures(sw.key, sw.title, res, Math.min(evalEvery, 20))) out.svg(f.file, f.svg);
      summary.push('', `## ${sw.title}`, '```', armsTable(res), '```');
    }
    results.training = training;
  }
  out.json('results.json', results);
  out.text('summary.md', summary.join('\n'));
  console.log(summary.join('\n'));
  out.finish();
  return { out };
}

runIfMain(import.meta.url, main);
