// Matrix-free application of the damped factored curvature A = scale·Jᵀ H J + λI.
import type { CoreMatrix, CurvatureFactors } from '../types.ts';
import { ShapeError } from './errors.ts';

/** Throws ShapeError unless J, the core and scale are consistent with (n, r). */
export function validateFactors(f: CurvatureFactors): void {
  const { n, r, J, core, scale } = f;
  if (!Number.isInteger(n) || n < 1) throw new ShapeError(`curvature n must be a positive integer, got ${n}`);
  if (!Number.isInteger(r) || r < 0) throw new ShapeError(`curvature r must be a non-negative integer, got ${r}`);
  if (J.length !== r * n) throw new ShapeError(`J has ${J.length} entries, expected r·n = ${r}·${n} = ${r * n}`);
  if (!Number.isFinite(scale) || scale < 0) throw new ShapeError(`curvature scale must be finite and ≥ 0, got ${scale}`);
  validateCore(core, r);
}

/** Throws ShapeError unless the core's shape fits r rows. */
export function validateCore(core: CoreMatrix, r: number): void {
  switch (core.kind) {
    case 'identity':
      return;
    case 'diagonal':
      if (core.d.length !== r) throw new ShapeError(`diagonal core has length ${core.d.length}, expected r = ${r}`);
      return;
    case 'block':
      if (!Number.isInteger(core.dz) || core.dz < 1 || r % core.dz !== 0)
        throw new ShapeError(`block core dz = ${core.dz} must be a positive integer dividing r = ${r}`);
      if (core.blocks.length !== r * core.dz)
        throw new ShapeError(`block core has ${core.blocks.length} entries, expected r·dz = ${r * core.dz}`);
      return;
    case 'dense':
      if (core.h.length !== r * r) throw new ShapeError(`dense core has ${core.h.length} entries, expected r² = ${r * r}`);
      return;
  }
}

/** out = H u for an r-dimensional u (out must not alias u). Cost: r, r·dz or r². */
export function applyCore(core: CoreMatrix, r: number, u: Float64Array, out: Float64Array): void {
  switch (core.kind) {
    case 'identity':
      for (let i = 0; i < r; i++) out[i] = u[i];
      return;
    case 'diagonal': {
      const d = core.d;
      for (let i = 0; i < r; i++) out[i] = d[i] * u[i];
      return;
    }
    case 'block': {
      const { dz, blocks } = core;
      for (let b0 = 0; b0 < r; b0 += dz) {
        const base = b0 * dz; // block b0/dz starts at (b0/dz)·dz² = b0·dz
        for (let i = 0; i < dz; i++) {
          let s = 0;
          const row = base + i * dz;
          for (let j = 0; j < dz; j++) s += blocks[row + j] * u[b0 + j];
          out[b0 + i] = s;
        }
      }
      return;
    }
    case 'dense': {
      const h = core.h;
      for (let i = 0; i < r; i++) {
        let s = 0;
        const row = i * r;
        for (let j = 0; j < r; j++) s += h[row + j] * u[j];
        out[i] = s;
      }
      return;
    }
  }
}

/**
 * v ↦ (scale·Jᵀ H J + λI) v in O(r·N + core cost), with scratch held across calls so the
 * inner loop of CG allocates nothing.
 */
export class FactoredOperator {
  readonly n: number;
  private readonly u: Float64Array;
  private readonly w: Float64Array;

  constructor(
    readonly factors: CurvatureFactors,
    readonly lambda: number,
  ) {
    validateFactors(factors);
    if (!Number.isFinite(lambda) || lambda < 0) throw new ShapeError(`damping λ must be finite and ≥ 0, got ${lambda}`);
    this.n = factors.n;
    this.u = new Float64Array(factors.r);
    this.w = new Float64Array(factors.r);
  }

  /** out = A v; out must not alias v. */
  apply(v: Float64Array, out: Float64Array): void {
    const { n, r, J, core, scale } = this.factors;
    if (v.length !== n || out.length !== n) throw new ShapeError(`operator expects vectors of length ${n}`);
    const u = this.u;
    const w = this.w;
    for (let i = 0; i < r; i++) {
      let s = 0;
      const row = i * n;
      for (let j = 0; j < n; j++) s += J[row + j] * v[j];
      u[i] = s;
    }
    applyCore(core, r, u, w);
    const lambda = this.lambda;
    for (let j = 0; j < n; j++) out[j] = lambda * v[j];
    for (let i = 0; i < r; i++) {
      const a = scale * w[i];
      if (a === 0) continue;
      const row = i * n;
      for (let j = 0; j < n; j++) out[j] += a * J[row + j];
    }
  }
}
