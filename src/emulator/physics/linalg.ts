// Small deterministic dense kernels: cyclic Jacobi eigendecomposition and a Cholesky PD test.
// Loop orders are part of the bit-exact contract (firmware-spec/EMULATOR.md §Linear algebra).

export interface SymEigen {
  /** eigenvalues, in the (unsorted) order Jacobi leaves them */
  values: Float64Array;
  /** n×n row-major, column j is the eigenvector of values[j] */
  vectors: Float64Array;
}

/**
 * Cyclic Jacobi on a symmetric n×n row-major matrix (not modified). Sweeps pairs p < q in row
 * order; a pair with |a_pq| ≤ 2^−53·√|a_pp·a_qq| is set to zero without a rotation (relative
 * convergence); stops after a sweep without rotations, or after 60 sweeps.
 */
export function jacobiEigen(a0: Float64Array, n: number): SymEigen {
  const a = Float64Array.from(a0.subarray(0, n * n));
  const v = new Float64Array(n * n);
  for (let i = 0; i < n; i++) v[i * n + i] = 1;
  for (let sweep = 0; sweep < 60; sweep++) {
    let rotations = 0;
    for (let p = 0; p < n - 1; p++) {
      for (let q = p + 1; q < n; q++) {
        const apq = a[p * n + q];
        if (apq === 0) continue;
        if (Math.abs(apq) <= 1.1102230246251565e-16 * Math.sqrt(Math.abs(a[p * n + p] * a[q * n + q]))) {
          a[p * n + q] = 0;
          a[q * n + p] = 0;
          continue;
        }
        rotations++;
        const theta = (a[q * n + q] - a[p * n + p]) / (2 * apq);
        const at = Math.abs(theta);
        let t = at > 1e150 ? 1 / (2 * at) : 1 / (at + Math.sqrt(at * at + 1));
        if (theta < 0) t = -t;
        const c = 1 / Math.sqrt(t * t + 1);
        const s = t * c;
        // A ← Gᵀ A G on rows/cols p, q.
        for (let k = 0; k < n; k++) {
          const akp = a[k * n + p];
          const akq = a[k * n + q];
          a[k * n + p] = c * akp - s * akq;
          a[k * n + q] = s * akp + c * akq;
        }
        for (let k = 0; k < n; k++) {
          const apk = a[p * n + k];
          const aqk = a[q * n + k];
          a[p * n + k] = c * apk - s * aqk;
          a[q * n + k] = s * apk + c * aqk;
        }
        for (let k = 0; k < n; k++) {
          const vkp = v[k * n + p];
          const vkq = v[k * n + q];
          v[k * n + p] = c * vkp - s * vkq;
          v[k * n + q] = s * vkp + c * vkq;
        }
      }
    }
    if (rotations === 0) break;
  }
  const values = new Float64Array(n);
  for (let i = 0; i < n; i++) values[i] = a[i * n + i];
  return { values, vectors: v };
}

/** True when the symmetric n×n matrix admits a Cholesky factor with positive pivots. */
export function isPositiveDefinite(a: Float64Array, n: number): boolean {
  const l = new Float64Array(n * n);
  for (let j = 0; j < n; j++) {
    let d = a[j * n + j];
    for (let k = 0; k < j; k++) d = d - l[j * n + k] * l[j * n + k];
    if (!(d > 0)) return false;
    const ljj = Math.sqrt(d);
    l[j * n + j] = ljj;
    for (let i = j + 1; i < n; i++) {
      let s = a[i * n + j];
      for (let k = 0; k < j; k++) s = s - l[i * n + k] * l[j * n + k];
      l[i * n + j] = s / ljj;
    }
  }
  return true;
}

/** Minimum and maximum-magnitude eigenvalue of a symmetric matrix (for PSD checks). */
export function eigRange(a: Float64Array, n: number): { min: number; maxAbs: number } {
  const { values } = jacobiEigen(a, n);
  let min = Infinity;
  let maxAbs = 0;
  for (let i = 0; i < n; i++) {
    if (values[i] < min) min = values[i];
    if (Math.abs(values[i]) > maxAbs) maxAbs = Math.abs(values[i]);
  }
  return { min, maxAbs };
}
