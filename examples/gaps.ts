// Study 3 — what the paper did not study, on the emulator:
//   precision  DAC and ADC bits 4..16 (solve level on the physics core; training through train()
//              on emu:?profile=ideal&dacBits=b / adcBits=b)
//   mismatch   static multiplicative coupling mismatch σ (solve level; training on emu:?mismatch=σ)
//   integrator exact transition against Euler–Maruyama with step δt (solve level; training too)
//   start      carry-over against reset and x₀ = g (a sequence of systems; training too)
//   curvature  GGN against the empirical Fisher (training: NGD-Woodbury, and TNGD)
//   profile    the 'prototype' device profile (16-bit DAC/ADC, σ = 1e-3, rails) against 'ideal' (training)
// Solve level: the relative error of the device's final-state readout against the exact
// x* = A⁻¹g of a real GGN system (lib/spu-solve.ts). Training level: train() on the emulator.
import { existsSync, readFileSync, readdirSync, statSync } from 'node:fs';
import { join } from 'node:path';
import type { TrainTest } from '../src/host-loop/data/load.ts';
import { PhysicsError } from '../src/emulator/physics/index.ts';
import type { Profile } from '../src/emulator/physics/index.ts';
import { formatMeanSd, formatNumber, formatTable, meanSd } from '../src/host-loop/run/index.ts';
import type { MeanSd, Series } from '../src/host-loop/run/index.ts';
import { parseStudyArgs, positiveNumber, runIfMain, seedList, studyCommand } from './lib/cli.ts';
import { StudyOutput } from './lib/output.ts';
import { simpleFigure } from './lib/figures.ts';
import { armFigures, armsJson, armsTable, tailMean } from './lib/arms.ts';
import type { Arm, ArmsResult } from './lib/arms.ts';
import { warmParams } from './lib/training.ts';
import type { CommonRunSettings } from './lib/training.ts';
import { SequenceDevice, StudyDevice, buildSystem, cosine, maxAbs, relErr } from './lib/spu-solve.ts';
import type { SolveSystem } from './lib/spu-solve.ts';
import { runOne, summarizeGroups } from './lib/training.ts';
import type { FinishedRun } from './lib/training.ts';
import { TngdDeviceError } from '../src/host-loop/optimizers/tngd.ts';
import { DeviceError } from '../src/driver/errors.ts';
import { tngdAvailable, tngdConfig } from './lib/tngd-options.ts';
import type { TngdSettings } from './lib/tngd-options.ts';
import { resolvePaperSetup, withPaperTrainingOptions } from './lib/paper-setup.ts';
import type { PaperTrainingOptions } from './lib/paper-setup.ts';

interface Point {
  label: string;
  x: number;
  relErr: MeanSd;
  /** seeds whose upload the device rejected (A not positive definite after mismatch) */
  rejected?: number;
}

const FULL_SCALE = 8; // PROFILES.ideal.fullScale, the ADC range

function toSeries(points: Point[], xform: (x: number) => number = (x) => x): Series[] {
  return [...new Set(points.map((p) => p.label))].map((label) => ({
    name: label,
    points: points
      // diverged Euler runs (rejected, error ≫ 1) would squash the axis: listed in the table only
      .filter((p) => p.label === label && Number.isFinite(p.relErr.mean) && !(p.label.startsWith('Euler') && p.rejected))
      .map((p) => ({
        x: xform(p.x),
        y: Math.max(p.relErr.mean, 1e-16),
        ...(p.relErr.n > 1 ? { lo: Math.max(1e-16, p.relErr.mean - p.relErr.sd), hi: p.relErr.mean + p.relErr.sd } : {}),
      })),
  }));
}

function pointTable(points: Point[], xName: string, errName = 'rel. error ‖x−x*‖/‖x*‖'): string {
  return formatTable(
    ['setting', xName, errName, 'rejected'],
    points.map((p) => [p.label, formatNumber(p.x, 3), formatMeanSd(p.relErr, 3), String(p.rejected ?? 0)]),
  );
}

