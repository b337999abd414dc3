// Woodbury solve of (λI + scale·Jᵀ H J) x = v on layered factors: the capacitance matrix comes from
// the structured Gram J Jᵀ (r × r, from the layers: O(b²·Σ nIn + r²·Σ nOut)), and each solve uses
// two structured products, so neither U = √scale·LᵀJ (k × N) nor J is ever formed.
// With H = L Lᵀ (pivoted Cholesky per block, as WoodburySolver), U Uᵀ = scale · Lᵀ (J Jᵀ) L and
//     A⁻¹v = λ⁻¹ (v − scale · Jᵀ L K⁻¹ Lᵀ J v),   K = λI_k + scale · Lᵀ (J Jᵀ) L.
import type { CoreMatrix, LayeredFactors } from '../types.ts';
import { choleskyInPlace, choleskySolve } from './dense.ts';
import { NotPsdError, ShapeError } from './errors.ts';
import { layeredGram, layeredJtw, layeredJx, LayeredScratch, validateLayered } from './layered.ts';
import { PSD_ABS_TOL, pivotedCholesky } from './psd.ts';

/** Columns of L (H = L Lᵀ, rank-cut), each supported on rows start … start + len. */
export interface CoreFactor {
  k: number;
  start: Int32Array;
  len: Int32Array;
  /** column c's coefficients at coef[off[c] …] */
  off: Int32Array;
  coef: Float64Array;
}

/** The rank-cut factor L of the core with the tolerances WoodburySolver uses. */
export function coreFactor(core: CoreMatrix, r: number): CoreFactor {
  const start: number[] = [];
  const len: number[] = [];
  const off: number[] = [];
  const coef: number[] = [];
  const push = (s: number, vals: ArrayLike<number>, from: number, l: number): void => {
    start.push(s);
    len.push(l);
    off.push(coef.length);
    for (let i = 0; i < l; i++) coef.push(vals[from + i]);
  };
  switch (core.kind) {
    case 'identity':
      for (let i = 0; i < r; i++) push(i, [1], 0, 1);
      break;
    case 'diagonal': {
      let dmax = 0;
      for (let i = 0; i < r; i++) dmax = Math.max(dmax, Math.abs(core.d[i]));
      const tol = Math.max(1e-12 * dmax, PSD_ABS_TOL);
      for (let i = 0; i < r; i++) {
        const d = core.d[i];
        if (d < -8 * tol) throw new NotPsdError(`diagonal core entry ${i} is negative (${d})`);
        if (d > tol) push(i, [Math.sqrt(d)], 0, 1);
      }
      break;
    }
    case 'block': {
      const dz = core.dz;
      const work = new Float64Array(dz * dz);
      const cols = new Float64Array(dz * dz);
      const used = new Uint8Array(dz);
      for (let b0 = 0; b0 < r; b0 += dz) {
        const pf = pivotedCholesky(core.blocks, dz, b0 * dz, 1e-12, PSD_ABS_TOL, work, cols, used);
        for (let c = 0; c < pf.rank; c++) push(b0, pf.cols, c * dz, dz);
      }
      break;
    }
    case 'dense': {
      const pf = pivotedCholesky(core.h, r);
      for (let c = 0; c < pf.rank; c++) push(0, pf.cols, c * r, r);
      break;
    }
  }
  return { k: start.length, start: Int32Array.from(start), len: Int32Array.from(len), off: Int32Array.from(off), coef: Float64Array.from(coef) };
}

export class LayeredWoodburySolver {
  private f: LayeredFactors | null = null;
  private L: CoreFactor | null = null;
  private lambda = 1;
  private kmat = new Float64Array(0);
  private u = new Float64Array(0);
  private t = new Float64Array(0);
  private readonly scratch = new LayeredScratch();

  get rank(): number {
    return this.L?.k ?? 0;
  }

  /** Prepares the solver for new factors (kept by reference until the next factor call). */
  factor(f: LayeredFactors, lambda: number): void {
    validateLayered(f);
    if (!(lambda > 0) || !Number.isFinite(lambda)) throw new ShapeError(`Woodbury needs damping λ > 0, got ${lambda}`);
    const { r, scale } = f;
    const L = scale > 0 ? coreFactor(f.core, r) : coreFactor({ kind: 'diagonal', d: new Float64Array(r) }, r);
    const { k, start, len, off, coef } = L;
    const G = layeredGram(f);
    // M = G L (r × k), then K = λI + scale · Lᵀ M
    const M = new Float64Array(r * k);
    for (let c = 0; c < k; c++) {
      const s0 = start[c];
      const o = off[c];
      for (let q = 0; q < len[c]; q++) {
        const l = coef[o + q];
        if (l === 0) continue;
        const gc = s0 + q;
        for (let i = 0; i < r; i++) M[i * k + c] += G[i * r + gc] * l;
      }
    }
    if (this.kmat.length < k * k) this.kmat = new Float64Array(k * k);
    const km = this.kmat;
    for (let a = 0; a < k; a++)
      for (let c = 0; c <= a; c++) {
        let s = 0;
        const o = off[a];
        for (let q = 0; q < len[a]; q++) s += coef[o + q] * M[(start[a] + q) * k + c];
        km[a * k + c] = scale * s;
        km[c * k + a] = scale * s;
      }
    for (let a = 0; a < k; a++) km[a * k + a] += lambda;
    choleskyInPlace(km, k, 'Woodbury capacitance matrix λI + U Uᵀ (layered)');
    this.f = f;
    this.L = L;
    this.lambda = lambda;
    if (this.u.length < r) this.u = new Float64Array(r);
    if (this.t.length < k) this.t = new Float64Array(k);
  }

  /** out = A⁻¹ v; out may alias v. */
  solve(v: Float64Array, out: Float64Array): void {
    const f = this.f;
    const L = this.L;
    if (!f || !L) throw new ShapeError('Woodbury solve before factor');
    const { n, r, scale } = f;
    if (v.length !== n || out.length !== n) throw new ShapeError(`Woodbury solve expects vectors of length ${n}`);
    const { k, start, len, off, coef } = L;
    const u = this.u.subarray(0, r);
    const t = this.t.subarray(0, k);
    layeredJx(f, v, u, this.scratch);
    for (let a = 0; a < k; a++) {
      let s = 0;
      for (let q = 0; q < len[a]; q++) s += coef[off[a] + q] * u[start[a] + q];
      t[a] = s;
    }
    choleskySolve(this.kmat, k, t, t);
    u.fill(0);
    for (let a = 0; a < k; a++) for (let q = 0; q < len[a]; q++) u[start[a] + q] += coef[off[a] + q] * t[a];
    if (out !== v) out.set(v);
    layeredJtw(f, u, out, this.scratch, true, -scale);
    const inv = 1 / this.lambda;
    for (let j = 0; j < n; j++) out[j] *= inv;
  }
}
