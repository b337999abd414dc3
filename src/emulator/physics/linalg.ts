// Small deterministic dense kernels: symmetric eigendecomposition (Householder + implicit QR) and a Cholesky PD test.
// Loop orders are part of the bit-exact contract (firmware-spec/EMULATOR.md §Linear algebra).
import { hypotDet } from './detmath.ts';
import * as scalar from './kernels/scalar.ts';
import { instantiate } from './kernels/wasm.ts';

export { hypotDet };

export interface SymEigen {
  /** eigenvalues, in the (unsorted) order the QR iteration leaves them */
  values: Float64Array;
  /** n×n row-major, column j is the eigenvector of values[j] */
  vectors: Float64Array;
}



interface EigenOps {
  /** the Householder reduction (v_k in row k of A, β_k at B, the steps' k at K); returns their count */
  tridiag(A: number, n: number, B: number, K: number, p: number): number;
  hhacc(Q: number, n: number, np: number, V: number, B: number, K: number, nk: number): void;
  /** the QR iteration on (d, e) with its rotations applied to Q; returns the sweeps, −1 past 60·n */
  qrdrive(d: number, e: number, n: number, Q: number, np: number, S: number, CS: number, cap: number): number;
  /** Q's row pairs to row-major at out */
  unpair(Q: number, n: number, np: number, out: number): void;
}

/** Rotations recorded between two applications to Q (bounds the buffer, not the result). */
const rotationCapacity = (n: number) => Math.max(256, 32 * n);

/**
 * Work memory of one decomposition and its kernels, SIMD or scalar. Offsets in doubles: A (n×n;
 * once step k is done, row k's strict upper part holds v_k), Q as row pairs (np·2n), β, the vector p, the tridiagonal
 * (d, e), the rotations
 * (c, s); then, as i32, the applied reflector steps and the sweeps (l, cnt). i32 offsets are
 * twice the double offsets.
 */
function eigenWork(n: number, forceScalar: boolean) {
  const np = (n + 1) >> 1;
  const cap = rotationCapacity(n);
  const A = 0, Q = n * n, B = Q + 2 * np * n, p = B + n, d = p + n, e = d + n, cs = e + n;
  const ints = cs + 2 * cap; // i32 region: K (n entries), then S (2·cap entries)
  const doubles = ints + ((n + 1) >> 1) + cap + 2;
  const inst = forceScalar ? { memory: new ArrayBuffer(8 * doubles), kernels: null } : workMemory(8 * doubles);
  const m = new Float64Array(inst.memory, 0, doubles);
  const mi = new Int32Array(inst.memory, 0, 2 * doubles);
  const K = 2 * ints, S = K + n + (n & 1);
  const k = inst.kernels;
  const ops: EigenOps = k
    ? {
        tridiag: (a, nn, bb, kk, pp) => k.tridiag(8 * a, nn, 8 * bb, 4 * kk, 8 * pp),
        hhacc: (q, nn, npp, vv, bb, kk, nk) => k.hhacc(8 * q, nn, npp, 8 * vv, 8 * bb, 4 * kk, nk),
        qrdrive: (dd, ee, nn, q, npp, ss, c, cp) => k.qrdrive(8 * dd, 8 * ee, nn, 8 * q, npp, 4 * ss, 8 * c, cp),
        unpair: (q, nn, npp, o) => k.unpair(8 * q, nn, npp, 8 * o),
      }
    : {
        tridiag: (a, nn, bb, kk, pp) => scalar.tridiag(m, mi, a, nn, bb, kk, pp),
        hhacc: (q, nn, npp, vv, bb, kk, nk) => scalar.hhacc(m, mi, q, nn, npp, vv, bb, kk, nk),
        qrdrive: (dd, ee, nn, q, npp, ss, c, cp) => scalar.qrdrive(m, mi, dd, ee, nn, q, npp, ss, c, cp),
        unpair: (q, nn, npp, o) => scalar.unpair(m, q, nn, npp, o),
      };
  return { m, mi, ops, np, cap, A, Q, B, p, d, e, cs, K, S };
}

/** One reusable kernel memory for decompositions (they run one at a time), grown by replacing it. */
let work: ReturnType<typeof instantiate> | null = null;
let workBytes = 0;
function workMemory(bytes: number): ReturnType<typeof instantiate> {
  if (!work || workBytes < bytes) {
    work = instantiate(bytes);
    workBytes = work.memory.byteLength;
  }
  return work;
}

/**
 * Symmetric eigendecomposition (n×n row-major, not modified): Householder reduction to
 * tridiagonal form with accumulated reflectors, then implicit QR steps with Wilkinson shifts and
 * Givens rotations (Golub & Van Loan §8.3). The order of every operation is fixed (EMULATOR.md
 * §9.2), so the result is bit-reproducible.
 *
 * Neither the reflectors nor the rotations depend on Q, and each row of Q only ever combines with
 * itself, so both are recorded and applied to Q afterwards, eight rows at a time while they stay
 * in L1 (kernels hhacc and rotapply): every entry of Q sees the operations of §9.2 in their order.
 */
export function symmetricEigen(a0: Float64Array, n: number, opts: { scalarKernels?: boolean } = {}): SymEigen {
  const w = eigenWork(n, opts.scalarKernels === true);
  const { m: mem, ops, np } = w;
  const A = mem.subarray(w.A, w.A + n * n);
  A.set(a0.subarray(0, n * n));
  const Qp = mem.subarray(w.Q, w.Q + 2 * np * n);
  Qp.fill(0); // the work memory is reused
  for (let i = 0; i < n; i++) Qp[(i >> 1) * 2 * n + 2 * i + (i & 1)] = 1;
  const nk = ops.tridiag(w.A, n, w.B, w.K, w.p);
  ops.hhacc(w.Q, n, np, w.A, w.B, w.K, nk); // Q = H_0 H_1 ⋯ (each row: the reflectors in order)
  const d = mem.subarray(w.d, w.d + n);
  const e = mem.subarray(w.e, w.e + n); // e[i] couples i and i+1
  for (let i = 0; i < n; i++) d[i] = A[i * n + i];
  for (let i = 0; i + 1 < n; i++) e[i] = A[(i + 1) * n + i];
  e[n - 1] = 0;
  if (ops.qrdrive(w.d, w.e, n, w.Q, np, w.S, w.cs, w.cap) < 0) throw new Error('symmetricEigen: no convergence');
  ops.unpair(w.Q, n, np, w.A); // A's region is free again: the reflectors are applied
  const Q = mem.slice(w.A, w.A + n * n);
  return { values: Float64Array.from(d), vectors: Q };
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