/** Converged solve (κ₀ = 0, exact, t = 30/λ from x₀ = 0) on a device with `profile`. */
function convergedError(sys: SolveSystem, profile: Partial<Profile>, seed: number, gain: number): number {
  const dev = new StudyDevice(sys, profile, seed, gain);
  return dev.run({ kappa0: 0, integrator: { kind: 'exact' }, tTau: 30 / sys.lambda, start: 'reset' }).relErrFinal;
}

/** The converged error, or NaN with rejected = 1 when the device refuses the system (A not PD as realised). */
function convergedPoint(label: string, x: number, sys: SolveSystem, profile: Partial<Profile>, seed: number, gain: number): Point {
  try {
    return { label, x, relErr: { mean: convergedError(sys, profile, seed, gain), sd: 0, n: 1 }, rejected: 0 };
  } catch (e) {
    if (!(e instanceof PhysicsError)) throw e;
    return { label, x, relErr: { mean: NaN, sd: NaN, n: 0 }, rejected: 1 };
  }
}

/** One seed of a training arm whose device may refuse a system (A not positive definite as realised). */
interface DeviceRun {
  seed: number;
  run: FinishedRun | null;
  /** the iteration whose system the device refused, when it did */
  refusedAtIteration?: number;
  /** any other device failure, verbatim */
  failure?: string;
}

interface DeviceArmResult {
  label: string;
  /** DAC or ADC bits, or σ */
  x: number;
  device: string;
  runs: DeviceRun[];
}

/** Iterations a stopped run completed: the metric lines of the arm's newest run folder for this seed (runs are sequential). */
function iterationsDone(runsDir: string, arm: Arm, seed: number): number {
  if (!existsSync(runsDir)) return 0;
  const mine = readdirSync(runsDir)
    .filter((d) => d.startsWith(`${arm.optimizer}-`) && d.endsWith(`-s${seed}`))
    .map((d) => join(runsDir, d, 'metrics.jsonl'))
    .filter((f) => existsSync(f))
    .sort((a, b) => statSync(b).mtimeMs - statSync(a).mtimeMs);
  if (!mine.length) return 0;
  return readFileSync(mine[0], 'utf8').split('\n').filter((l) => l.trim() !== '').length;
}

const NOT_PD = /not[- ]positive[- ]definite/;

/** Trains one arm over seeds through train(); a device refusal ends that seed's run and is recorded. */
async function runDeviceArm(label: string, x: number, arm: Arm, seeds: number[], settings: CommonRunSettings, data: TrainTest, runsDir: string): Promise<DeviceArmResult> {
  const runs: DeviceRun[] = [];
  for (const seed of seeds) {
    try {
      const run = await runOne({ label: arm.label, optimizer: arm.optimizer, optimizerOptions: arm.options, seed }, arm.device ? { ...settings, device: arm.device } : settings, data, runsDir);
      runs.push({ seed, run });
      console.log(`[${label}] ${arm.label} seed ${seed}: train loss (last 10) ${tailMean(run).toFixed(4)}, test acc ${(run.finalTest.accuracy * 100).toFixed(2)}%${run.diverged ? ' (diverged)' : ''}`);
    } catch (e) {
      // the optimizer's own error (run flags, unstable step) or the device's error reply to Run
      if (!(e instanceof TngdDeviceError || e instanceof DeviceError)) throw e;
      const at = iterationsDone(runsDir, arm, seed) + 1;
      if (NOT_PD.test(e.message)) runs.push({ seed, run: null, refusedAtIteration: at });
      else runs.push({ seed, run: null, failure: `iteration ${at}: ${e.message}` });
      console.log(`[${label}] ${arm.label} seed ${seed}: stopped at iteration ${at}: ${e.message}`);
    }
  }
  return { label: arm.label, x, device: arm.device ?? settings.device ?? '', runs };
}

