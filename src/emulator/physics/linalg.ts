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
  qacc(Q: number, n: number, k1: number, v: number, t: number, beta: number): void;
  rotseq(Q: number, n: number, l: number, cnt: number, cs: number): void;
}

/** Work memory of one decomposition (offsets in doubles) and its kernels, SIMD or scalar. */
function eigenWork(n: number, forceScalar: boolean) {
  const A = 0, Q = n * n, v = 2 * n * n, p = v + n, t = p + n, cs = t + n;
  const doubles = cs + 2 * n + 2;
  const inst = forceScalar ? { memory: new ArrayBuffer(8 * doubles), kernels: null } : workMemory(8 * doubles);
  const m = new Float64Array(inst.memory, 0, doubles);
  const k = inst.kernels;
  const ops: EigenOps = k
    ? {
        symv: (a, nn, k1, vv, pp) => k.symv(8 * a, nn, k1, 8 * vv, 8 * pp),
        rank2: (a, nn, k1, vv, ww) => k.rank2(8 * a, nn, k1, 8 * vv, 8 * ww),
        qacc: (q, nn, k1, vv, tt, b) => k.qacc(8 * q, nn, k1, 8 * vv, 8 * tt, b),
        rotseq: (q, nn, l, cnt, c) => k.rotseq(8 * q, nn, l, cnt, 8 * c),
      }
    : {
        symv: (a, nn, k1, vv, pp) => scalar.symv(m, a, nn, k1, vv, pp),
        rank2: (a, nn, k1, vv, ww) => scalar.rank2(m, a, nn, k1, vv, ww),
        qacc: (q, nn, k1, vv, tt, b) => scalar.qacc(m, q, nn, k1, vv, tt, b),
        rotseq: (q, nn, l, cnt, c) => scalar.rotseq(m, q, nn, l, cnt, c),
      };
  return { m, ops, A, Q, v, p, t, cs };
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
 * Givens rotations (Golub & Van Loan §8.3). O(10 n³); the order of every operation is fixed
 * (EMULATOR.md §9.2), so the result is bit-reproducible.
 */
export function symmetricEigen(a0: Float64Array, n: number, opts: { scalarKernels?: boolean } = {}): SymEigen {
  // Work memory (kernels/wasm.ts): A, then Qᵀ (row j = column j of Q, so reflectors and rotations
  // stream contiguous rows), then v, p, t. Every entry sees the operations of §9.2 in order.
  const w = eigenWork(n, opts.scalarKernels === true);
  const { m: mem, ops } = w;
  const A = mem.subarray(w.A, w.A + n * n);
  A.set(a0.subarray(0, n * n));
  const Qt = mem.subarray(w.Q, w.Q + n * n);
  Qt.fill(0); // the work memory is reused
  for (let i = 0; i < n; i++) Qt[i * n + i] = 1;
  const v = mem.subarray(w.v, w.v + n);
  const p = mem.subarray(w.p, w.p + n);
  for (let k = 0; k + 2 < n; k++) {
    let tail = 0;
    for (let i = k + 2; i < n; i++) tail = tail + A[i * n + k] * A[i * n + k];
    if (tail === 0) continue;
    const x0 = A[(k + 1) * n + k];
    const sigma = x0 * x0 + tail;
    const alpha = x0 >= 0 ? -Math.sqrt(sigma) : Math.sqrt(sigma);
    v[k + 1] = x0 - alpha;
    for (let i = k + 2; i < n; i++) v[i] = A[i * n + k];
    let vtv = 0;
    for (let i = k + 1; i < n; i++) vtv = vtv + v[i] * v[i];
    const beta = 2 / vtv;
    ops.symv(w.A, n, k + 1, w.v, w.p); // p_i = Σ_j A_ij·v_j
    let pv = 0;
    for (let i = k + 1; i < n; i++) {
      p[i] = beta * p[i];
      pv = pv + p[i] * v[i];
    }
    const K = (beta / 2) * pv;
    for (let i = k + 1; i < n; i++) p[i] = p[i] - K * v[i]; // w
    ops.rank2(w.A, n, k + 1, w.v, w.p);
    A[(k + 1) * n + k] = alpha;
    A[k * n + k + 1] = alpha;
    for (let i = k + 2; i < n; i++) {
      A[i * n + k] = 0;
      A[k * n + i] = 0;
    }
    ops.qacc(w.Q, n, k + 1, w.v, w.t, beta); // Q ← Q(I − β v vᵀ)
  }
  const d = new Float64Array(n);
  const e = new Float64Array(n); // e[i] couples i and i+1
  for (let i = 0; i < n; i++) d[i] = A[i * n + i];
  for (let i = 0; i + 1 < n; i++) e[i] = A[(i + 1) * n + i];

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
    // Wilkinson shift from the trailing 2×2 of the block l..m.
    const dd = (d[m - 1] - d[m]) / 2;
    const bm = e[m - 1];
    const den = dd >= 0 ? dd + hypotDet(dd, bm) : dd - hypotDet(dd, bm);
    const mu = d[m] - (bm * bm) / den;
    let x = d[l] - mu;
    let z = e[l];
    for (let k = l; k < m; k++) {
      const r = hypotDet(x, z);
      const c = r === 0 ? 1 : x / r;
      const s = r === 0 ? 0 : z / r;
      if (k > l) e[k - 1] = r;
      const al = d[k], be = e[k], ga = d[k + 1];
      const cs = c * s;
      d[k] = ((c * c) * al + (2 * cs) * be) + (s * s) * ga;
      d[k + 1] = ((s * s) * al - (2 * cs) * be) + (c * c) * ga;
      e[k] = cs * (ga - al) + (c * c - s * s) * be;
      if (k + 1 < m) {
        const de = e[k + 1];
        z = s * de;
        e[k + 1] = c * de;
        x = e[k];
      }
      mem[w.cs + 2 * (k - l)] = c;
      mem[w.cs + 2 * (k - l) + 1] = s;
    }
    ops.rotseq(w.Q, n, l, m - l, w.cs); // the sweep's rotations on Qᵀ rows l … m, in order
  }
  const Q = new Float64Array(n * n);
  for (let i = 0; i < n; i++) for (let j = 0; j < n; j++) Q[i * n + j] = Qt[j * n + i];
  return { values: d, vectors: Q };
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
