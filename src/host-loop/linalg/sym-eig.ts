// Eigendecomposition of a small symmetric matrix by cyclic Jacobi rotations (K-FAC's Kronecker
// factors, n ≤ a few hundred). Jacobi is chosen over tridiagonal QR for its accuracy on tiny
// eigenvalues (relative, not absolute to ‖A‖), which the damped inverse 1/(d + λ) depends on.
import { ShapeError } from './errors.ts';

export interface SymEig {
  n: number;
  /** eigenvalues, ascending */
  values: Float64Array;
  /** n × n row-major; column k is the unit eigenvector of values[k] */
  vectors: Float64Array;
  /** rotation sweeps used */
  sweeps: number;
}

const MAX_SWEEPS = 60;

/** A = Q diag(d) Qᵀ for symmetric A (row-major n×n, not modified; only its upper triangle is read). */
export function symmetricEigen(A: Float64Array, n: number): SymEig {
  if (!Number.isInteger(n) || n < 1 || A.length < n * n) throw new ShapeError(`symmetricEigen: need an ${n}×${n} matrix, got ${A.length} entries`);
  const a = new Float64Array(n * n);
  for (let i = 0; i < n; i++)
    for (let j = i; j < n; j++) {
      a[i * n + j] = A[i * n + j];
      a[j * n + i] = A[i * n + j];
    }
  const v = new Float64Array(n * n);
  for (let i = 0; i < n; i++) v[i * n + i] = 1;
  let total = 0;
  for (let i = 0; i < n * n; i++) total += a[i] * a[i];
  // stop when the off-diagonal mass is below rounding of the whole matrix
  const tiny = 1e-30 * total + Number.MIN_VALUE;
  let sweeps = 0;
  for (; sweeps < MAX_SWEEPS; sweeps++) {
    let off = 0;
    for (let p = 0; p < n; p++) for (let q = p + 1; q < n; q++) off += a[p * n + q] * a[p * n + q];
    if (off <= tiny) break;
    for (let p = 0; p < n - 1; p++)
      for (let q = p + 1; q < n; q++) {
        const apq = a[p * n + q];
        if (apq === 0) continue;
        const app = a[p * n + p];
        const aqq = a[q * n + q];
        // negligible against both diagonal entries: rotating would not change them in float64
        if (Math.abs(apq) < 1e-18 * Math.sqrt(Math.abs(app * aqq))) {
          a[p * n + q] = 0;
          a[q * n + p] = 0;
          continue;
        }
        const theta = (aqq - app) / (2 * apq);
        const t = (theta >= 0 ? 1 : -1) / (Math.abs(theta) + Math.sqrt(theta * theta + 1));
        const c = 1 / Math.sqrt(t * t + 1);
        const s = t * c;
        // A ← Pᵀ A P with P the rotation in the (p, q) plane: columns, then rows
        for (let k = 0; k < n; k++) {
          const kp = a[k * n + p];
          const kq = a[k * n + q];
          a[k * n + p] = c * kp - s * kq;
          a[k * n + q] = s * kp + c * kq;
        }
        const po = p * n;
        const qo = q * n;
        for (let k = 0; k < n; k++) {
          const pk = a[po + k];
          const qk = a[qo + k];
          a[po + k] = c * pk - s * qk;
          a[qo + k] = s * pk + c * qk;
        }
        a[po + q] = 0;
        a[qo + p] = 0;
        for (let k = 0; k < n; k++) {
          const kp = v[k * n + p];
          const kq = v[k * n + q];
          v[k * n + p] = c * kp - s * kq;
          v[k * n + q] = s * kp + c * kq;
        }
      }
  }
  const order = Array.from({ length: n }, (_, i) => i).sort((i, j) => a[i * n + i] - a[j * n + j]);
  const values = new Float64Array(n);
  const vectors = new Float64Array(n * n);
  order.forEach((src, k) => {
    values[k] = a[src * n + src];
    for (let i = 0; i < n; i++) vectors[i * n + k] = v[i * n + src];
  });
  return { n, values, vectors, sweeps };
}
