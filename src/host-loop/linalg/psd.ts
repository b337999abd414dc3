// PSD factorisation H ≈ L Lᵀ by diagonally pivoted Cholesky, stopping at the numerical rank.
// Softmax cross-entropy blocks diag(p) − p pᵀ are singular, so plain Cholesky cannot be used.
import { NotPsdError } from './errors.ts';

export interface PsdFactor {
  /** number of columns kept (numerical rank) */
  rank: number;
  /** column c of L is cols[c·n … c·n + n) */
  cols: Float64Array;
}

const EPS = 2.220446049250313e-16;

/**
 * Absolute floor of the rank cut. Loss Hessians arrive already rounded at O(ε) absolute
 * (a CE block p_i − p_i² with p_i ≈ 1 has error ~1e-16 however small the entry), so a
 * purely relative cut would flag rounding as indefiniteness. Dropping a direction of size
 * ≤ 1e-13 changes A by ≤ 1e-13·scale·‖J_i‖², negligible against any practical damping λ.
 */
export const PSD_ABS_TOL = 1e-13;

/**
 * Factors a symmetric PSD n×n matrix (row-major, read from `a` at `offset`) as L Lᵀ with
 * L n×rank. Stops when every remaining Schur-complement diagonal is ≤ tol, where
 * tol = max(max(relTol, 64·n·ε)·max|a_ij|, absTol); the neglected remainder has norm ≤ n·tol.
 * Throws NotPsdError when the remainder has an entry beyond 8·tol in magnitude (a PSD
 * remainder with diagonal ≤ tol has none), i.e. a clearly negative direction.
 * `work` (n² entries) and `colsOut` (n² entries) may be passed to avoid allocation.
 */
export function pivotedCholesky(
  a: Float64Array,
  n: number,
  offset = 0,
  relTol = 1e-12,
  absTol = PSD_ABS_TOL,
  work?: Float64Array,
  colsOut?: Float64Array,
  used?: Uint8Array,
): PsdFactor {
  const s = work && work.length >= n * n ? work : new Float64Array(n * n);
  let maxAbs = 0;
  for (let i = 0; i < n * n; i++) {
    const v = a[offset + i];
    if (!Number.isFinite(v)) throw new NotPsdError(`curvature core has a non-finite entry (${v})`);
    s[i] = v;
    if (Math.abs(v) > maxAbs) maxAbs = Math.abs(v);
  }
  const cols = colsOut && colsOut.length >= n * n ? colsOut : new Float64Array(n * n);
  const done = used && used.length >= n ? used : new Uint8Array(n);
  done.fill(0, 0, n);
  const tol = Math.max(Math.max(relTol, 64 * n * EPS) * maxAbs, absTol);
  let rank = 0;
  for (;;) {
    let p = -1;
    let best = tol;
    for (let i = 0; i < n; i++) {
      if (!done[i] && s[i * n + i] > best) {
        best = s[i * n + i];
        p = i;
      }
    }
    if (p < 0) break;
    const piv = Math.sqrt(best);
    const inv = 1 / piv;
    const c = rank * n;
    for (let i = 0; i < n; i++) cols[c + i] = done[i] ? 0 : s[i * n + p] * inv;
    cols[c + p] = piv;
    done[p] = 1;
    // Schur update on the rows/columns not yet pivoted.
    for (let i = 0; i < n; i++) {
      if (done[i]) continue;
      const li = cols[c + i];
      if (li === 0) continue;
      const ri = i * n;
      for (let j = 0; j < n; j++) if (!done[j]) s[ri + j] -= li * cols[c + j];
    }
    rank++;
  }
  // A PSD remainder with diagonal ≤ tol has |s_ij| ≤ tol; allow rounding slack.
  const slack = 8 * tol;
  for (let i = 0; i < n; i++) {
    if (done[i]) continue;
    for (let j = 0; j < n; j++) {
      if (done[j]) continue;
      const v = s[i * n + j];
      if ((i === j && v < -slack) || Math.abs(v) > slack)
        throw new NotPsdError(
          `curvature core is not positive semi-definite: after rank ${rank} the Schur complement has entry (${i},${j}) = ${v.toExponential(3)} (tolerance ${slack.toExponential(2)})`,
        );
    }
  }
  return { rank, cols };
}
