// Small deterministic dense kernels: symmetric eigendecomposition (Householder + implicit QR) and a Cholesky PD test.
// Loop orders are part of the bit-exact contract (firmware-spec/EMULATOR.md §Linear algebra).
import * as scalar from './kernels/scalar.ts';
import { instantiate } from './kernels/wasm.ts';

export interface SymEigen {
  /** eigenvalues, in the (unsorted) order the QR iteration leaves them */
  values: Float64Array;
  /** n×n row-major, column j is the eigenvector of values[j] */
  vectors: Float64Array;
}

/** √(x² + y²) without overflow, from + − × ÷ √ only (Math.hypot varies between engines). */
export function hypotDet(x: number, y: number): number {
  const ax = Math.abs(x);
  const ay = Math.abs(y);
  const m = ax > ay ? ax : ay;
  if (m === 0) return 0;
  const u = ax / m;
  const v = ay / m;
  return m * Math.sqrt(u * u + v * v);
}

const EPS = 2.220446049250313e-16;

interface EigenOps {
  symv(A: number, n: number, k1: number, v: number, p: number): void;
  rank2(A: number, n: number, k1: number, v: number, w: number): void;
  hhacc(Q: number, n: number, np: number, V: number, B: number, K: number, nk: number): void;
  rotapply(Q: number, n: number, np: number, S: number, ns: number, CS: number): void;
  qrsweep(d: number, e: number, l: number, m: number, cs: number): void;
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
        symv: (a, nn, k1, vv, pp) => k.symv(8 * a, nn, k1, 8 * vv, 8 * pp),
        rank2: (a, nn, k1, vv, ww) => k.rank2(8 * a, nn, k1, 8 * vv, 8 * ww),
        hhacc: (q, nn, npp, vv, bb, kk, nk) => k.hhacc(8 * q, nn, npp, 8 * vv, 8 * bb, 4 * kk, nk),
        rotapply: (q, nn, npp, ss, ns, c) => k.rotapply(8 * q, nn, npp, 4 * ss, ns, 8 * c),
        qrsweep: (dd, ee, l, hi, c) => k.qrsweep(8 * dd, 8 * ee, l, hi, 8 * c),
      }
    : {
        symv: (a, nn, k1, vv, pp) => scalar.symv(m, a, nn, k1, vv, pp),
        rank2: (a, nn, k1, vv, ww) => scalar.rank2(m, a, nn, k1, vv, ww),
        hhacc: (q, nn, npp, vv, bb, kk, nk) => scalar.hhacc(m, mi, q, nn, npp, vv, bb, kk, nk),
        rotapply: (q, nn, npp, ss, ns, c) => scalar.rotapply(m, mi, q, nn, npp, ss, ns, c),
        qrsweep: (dd, ee, l, hi, c) => scalar.qrsweep(m, dd, ee, l, hi, c),
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
  const { m: mem, mi, ops, np } = w;
  const A = mem.subarray(w.A, w.A + n * n);
  A.set(a0.subarray(0, n * n));
  const Qp = mem.subarray(w.Q, w.Q + 2 * np * n);
  Qp.fill(0); // the work memory is reused
  for (let i = 0; i < n; i++) Qp[(i >> 1) * 2 * n + 2 * i + (i & 1)] = 1;
  const p = mem.subarray(w.p, w.p + n);
  let nk = 0;
  for (let k = 0; k + 2 < n; k++) {
    let tail = 0;
    for (let i = k + 2; i < n; i++) tail = tail + A[i * n + k] * A[i * n + k];
    if (tail === 0) continue;
    // v_k (entries k+1 … n−1) goes to row k of A above the diagonal: that row is never read again
    // (later steps touch rows and columns > k; d and e come from the diagonal and below).
    const vo = w.A + k * n;
    const x0 = A[(k + 1) * n + k];
    const sigma = x0 * x0 + tail;
    const alpha = x0 >= 0 ? -Math.sqrt(sigma) : Math.sqrt(sigma);
    mem[vo + k + 1] = x0 - alpha;
    for (let i = k + 2; i < n; i++) mem[vo + i] = A[i * n + k];
    let vtv = 0;
    for (let i = k + 1; i < n; i++) vtv = vtv + mem[vo + i] * mem[vo + i];
    const beta = 2 / vtv;
    ops.symv(w.A, n, k + 1, vo, w.p); // p_i = Σ_j A_ij·v_j
    let pv = 0;
    for (let i = k + 1; i < n; i++) {
      p[i] = beta * p[i];
      pv = pv + p[i] * mem[vo + i];
    }
    const K = (beta / 2) * pv;
    for (let i = k + 1; i < n; i++) p[i] = p[i] - K * mem[vo + i]; // w
    ops.rank2(w.A, n, k + 1, vo, w.p);
    A[(k + 1) * n + k] = alpha;
    for (let i = k + 2; i < n; i++) A[i * n + k] = 0;
    mem[w.B + k] = beta;
    mi[w.K + nk++] = k;
  }
  ops.hhacc(w.Q, n, np, w.A, w.B, w.K, nk); // Q = H_0 H_1 ⋯ (each row: the reflectors in order)
  const d = mem.subarray(w.d, w.d + n);
  const e = mem.subarray(w.e, w.e + n); // e[i] couples i and i+1
  for (let i = 0; i < n; i++) d[i] = A[i * n + i];
  for (let i = 0; i + 1 < n; i++) e[i] = A[(i + 1) * n + i];
  e[n - 1] = 0;

  let sweeps = 0; // recorded, not yet applied to Q
  let used = 0; // rotations recorded
  const flush = () => {
    if (sweeps > 0) ops.rotapply(w.Q, n, np, w.S, sweeps, w.cs);
    sweeps = 0;
    used = 0;
  };
  let m = n - 1;
  let iterations = 0;
  while (m > 0) {
    if (Math.abs(e[m - 1]) <= EPS * (Math.abs(d[m - 1]) + Math.abs(d[m]))) {
      e[m - 1] = 0;
      m--;
      continue;
    }
    let l = m - 1;
    while (l > 0 && !(Math.abs(e[l - 1]) <= EPS * (Math.abs(d[l - 1]) + Math.abs(d[l])))) l--;
    if (l > 0) e[l - 1] = 0;
    if (++iterations > 60 * n) throw new Error('symmetricEigen: no convergence');
    if (used + (m - l) > w.cap) flush();
    mi[w.S + 2 * sweeps] = l;
    mi[w.S + 2 * sweeps + 1] = m - l;
    sweeps++;
    // Wilkinson shift from the trailing 2×2 of the block l..m, then the sweep's rotations.
    ops.qrsweep(w.d, w.e, l, m, w.cs + 2 * used);
    used += m - l;
  }
  flush();
  const Q = new Float64Array(n * n);
  for (let i = 0; i < n; i++) {
    const base = (i >> 1) * 2 * n + (i & 1);
    for (let j = 0; j < n; j++) Q[i * n + j] = Qp[base + 2 * j];
  }
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
