// Solve-accuracy experiments on the emulator's physics core (src/emulator/physics, SpuCore)
// driven directly, not through the wire protocol: used where the device URL / Configure cannot
// express a setting (custom DAC/ADC bits, mismatch σ) or where the quantity of interest is the
// solve itself. The system is a real damped GGN: A = (1/b) Jᵀ H J + λI and g = ∇ℓ from one
// Fashion-MNIST batch of the study network; the reference x* = A⁻¹g comes from the host's
// Woodbury solver in float64.
import { PROFILES, SpuCore } from '../../src/emulator/physics/index.ts';
import type { Integrator, Profile, StartMode } from '../../src/emulator/physics/index.ts';
import { makeBatchOracle } from '../../src/host-loop/batch-oracle.ts';
import type { Dataset } from '../../src/host-loop/data/dataset.ts';
import type { Model } from '../../src/host-loop/models/model.ts';
import { WoodburySolver } from '../../src/host-loop/linalg/woodbury.ts';
import type { CurvatureFactors, CurvatureKind } from '../../src/host-loop/types.ts';

export interface SolveSystem {
  f: CurvatureFactors;
  g: Float64Array;
  lambda: number;
  xStar: Float64Array;
  /** smallest and largest eigenvalue bounds: λ and λ + ‖F‖ (power iteration) */
  lambdaMin: number;
  lambdaMax: number;
}

function matvec(f: CurvatureFactors, lambda: number, v: Float64Array): Float64Array {
  const { n, r, J } = f;
  const u = new Float64Array(r);
  for (let k = 0; k < r; k++) {
    let s = 0;
    for (let j = 0; j < n; j++) s += J[k * n + j] * v[j];
    u[k] = s;
  }
  const hu = new Float64Array(r);
  const c = f.core;
  if (c.kind === 'identity') hu.set(u);
  else if (c.kind === 'diagonal') for (let k = 0; k < r; k++) hu[k] = c.d[k] * u[k];
  else if (c.kind === 'block') {
    const dz = c.dz;
    for (let b0 = 0; b0 < r; b0 += dz)
      for (let i = 0; i < dz; i++) {
        let s = 0;
        for (let j = 0; j < dz; j++) s += c.blocks[b0 * dz + i * dz + j] * u[b0 + j];
        hu[b0 + i] = s;
      }
  } else
    for (let i = 0; i < r; i++) {
      let s = 0;
      for (let j = 0; j < r; j++) s += c.h[i * r + j] * u[j];
      hu[i] = s;
    }
  const out = new Float64Array(n);
  for (let k = 0; k < r; k++) {
    const w = f.scale * hu[k];
    for (let j = 0; j < n; j++) out[j] += J[k * n + j] * w;
  }
  for (let j = 0; j < n; j++) out[j] += lambda * v[j];
  return out;
}

/** Largest eigenvalue of A by 60 power iterations (enough for a stability bound to ~1%). */
function largestEigenvalue(f: CurvatureFactors, lambda: number): number {
  let v = new Float64Array(f.n).fill(1 / Math.sqrt(f.n));
  let est = 0;
  for (let it = 0; it < 60; it++) {
    const w = matvec(f, lambda, v);
    const nrm = Math.hypot(...w);
    est = nrm;
    v = w.map((x) => x / nrm);
  }
  return est;
}

export function buildSystem(model: Model, params: Float64Array, ds: Dataset, first: number, b: number, lambda: number, kind: CurvatureKind = 'ggn'): SolveSystem {
  const X = ds.x.subarray(first * ds.d, (first + b) * ds.d);
  const y = ds.y.subarray(first, first + b);
  const o = makeBatchOracle(model, params, X, y, b, 'ce');
  const f = o.curvature(kind);
  const ws = new WoodburySolver();
  ws.factor(f, lambda);
  const xStar = new Float64Array(f.n);
  ws.solve(o.grad, xStar);
  return { f, g: o.grad, lambda, xStar, lambdaMin: lambda, lambdaMax: largestEigenvalue(f, lambda) };
}

export function relErr(x: Float64Array, ref: Float64Array): number {
  let e = 0;
  let n = 0;
  for (let i = 0; i < ref.length; i++) {
    e += (x[i] - ref[i]) ** 2;
    n += ref[i] ** 2;
  }
  return Math.sqrt(e / n);
}

export function cosine(x: Float64Array, ref: Float64Array): number {
  let d = 0;
  let a = 0;
  let b = 0;
  for (let i = 0; i < ref.length; i++) {
    d += x[i] * ref[i];
    a += x[i] * x[i];
    b += ref[i] * ref[i];
  }
  return d / Math.sqrt(a * b);
}

export function maxAbs(v: Float64Array): number {
  let m = 0;
  for (const x of v) m = Math.max(m, Math.abs(x));
  return m;
}

export interface RunSettings {
  kappa0: number;
  integrator: Integrator;
  tTau: number;
  start: StartMode;
}

export interface SolveOutcome {
  /** ADC readout of the final state, divided by the gain */
  final: Float64Array;
  relErrFinal: number;
  cosFinal: number;
  flags: string[];
  saturationCount: number;
  clipCount: number;
}

/**
 * One emulated device with `profile` holding one uploaded system (DAC quantisation and mismatch
 * applied once, as on hardware); run() may be called with different settings.
 */
export class StudyDevice {
  readonly core: SpuCore;
  constructor(
    readonly sys: SolveSystem,
    profile: Partial<Profile>,
    seed: number,
    /** g is multiplied by this before upload (gain staging); readouts are divided by it */
    readonly gain = 1,
  ) {
    this.core = new SpuCore({ maxCells: sys.f.n, maxRank: sys.f.r, profile: { ...PROFILES.ideal, ...profile, name: 'study' }, seed });
    this.core.setCurvatureFactored({ n: sys.f.n, r: sys.f.r, J: sys.f.J, core: sys.f.core, scale: sys.f.scale, lambda: sys.lambda });
    this.core.setGradient(sys.g.map((v) => v * gain));
  }

  run(s: RunSettings): SolveOutcome {
    const dt = s.integrator.kind === 'euler' ? s.integrator.dtTau : s.tTau;
    this.core.configure({ kappa0: s.kappa0, integrator: s.integrator, samplePeriodTau: dt, burnInTau: 0 });
    const r = this.core.run({ durationTau: s.tTau, start: s.start });
    const final = r.final.map((v) => v / this.gain);
    return { final, relErrFinal: relErr(final, this.sys.xStar), cosFinal: cosine(final, this.sys.xStar), flags: r.flags, saturationCount: r.saturationCount, clipCount: r.clipCount };
  }
}

/** A device kept across a sequence of systems (carry-over / reset experiments). */
export class SequenceDevice {
  readonly core: SpuCore;
  constructor(n: number, r: number, seed: number, profile: Partial<Profile> = {}) {
    this.core = new SpuCore({ maxCells: n, maxRank: r, profile: { ...PROFILES.ideal, ...profile, name: 'study' }, seed });
  }
  step(sys: SolveSystem, s: RunSettings): Float64Array {
    this.core.setCurvatureFactored({ n: sys.f.n, r: sys.f.r, J: sys.f.J, core: sys.f.core, scale: sys.f.scale, lambda: sys.lambda });
    this.core.setGradient(sys.g);
    const dt = s.integrator.kind === 'euler' ? s.integrator.dtTau : s.tTau;
    this.core.configure({ kappa0: s.kappa0, integrator: s.integrator, samplePeriodTau: dt, burnInTau: 0 });
    return this.core.run({ durationTau: s.tTau, start: s.start }).final;
  }
}
