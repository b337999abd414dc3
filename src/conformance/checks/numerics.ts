// Numerics: the time-averaged state of a known SPD system lands on A⁻¹g within a tolerance
// derived from the Ornstein–Uhlenbeck statistics; with the noise off, the final state solves
// A x = g; an emulator reproduces the golden digests of firmware-spec/vectors/emulator.
//
// Tolerance of numerics.mean. For dx = −(Ax − g)dt + √(2κ₀)dW with A = Q diag(λ) Qᵀ, each
// eigenmode y_j = (Qᵀx)_j is an independent OU process: stationary variance s_j = κ₀/λ_j
// (covariance κ₀A⁻¹), sampled every Δ it is AR(1) with ρ_j = e^{−λ_jΔ}. The mean of M
// consecutive samples has variance
//     Var(ȳ_j) = (s_j/M)·[(1+ρ_j)/(1−ρ_j) − 2ρ_j(1−ρ_j^M)/(M(1−ρ_j)²)]
// which for Δ → 0 is 2κ₀/(λ_j² T): the time-average variance 2κ₀A⁻²/T with T = MΔ.
// Var(x̄_i) = Σ_j Q_ij² Var(ȳ_j). An emulator's Euler integrator with step h instead has
// s_j = κ₀/(λ_j(1 − λ_j h/2)) and ρ_j = (1 − λ_j h)^{Δ/h}. Starting from x = 0 with burn-in B,
// the transient adds at most |y*_j|·e^{−λ_j B}(1 − e^{−λ_j T})/(λ_j T) per mode. Pass if every
// |x̄_i − x*_i| ≤ 5σ_i + bias_i + converter resolution: a false failure has probability
// ≈ 4 × 5.7·10⁻⁷ per run (two-sided 5σ, four components).
import { createHash } from 'node:crypto';
import { readFileSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import type { RequestBody } from '../../protocol/index.ts';
import type { CoreInput, LayerBlockInput } from '../../driver/types.ts';
import type { CheckContext } from '../context.ts';
import type { CheckDef } from '../types.ts';

// Symmetric orthogonal Q (normalised 4×4 Hadamard): A = Q diag(λ) Q is exact to a few ulps.
const Q = [
  [0.5, 0.5, 0.5, 0.5],
  [0.5, -0.5, 0.5, -0.5],
  [0.5, 0.5, -0.5, -0.5],
  [0.5, -0.5, -0.5, 0.5],
];
const LAMBDA = [1, 1.5, 2, 3];
const X_STAR = [0.5, -0.25, 0.75, 0.1];
const N = 4;

function knownSystem(): { A: Float64Array; g: Float64Array } {
  const A = new Float64Array(N * N);
  for (let i = 0; i < N; i++)
    for (let k = 0; k < N; k++) {
      let s = 0;
      for (let j = 0; j < N; j++) s += Q[i][j] * LAMBDA[j] * Q[k][j];
      A[i * N + k] = s;
    }
  const g = new Float64Array(N);
  for (let i = 0; i < N; i++) for (let k = 0; k < N; k++) g[i] += A[i * N + k] * X_STAR[k];
  return { A, g };
}

export interface MeanTolerance {
  sigma: number[];
  bias: number[];
  tolerance: number[];
}

/** Per-component standard deviation of the sample mean, transient bias, and the 5σ tolerance. */
export function meanTolerance(o: { kappa0: number; deltaTau: number; samples: number; burnInTau: number; eulerDtTau?: number; resolution: number }): MeanTolerance {
  const { kappa0, deltaTau: d, samples: M, burnInTau: B, eulerDtTau: h } = o;
  const T = M * d;
  const yStar = LAMBDA.map((_, j) => Q.reduce((acc, row, i) => acc + row[j] * X_STAR[i], 0));
  const varMode = LAMBDA.map((l) => {
    const s = h ? kappa0 / (l * (1 - (l * h) / 2)) : kappa0 / l;
    const rho = h ? (1 - l * h) ** (d / h) : Math.exp(-l * d);
    return (s / M) * ((1 + rho) / (1 - rho) - (2 * rho * (1 - rho ** M)) / (M * (1 - rho) ** 2));
  });
  const biasMode = LAMBDA.map((l, j) => (Math.abs(yStar[j]) * Math.exp(-l * B) * (1 - Math.exp(-l * T))) / (l * T));
  const sigma: number[] = [];
  const bias: number[] = [];
  for (let i = 0; i < N; i++) {
    let v = 0;
    let b = 0;
    for (let j = 0; j < N; j++) {
      v += Q[i][j] ** 2 * varMode[j];
      b += Math.abs(Q[i][j]) * biasMode[j];
    }
    sigma.push(Math.sqrt(v));
    bias.push(b);
  }
  return { sigma, bias, tolerance: sigma.map((s, i) => 5 * s + bias[i] + o.resolution) };
}

/** Error budget of the converters: ADC LSB on readouts, DAC LSB on A and g (cond(A) = 3). */
function resolution(ctx: CheckContext): number {
  const fs = ctx.caps.fullScale;
  const adc = ctx.caps.adcBits > 0 ? fs / 2 ** (ctx.caps.adcBits - 1) : 0;
  const dac = ctx.caps.dacBits > 0 ? 3 * 2 ** -(ctx.caps.dacBits - 1) * 2 : 0;
  return adc + dac;
}

async function loadKnown(ctx: CheckContext, cfg: Partial<RequestBody<'Configure'>>): Promise<void> {
  const { A, g } = knownSystem();
  await ctx.fresh();
  await ctx.configure(cfg);
  await ctx.dev.uploadCurvature(ctx.system(A, N));
  await ctx.dev.uploadGradient(g);
}

interface ScenarioJson {
  name: string;
  seed: number;
  profile: { name: string };
  ops: ({ op: string } & Record<string, unknown>)[];
  expected: { sha256: string };
}

const DIGESTS = fileURLToPath(new URL('../../../firmware-spec/vectors/emulator/digests.json', import.meta.url));

function wireConfig(c: Record<string, unknown>, sc: ScenarioJson): RequestBody<'Configure'> {
  return {
    kappa0: c.kappa0 as number,
    readout: 'both',
    samplePeriodTau: c.samplePeriodTau as number,
    windowTau: (c.windowTau as number | undefined) ?? 0,
    burnInTau: c.burnInTau as number,
    integrator: c.integrator as RequestBody<'Configure'>['integrator'],
    seed: sc.seed,
    profile: sc.profile.name,
  };
}

/** Replays one scenario through the driver; returns the digest as EMULATOR.md defines it. */
async function replay(ctx: CheckContext, sc: ScenarioJson): Promise<string> {
  const firstCfg = sc.ops.find((o) => o.op === 'configure');
  if (!firstCfg) throw new Error(`scenario ${sc.name} has no configure op`);
  await ctx.fresh();
  // The wire needs Configure before uploads (state IDLE); the scenario's own configure op, sent
  // again in its place, keeps seed and profile, so nothing is re-powered.
  await ctx.request('Configure', wireConfig(firstCfg.config as Record<string, unknown>, sc));
  const hash = createHash('sha256');
  const put = (v: Float64Array): void => void hash.update(Buffer.from(v.buffer, v.byteOffset, v.byteLength));
  const f64 = (v: unknown): Float64Array => Float64Array.from(v as number[]);
  let cells = 0;
  for (const o of sc.ops) {
    if (typeof o.n === 'number') cells = o.n;
    switch (o.op) {
      case 'setCurvatureDense':
        await ctx.dev.uploadCurvature({ form: 'dense', n: o.n as number, A: f64(o.A), lambda: (o.lambda as number | undefined) ?? 0 }, { dtype: 'f64' });
        break;
      case 'setCurvatureFactored': {
        const c = o.core as { kind: string } & Record<string, unknown>;
        const core: CoreInput =
          c.kind === 'identity' ? { kind: 'identity' }
          : c.kind === 'diagonal' ? { kind: 'diagonal', d: f64(c.d) }
          : c.kind === 'block' ? { kind: 'block', dz: c.dz as number, blocks: f64(c.blocks) }
          : { kind: 'dense', h: f64(c.h) };
        await ctx.dev.uploadCurvature({ form: 'factored', n: o.n as number, r: o.r as number, J: f64(o.J), core, scale: o.scale as number, lambda: o.lambda as number }, { dtype: 'f64' });
        break;
      }
      case 'setCurvatureLayered': {
        const c = o.core as { kind: string } & Record<string, unknown>;
        const core: CoreInput =
          c.kind === 'identity' ? { kind: 'identity' }
          : c.kind === 'diagonal' ? { kind: 'diagonal', d: f64(c.d) }
          : c.kind === 'block' ? { kind: 'block', dz: c.dz as number, blocks: f64(c.blocks) }
          : { kind: 'dense', h: f64(c.h) };
        const layers = (o.layers as Record<string, unknown>[]).map((l): LayerBlockInput =>
          l.kind === 'explicit' ? { kind: 'explicit', cols: l.cols as number, J: f64(l.J) }
          : { kind: 'dense', nIn: l.nIn as number, nOut: l.nOut as number, bias: l.bias as boolean, A: f64(l.A), D: f64(l.D) });
        await ctx.dev.uploadCurvature({ form: 'layered', n: o.n as number, r: o.r as number, b: o.b as number, layers, core, scale: o.scale as number, lambda: o.lambda as number }, { dtype: 'f64' });
        break;
      }
      case 'setGradient':
        await ctx.dev.uploadGradient(f64(o.g), { dtype: 'f64' });
        break;
      case 'setState':
        await ctx.dev.setState(f64(o.x), { dtype: 'f64' });
        break;
      case 'configure':
        await ctx.request('Configure', wireConfig(o.config as Record<string, unknown>, sc));
        break;
      case 'run': {
        const stream = o.stream === true;
        const h = ctx.dev.run({
          durationTau: o.durationTau as number,
          ...(o.start ? { start: o.start as 'carry' | 'reset' | 'gradient' } : {}),
          ...(o.delayTau ? { delayTau: o.delayTau as number } : {}),
          ...(stream ? { streamSamples: true } : {}),
        });
        const rows = new Map<number, Float64Array>();
        if (stream)
          for await (const b of h.samples()) {
            for (let k = 0; k < b.count; k++) {
              const key = b.firstSample + k;
              let row = rows.get(key);
              if (!row) rows.set(key, (row = new Float64Array(cells)));
              row.set(b.values.subarray(k * b.cells, (k + 1) * b.cells), b.cellOffset);
            }
          }
        const r = await h.result;
        put(r.mean!);
        put(r.final!);
        for (const k of [...rows.keys()].sort((a, b) => a - b)) put(rows.get(k)!);
        break;
      }
      default:
        throw new Error(`unknown scenario op ${o.op}`);
    }
  }
  return hash.digest('hex');
}

export const numericsChecks: CheckDef[] = [
  {
    id: 'numerics.mean',
    title: 'Time-averaged state of a known 4×4 SPD system = A⁻¹g within 5σ of the OU sampling error',
    async run(ctx) {
      const kappa0 = ctx.kappa(0.001);
      // Hardware integrates in continuous time; an emulator without the exact integrator uses Euler.
      const exact = ctx.has('exact-integrator') || !ctx.isEmulator;
      const h = 0.01;
      const deltaTau = 0.1;
      const burnInTau = 20;
      await loadKnown(ctx, { kappa0, samplePeriodTau: deltaTau, burnInTau, integrator: ctx.has('exact-integrator') ? { kind: 'exact' } : { kind: 'euler', dtTau: h } });
      const res = await ctx.dev.run({ durationTau: burnInTau + 1000, start: 'reset', timeoutMs: 60_000 }).result;
      const tol = meanTolerance({ kappa0, deltaTau, samples: res.sampleCount, burnInTau, ...(exact ? {} : { eulerDtTau: h }), resolution: resolution(ctx) });
      const err = X_STAR.map((x, i) => res.mean![i] - x);
      const z = err.map((e, i) => e / tol.sigma[i]);
      const details = { kappa0, samples: res.sampleCount, expected: X_STAR, mean: Array.from(res.mean!), sigma: tol.sigma, tolerance: tol.tolerance, z };
      ctx.expect(res.flags.length === 0, `run flags ${res.flags.join(',')}`, details);
      ctx.expect(
        err.every((e, i) => Math.abs(e) <= tol.tolerance[i]),
        `mean off by ${err.map((e) => e.toExponential(2)).join(', ')}; tolerance ${tol.tolerance.map((t) => t.toExponential(2)).join(', ')}`,
        details,
      );
      return details;
    },
  },
  {
    id: 'numerics.solve',
    title: 'With κ₀ = 0 the final state solves A x = g',
    skip: (ctx) => (ctx.caps.kappa0Min > 0 ? `the device cannot switch its noise off (kappa0Min = ${ctx.caps.kappa0Min})` : null),
    async run(ctx) {
      await loadKnown(ctx, { kappa0: 0 });
      const res = await ctx.dev.run({ durationTau: 40, start: 'reset' }).result;
      const err = Math.max(...X_STAR.map((x, i) => Math.abs(res.final![i] - x)));
      // e^{−λ_min·40} transient, plus the converters' resolution, plus f64 rounding.
      const tol = Math.exp(-40) + resolution(ctx) + 1e-12;
      ctx.expect(err <= tol, `max |x − A⁻¹g| = ${err.toExponential(3)} > ${tol.toExponential(3)}`, { final: Array.from(res.final!) });
      return { maxError: err, tolerance: tol };
    },
  },
  {
    id: 'numerics.golden',
    title: "Emulators: the canonical scenarios replayed over the wire give the golden SHA-256 digests",
    skip: (ctx) => (ctx.isEmulator ? null : "golden digests apply to devices declaring the 'emulator' feature"),
    async run(ctx) {
      const file = JSON.parse(readFileSync(DIGESTS, 'utf8')) as { numericsVersion: number; scenarios: ScenarioJson[] };
      const results: Record<string, string> = {};
      const bad: string[] = [];
      for (const sc of file.scenarios) {
        // the layered scenarios need the form itself (the explicit J it falls back to computes in another order)
        if (!ctx.has('layered-curvature') && sc.ops.some((o) => o.op === 'setCurvatureLayered')) {
          results[sc.name] = "skipped: no 'layered-curvature'";
          continue;
        }
        const got = await replay(ctx, sc);
        results[sc.name] = got === sc.expected.sha256 ? 'ok' : got.slice(0, 16);
        if (got !== sc.expected.sha256) bad.push(sc.name);
      }
      ctx.expect(bad.length === 0, `digest mismatch: ${bad.join(', ')}`, results);
      return { numericsVersion: file.numericsVersion, scenarios: file.scenarios.length, results };
    },
  },
];