/** runArms, except that a run the device stops (TngdDeviceError) is listed as failed instead of ending the study. */
async function runArmsTolerant(name: string, arms: Arm[], seeds: number[], settings: CommonRunSettings, data: TrainTest, runsDir: string) {
  const runs: FinishedRun[] = [];
  const failed: { label: string; seed: number; message: string }[] = [];
  for (const arm of arms) {
    const r = await runDeviceArm(name, 0, arm, seeds, settings, data, runsDir);
    for (const x of r.runs) {
      if (x.run) runs.push(x.run);
      else failed.push({ label: arm.label, seed: x.seed, message: x.failure ?? `device refused the system (A not positive definite) at iteration ${x.refusedAtIteration}` });
    }
  }
  const res: ArmsResult = { name, arms, runs, groups: summarizeGroups(runs) };
  return { res, failed };
}

function deviceArmStats(a: DeviceArmResult) {
  const done = a.runs.filter((r) => r.run !== null && !r.run.diverged).map((r) => r.run!);
  const ms = (xs: number[]): MeanSd | null => (xs.length ? meanSd(xs) : null);
  return {
    label: a.label,
    x: a.x,
    device: a.device,
    seeds: a.runs.map((r) => r.seed),
    completed: done.length,
    refused: a.runs.filter((r) => r.refusedAtIteration !== undefined).length,
    refusedAtIteration: a.runs.filter((r) => r.refusedAtIteration !== undefined).map((r) => r.refusedAtIteration!),
    diverged: a.runs.filter((r) => r.run?.diverged).length,
    failures: a.runs.filter((r) => r.failure !== undefined).map((r) => r.failure!),
    trainLossLast10: ms(done.map((r) => tailMean(r))),
    finalTestLoss: ms(done.map((r) => r.finalTest.loss)),
    finalTestAccuracy: ms(done.map((r) => r.finalTest.accuracy)),
  };
}

function deviceArmsTable(stats: ReturnType<typeof deviceArmStats>[]): string {
  const f = (m: MeanSd | null, scale = 1) => (m ? formatMeanSd({ ...m, mean: m.mean * scale, sd: m.sd * scale }) : '—');
  return formatTable(
    ['arm', 'seeds completed / refused', 'refused at iteration', 'train loss (last 10 it)', 'test loss', 'test acc %'],
    stats.map((s) => [s.label, `${s.completed} / ${s.refused}${s.diverged ? ` (${s.diverged} diverged)` : ''}${s.failures.length ? ` (${s.failures.length} failed)` : ''}`, s.refusedAtIteration.join(', ') || '—', f(s.trainLossLast10), f(s.finalTestLoss), f(s.finalTestAccuracy, 100)]),
  );
}

/** Test accuracy (mean ± sd over completed seeds) against x, one series per label prefix. */
function accuracySeries(stats: ReturnType<typeof deviceArmStats>[], series: { name: string; prefix: string }[], xform: (x: number) => number = (x) => x): Series[] {
  return series
    .map(({ name, prefix }) => ({
    name,
    points: stats
      .filter((s) => s.label.startsWith(prefix) && s.finalTestAccuracy !== null)
      .map((s) => {
        const m = s.finalTestAccuracy!;
        // a band on every point (zero width for a single finished seed): the chart draws a series' band only when all points have one
        return { x: xform(s.x), y: m.mean * 100, lo: (m.mean - m.sd) * 100, hi: (m.mean + m.sd) * 100 };
      }),
    }))
    .filter((s) => s.points.length > 0);
}

