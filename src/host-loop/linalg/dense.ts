// Dense symmetric positive-definite algebra for small N (exact NGD and reference solutions).
import type { CurvatureFactors } from '../types.ts';
import { NotPositiveDefiniteError, ShapeError } from './errors.ts';
import { applyCore, validateFactors } from './factored.ts';

/**
 * Forms A = scale·Jᵀ H J + λI (N×N row-major) directly from H — no PSD factorisation — so it
 * serves as an independent reference. O(core·N + r·N²) time, N² memory. `out` is reused if given.
 */
export function formDenseCurvature(f: CurvatureFactors, lambda: number, out?: Float64Array): Float64Array {
  validateFactors(f);
  const { n, r, J, core, scale } = f;
  const a = out ?? new Float64Array(n * n);
  if (a.length !== n * n) throw new ShapeError(`output has ${a.length} entries, expected N² = ${n * n}`);
  a.fill(0);
  // M = H J, column by column of J (each column is an r-vector).
  const m = new Float64Array(r * n);
  const col = new Float64Array(r);
  const hcol = new Float64Array(r);
  for (let j = 0; j < n; j++) {
    for (let i = 0; i < r; i++) col[i] = J[i * n + j];
    applyCore(core, r, col, hcol);
    for (let i = 0; i < r; i++) m[i * n + j] = hcol[i];
  }
  // Upper triangle of Σ_i J_iᵀ M_i, then mirror: the result is symmetric by construction.
  for (let i = 0; i < r; i++) {
    const row = i * n;
    for (let p = 0; p < n; p++) {
      const c = scale * J[row + p];
      if (c === 0) continue;
      const ap = p * n;
      for (let q = p; q < n; q++) a[ap + q] += c * m[row + q];
    }
  }
  for (let p = 0; p < n; p++) {
    a[p * n + p] += lambda;
    for (let q = p + 1; q < n; q++) a[q * n + p] = a[p * n + q];
  }
  return a;
}

/**
 * In-place Cholesky A = L Lᵀ of an n×n SPD matrix (row-major); the lower triangle of `a` becomes L,
 * the strict upper triangle is zeroed. Throws NotPositiveDefiniteError on a non-positive pivot.
 */
export function choleskyInPlace(a: Float64Array, n: number, context = 'matrix'): void {
  if (a.length < n * n) throw new ShapeError(`Cholesky input has ${a.length} entries, expected ${n * n}`);
  for (let j = 0; j < n; j++) {
    const rj = j * n;
    let d = a[rj + j];
    for (let k = 0; k < j; k++) d -= a[rj + k] * a[rj + k];
    if (!(d > 0)) throw new NotPositiveDefiniteError(j, d, context);
    const ljj = Math.sqrt(d);
    a[rj + j] = ljj;
    const inv = 1 / ljj;
    for (let i = j + 1; i < n; i++) {
      const ri = i * n;
      let s = a[ri + j];
      for (let k = 0; k < j; k++) s -= a[ri + k] * a[rj + k];
      a[ri + j] = s * inv;
    }
    for (let q = j + 1; q < n; q++) a[rj + q] = 0;
  }
}

/** Solves L Lᵀ x = b given the factor from choleskyInPlace; out may alias b. */
export function choleskySolve(l: Float64Array, n: number, b: Float64Array, out: Float64Array): void {
  if (out !== b) for (let i = 0; i < n; i++) out[i] = b[i];
  // forward: L y = b (row i of L is contiguous)
  for (let i = 0; i < n; i++) {
    const ri = i * n;
    let s = out[i];
    for (let k = 0; k < i; k++) s -= l[ri + k] * out[k];
    out[i] = s / l[ri + i];
  }
  // backward: Lᵀ x = y, column-oriented so we still walk rows of L
  for (let i = n - 1; i >= 0; i--) {
    const ri = i * n;
    const xi = out[i] / l[ri + i];
    out[i] = xi;
    for (let k = 0; k < i; k++) out[k] -= l[ri + k] * xi;
  }
}