export async function main(argv: string[]): Promise<{ out: StudyOutput }> {
  const cmd = withPaperTrainingOptions(
    studyCommand('gaps', 'precision, mismatch, Euler vs exact, reset vs carry, GGN vs empirical Fisher, prototype profile', 3),
    'learning rate',
  ).option('--t-tau <t>', 'TNGD analogue time per iteration for the training arms, τ', positiveNumber('--t-tau'), 10);
  const o = parseStudyArgs<PaperTrainingOptions & { tTau: number }>(cmd, argv);
  const q = o.quick;
  const { dataDir, dataConfig, dataLabel, data, model, iters, evalEvery } = resolvePaperSetup(o);
  const batch = o.batch;
  const seeds = seedList(q ? Math.min(2, o.seeds) : o.seeds);
  const out = new StudyOutput('gaps', o.out, argv, { ...o, dataDir, batch, iters, evalEvery, seeds });
  const runsDir = join(out.dir, 'runs');
  const params = await warmParams(o.model, data, dataConfig, join(runsDir, 'warm-start'), q ? 10 : 100);
  const sys = buildSystem(model, params, data.train, 0, batch, o.damping);
  const xMax = maxAbs(sys.xStar);
  // range-matched: g scaled so that max|x*| sits at half the ADC full scale
  const matched = FULL_SCALE / 2 / xMax;
  const results: Record<string, unknown> = {
    data: dataLabel,
    model: model.name,
    system: { n: sys.f.n, r: sys.f.r, lambda: sys.lambda, lambdaMaxOfA: sys.lambdaMax, conditionNumber: sys.lambdaMax / sys.lambda, maxAbsXStar: xMax, adcFullScale: FULL_SCALE, matchedGain: matched },
  };
  const summary: string[] = [
    `# Gaps: ${model.name} (N = ${model.numParams}), b = ${batch}, λ = ${o.damping}`,
    '',
    `Solve-level system: N = ${sys.f.n}, r = ${sys.f.r}, λmax(A) = ${formatNumber(sys.lambdaMax, 4)}, κ(A) = ${formatNumber(sys.lambdaMax / sys.lambda, 4)}, max|x*| = ${formatNumber(xMax, 3)} (ADC full scale ${FULL_SCALE}).`,
  ];

  // ---- precision: DAC and ADC bits (κ₀ = 0, converged, so only quantisation is left) ----
  const bitsList = q ? [4, 8, 16] : [4, 6, 8, 10, 12, 14, 16];
  const precision: Point[] = [];
  const one = (v: number): MeanSd => ({ mean: v, sd: 0, n: 1 });
  for (const bits of bitsList) {
    precision.push(convergedPoint('DAC', bits, sys, { dacBits: bits }, 1, 1));
    precision.push(convergedPoint('ADC, g as is', bits, sys, { adcBits: bits }, 1, 1));
    precision.push(convergedPoint('ADC, g matched', bits, sys, { adcBits: bits }, 1, matched));
    precision.push(convergedPoint('DAC+ADC, g matched', bits, sys, { dacBits: bits, adcBits: bits }, 1, matched));
  }
  // g matched: g scaled so that max|x*| is half the ADC full scale (readout divided back)
  results.precision = {
    settings: 'κ₀ = 0, exact integrator, t = 30/λ from x₀ = 0 (converged); DAC range auto per tensor; ADC full scale 8; rejected = the device refused the system (A not positive definite as realised)',
    points: precision,
  };
  out.svg('precision-bits.svg', simpleFigure('Converged solve error against DAC/ADC bits', 'bits', '‖x − x*‖ / ‖x*‖', toSeries(precision), true));
  summary.push('', '## Precision (converged solve, κ₀ = 0)', '```', pointTable(precision, 'bits'), '```');

  // ---- mismatch σ (drawn per device seed) ----
  const sigmas = q ? [1e-3, 1e-2] : [1e-4, 3e-4, 1e-3, 3e-3, 1e-2, 3e-2, 1e-1];
  const solveSeeds = seedList(q ? 2 : 3);
  const mismatch: Point[] = [];
  for (const sigma of sigmas) {
    const errs: number[] = [];
    let rejected = 0;
    for (const s of solveSeeds) {
      try {
        errs.push(convergedError(sys, { mismatchSigma: sigma }, s, 1));
      } catch (e) {
        if (!(e instanceof PhysicsError)) throw e;
        rejected++;
      }
    }
    mismatch.push({ label: 'mismatch σ', x: sigma, relErr: meanSd(errs), rejected });
  }
  results.mismatch = { settings: 'κ₀ = 0, exact, converged; σ multiplies every J, H entry by (1 + σz)', seeds: solveSeeds, points: mismatch };
  out.svg('mismatch-sigma.svg', simpleFigure('Converged solve error against coupling mismatch σ', 'log10 σ', '‖x − x*‖ / ‖x*‖', toSeries(mismatch, Math.log10), true));
  summary.push('', '## Mismatch (converged solve, κ₀ = 0)', '```', pointTable(mismatch, 'σ'), '```');

  // ---- Euler–Maruyama against the exact transition (κ₀ = 0: the mean dynamics only) ----
  const dts = q ? [0.1, 0.05] : [0.5, 0.2, 0.1, 0.05, 0.02];
  const tEuler = q ? 2 : 10;
  const dev = new StudyDevice(sys, {}, 1);
  const exact = dev.run({ kappa0: 0, integrator: { kind: 'exact' }, tTau: tEuler, start: 'gradient' }).final;
  const euler: Point[] = [];
  for (const dt of dts) {
    const label = `Euler vs exact at t = ${tEuler}τ`;
    let e: ReturnType<StudyDevice['run']>;
    try {
      e = dev.run({ kappa0: 0, integrator: { kind: 'euler', dtTau: dt }, tTau: tEuler, start: 'gradient' });
    } catch (err) {
      // an emulator that checks δt·λmax(A) refuses the run at its start instead of diverging
      if (!(err instanceof PhysicsError)) throw err;
      euler.push({ label, x: dt, relErr: one(NaN), rejected: 1 });
      continue;
    }
    const d = relErr(e.final, exact);
    // past the stability limit δt < 2/λmax(A) the iteration blows up (flagged or just huge)
    const diverged = e.flags.length > 0 || !(d < 1);
    euler.push({ label, x: dt, relErr: one(Number.isFinite(d) ? d : NaN), ...(diverged ? { rejected: 1 } : {}) });
  }
  results.euler = {
    settings: `κ₀ = 0, x₀ = g, t = ${tEuler}τ; Euler is stable only for δt < 2/λmax(A) = ${formatNumber(2 / sys.lambdaMax, 3)}τ`,
    exactVsXStar: relErr(exact, sys.xStar),
    points: euler,
  };
  out.svg('euler-vs-exact.svg', simpleFigure(`Euler against exact (t = ${tEuler}τ; diverged δt not drawn)`, 'log10 δt (τ)', 'relative difference', toSeries(euler, Math.log10), true));
  summary.push('', `## Euler vs exact (κ₀ = 0, t = ${tEuler}τ; stability limit δt < ${formatNumber(2 / sys.lambdaMax, 3)}τ)`, '```', pointTable(euler, 'δt/τ', '‖x_Euler − x_exact‖/‖x_exact‖ (rejected = diverged, or refused by the device)'), '```');

  // ---- carry-over against reset over a sequence of batches (fixed parameters) ----
  const steps = q ? 4 : 20;
  const seqT = 5;
  const systems = Array.from({ length: steps }, (_, k) => buildSystem(model, params, data.train, (k + 1) * batch, batch, o.damping));
  const seq: Point[] = [];
  const seqCos: Record<string, number[]> = {};
  for (const kappa0 of [0, 1e-3])
    for (const start of ['carry', 'reset', 'gradient'] as const) {
      const label = `${start}, κ₀ = ${kappa0}`;
      const perStep: number[][] = systems.map(() => []);
      const cosAtEnd: number[] = [];
      for (const s of kappa0 === 0 ? solveSeeds.slice(0, 1) : solveSeeds) {
        const d = new SequenceDevice(sys.f.n, sys.f.r, s);
        systems.forEach((sy, k) => {
          const x = d.step(sy, { kappa0, integrator: { kind: 'exact' }, tTau: seqT, start });
          perStep[k].push(relErr(x, sy.xStar));
          if (k === steps - 1) cosAtEnd.push(cosine(x, sy.xStar));
        });
      }
      perStep.forEach((e, k) => seq.push({ label, x: k + 1, relErr: meanSd(e) }));
      seqCos[label] = cosAtEnd;
    }
  results.startMode = { settings: `${steps} successive batches at fixed parameters, t = ${seqT}τ per batch, exact integrator`, seeds: solveSeeds, points: seq, cosineAtLastStep: seqCos };
  out.svg('carry-vs-reset.svg', simpleFigure(`Solve error over successive batches (t = ${seqT}τ each)`, 'batch', '‖x − x*‖ / ‖x*‖', toSeries(seq), true));
  const lastOf = (l: string) => seq.filter((p) => p.label === l).at(-1)!;
  summary.push(
    '',
    `## Carry-over vs reset (t = ${seqT}τ per batch), error at batch ${steps}`,
    '```',
    pointTable([...new Set(seq.map((p) => p.label))].map(lastOf), 'batch'),
    '```',
  );

  // ---- training level ----
  const settings: CommonRunSettings = { model: o.model, batch, iters, evalEvery, dataConfig, device: 'emu:?profile=ideal', reuse: o.reuse };
  const base = { lr: o.lr, damping: o.damping };
  const curvatureArms: Arm[] = [
    { label: 'NGD GGN', optimizer: 'ngd-woodbury', options: { ...base, curvature: 'ggn' } },
    { label: 'NGD EF', optimizer: 'ngd-woodbury', options: { ...base, curvature: 'ef' } },
  ];
  const mk = (label: string, s: TngdSettings): Arm => {
    const c = tngdConfig(s);
    return { label, optimizer: c.optimizer, options: c.options };
  };
  const tb: TngdSettings = { ...base, tTau: o.tTau, integrator: 'exact', kappa0: 1e-3 };
  if (tngdAvailable()) curvatureArms.push(mk('TNGD GGN', { ...tb, curvature: 'ggn' }), mk('TNGD EF', { ...tb, curvature: 'ef' }));
  const training: Record<string, unknown> = {};
  const groups: { key: string; title: string; arms: Arm[] }[] = [{ key: 'curvature', title: 'GGN vs empirical Fisher', arms: curvatureArms }];
  if (tngdAvailable()) {
    groups.push(
      { key: 'start', title: `Carry-over vs reset (TNGD, t = ${o.tTau}τ)`, arms: (['carry', 'reset', 'gradient'] as const).map((s) => mk(`TNGD start=${s}`, { ...tb, start: s })) },
      { key: 'integrator', title: `Exact vs Euler (TNGD, t = ${o.tTau}τ)`, arms: [mk('TNGD exact', { ...tb, integrator: 'exact' }), mk('TNGD Euler δt=0.1τ', { ...tb, integrator: 'euler', dtTau: 0.1 })] },
      {
        key: 'profile',
        title: 'Device profile: ideal vs prototype (16-bit DAC/ADC, σ = 1e-3, rails)',
        arms: [
          { ...mk('TNGD ideal', tb), device: 'emu:?profile=ideal' },
          { ...mk('TNGD prototype', tb), device: 'emu:?profile=prototype' },
        ],
      },
    );
  } else summary.push('', 'TNGD training arms not run: the TNGD optimizer is not available in this build.');
  for (const g of groups) {
    const { res, failed } = await runArmsTolerant(g.key, g.arms, seeds, settings, data, runsDir);
    training[g.key] = { ...armsJson(res), failed };
    for (const f of armFigures(`train-${g.key}`, g.title, res, Math.min(evalEvery, 20))) out.svg(f.file, f.svg);
    summary.push('', `## Training: ${g.title}`, '```', armsTable(res), '```', ...failed.map((f) => `- ${f.label} seed ${f.seed}: the device stopped the run: ${f.message}`));
  }
  results.training = training;

  // ---- training level: precision and mismatch through train() on emu: devices with overridden profiles ----
  if (tngdAvailable()) {
    const dacTrain = q ? [8, 16] : [4, 6, 8, 10, 12, 14, 16];
    const adcTrain = q ? [8] : [4, 6, 8, 10, 12, 14, 16];
    const sigmaTrain = q ? [1e-2] : [1e-4, 3e-4, 1e-3, 3e-3, 1e-2, 3e-2, 1e-1];
    // the CE core H is singular (H·1 = 0): quantised or mismatched, it can turn A indefinite; folded
    // into the factor (U = LᵀJ, identity core) A = UᵀU + λI stays positive definite whatever the DAC does
    const foldedTrain: { what: 'dac' | 'mismatch'; x: number }[] = q ? [] : [{ what: 'dac', x: 4 }, { what: 'dac', x: 6 }, { what: 'mismatch', x: 1e-2 }, { what: 'mismatch', x: 1e-1 }];
    const dev = (override: string) => `emu:?profile=ideal&${override}`;
    const arms: { group: string; x: number; arm: Arm }[] = [
      ...dacTrain.map((b) => ({ group: 'dac', x: b, arm: { ...mk(`DAC ${b} bits`, tb), device: dev(`dacBits=${b}`) } })),
      ...adcTrain.map((b) => ({ group: 'adc', x: b, arm: { ...mk(`ADC ${b} bits`, tb), device: dev(`adcBits=${b}`) } })),
      ...sigmaTrain.map((sg) => ({ group: 'mismatch', x: sg, arm: { ...mk(`mismatch σ=${sg}`, tb), device: dev(`mismatch=${sg}`) } })),
      ...foldedTrain.map(({ what, x }) => {
        const label = what === 'dac' ? `folded core, DAC ${x} bits` : `folded core, mismatch σ=${x}`;
        const a = mk(label, tb);
        return { group: `folded-${what}`, x, arm: { ...a, options: { ...a.options, core: 'folded' }, device: dev(what === 'dac' ? `dacBits=${x}` : `mismatch=${x}`) } };
      }),
    ];
    const stats: (ReturnType<typeof deviceArmStats> & { group: string })[] = [];
    for (const a of arms) stats.push({ group: a.group, ...deviceArmStats(await runDeviceArm(`device-${a.group}`, a.x, a.arm, seeds, settings, data, runsDir)) });
    results.trainingDevice = {
      settings: `TNGD, t = ${o.tTau}τ, κ₀ = 1e-3, exact integrator, carry-over, η = ${o.lr}, λ = ${o.damping}, ${iters} iterations of b = ${batch}; each arm's device is emu:?profile=ideal with one override; refused = the device reported the realised A not positive definite and the run stopped there`,
      arms: stats,
    };
    out.svg(
      'precision-bits-train.svg',
      simpleFigure('Training: test accuracy vs bits (refused seeds left out)', 'bits', 'test accuracy %', accuracySeries(stats, [{ name: 'DAC', prefix: 'DAC' }, { name: 'ADC', prefix: 'ADC' }, { name: 'DAC, folded core', prefix: 'folded core, DAC' }])),
    );
    out.svg(
      'mismatch-sigma-train.svg',
      simpleFigure('Training: test accuracy vs mismatch σ (refused seeds left out)', 'log10 σ', 'test accuracy %', accuracySeries(stats, [{ name: 'mismatch σ', prefix: 'mismatch' }, { name: 'folded core', prefix: 'folded core, mismatch' }], Math.log10)),
    );
    summary.push('', `## Training: DAC/ADC bits and mismatch σ (TNGD, t = ${o.tTau}τ, devices emu:?profile=ideal&…)`, '```', deviceArmsTable(stats), '```');
  }
  out.json('results.json', results);
  out.text('summary.md', summary.join('\n'));
  console.log(summary.join('\n'));
  out.finish();
  return { out };
}

runIfMain(import.meta.url, main);
