// Spectral data of a factored A = s·JᵀHJ + λI for the exact integrator (EMULATOR.md §9.2), with
// one eigendecomposition: the core C = s·H is factored C = L Lᵀ by (pivoted) Cholesky block by
// block, so A − λI = BᵀB with B = LᵀJ; the q×q matrix T = LᵀKL (K = JJᵀ the Gram) = W diag(μ) Wᵀ
// gives U = Jᵀ L W diag(μ^−½) = Jᵀ R with orthonormal columns and A = λI + U diag(μ) Uᵀ.
import { PhysicsError } from './errors.ts';
import { symmetricEigen } from './linalg.ts';
import { instantiate } from './kernels/wasm.ts';
import type { CoreSpec } from './couplings.ts';

/** Spectral form A = Σ_j a_j u_j u_jᵀ (+ λ on the orthogonal complement for factored A). */
export interface Spectral {
  /** number of explicit modes q */
  q: number;
  /** eigenvalues of A on the explicit modes (all > 0) */
  a: Float64Array;
  /**
   * Dense: the n×n eigenvector matrix Q (column j = mode j). Factored: the r×q matrix R with
   * U = Jᵀ R (U never formed).
   */
  basis: Float64Array;
}

/** Relative cut 2⁻⁴⁰ for Cholesky pivots and for the modes kept. */
const CUT = 9.094947017729282e-13;

/** C = L Lᵀ, L r×p with column c nonzero only on rows lo[c] … lo[c]+b−1 (its core block). */
export interface CoreFactor {
  p: number;
  lo: Int32Array;
  /** the block size b; column c's b entries (rows lo[c] … lo[c]+b−1) at Lc[c·b …] */
  b: number;
  Lc: Float64Array;
}

/** L as a dense r×p row-major matrix (for tests and diagnostics; the set-up uses Lc). */
export function denseFactor(f: CoreFactor, r: number): Float64Array {
  const L = new Float64Array(r * f.p);
  for (let c = 0; c < f.p; c++) for (let i = 0; i < f.b; i++) L[(f.lo[c] + i) * f.p + c] = f.Lc[c * f.b + i];
  return L;
}

/**
 * Pivoted Cholesky of one symmetric b×b block S (row-major, overwritten with its Schur
 * complements): pivot = the not-yet-pivoted index with the largest diagonal, > tol
 * (tol = 2⁻⁴⁰·max diagonal; ties to the lowest index); column: L_p = √S_pp, L_k = S_kp/√S_pp for
 * not-pivoted k ≠ p (+0 on pivoted rows); then S_ij = S_ij − L_i·L_j over not-pivoted i, j
 * (i outer, both ascending). Writes each pivot's column to out at `at`, `at + b`, … in pivot
 * order; returns the number of columns. `done` (length b) is scratch.
 */
function pivotedBlock(S: Float64Array, b: number, out: Float64Array, at: number, done: Uint8Array): number {
  let dmax = 0;
  for (let i = 0; i < b; i++) if (S[i * b + i] > dmax) dmax = S[i * b + i];
  const tol = CUT * dmax;
  done.fill(0);
  let cols = 0;
  for (;;) {
    let p = -1;
    let best = tol;
    for (let i = 0; i < b; i++) {
      if (!done[i] && S[i * b + i] > best) {
        best = S[i * b + i];
        p = i;
      }
    }
    if (p < 0) return cols;
    const piv = Math.sqrt(best);
    const col = at + cols * b;
    for (let i = 0; i < b; i++) out[col + i] = done[i] || i === p ? 0 : S[i * b + p] / piv;
    out[col + p] = piv;
    done[p] = 1;
    for (let i = 0; i < b; i++) {
      if (done[i]) continue;
      const li = out[col + i];
      for (let j = 0; j < b; j++) if (!done[j]) S[i * b + j] = S[i * b + j] - li * out[col + j];
    }
    cols++;
  }
}

/** The block factor of C = s·H (identity, diagonal: 1×1 blocks; block: d_z; dense: one r×r). */
export function factorCore(core: CoreSpec, r: number, s: number): CoreFactor {
  const dz = core.kind === 'block' ? core.dz : core.kind === 'dense' ? r : 1;
  const S = new Float64Array(dz * dz);
  const done = new Uint8Array(dz);
  const all = new Float64Array(r * dz); // at most r columns of dz entries
  const loAll = new Int32Array(r);
  let p = 0;
  for (let b0 = 0; b0 < r; b0 += dz) {
    for (let k = 0; k < dz; k++)
      for (let l = 0; l < dz; l++) {
        let c: number;
        if (core.kind === 'identity') c = s;
        else if (core.kind === 'diagonal') c = s * core.d[b0 + k];
        else if (core.kind === 'block') c = s * core.blocks[b0 * dz + k * dz + l];
        else c = s * core.h[k * r + l];
        S[k * dz + l] = c;
      }
    const made = pivotedBlock(S, dz, all, p * dz, done);
    loAll.fill(b0, p, p + made);
    p += made;
  }
  return { p, lo: loAll.slice(0, p), b: dz, Lc: all.slice(0, p * dz) };
}

/**
 * One reusable kernel memory for the set-up's products (set-ups run one at a time), grown by
 * replacing it; without WASM kernels (the scalar reference runs) it stays the small first one.
 */
let work: ReturnType<typeof instantiate> | null = null;
function workMemory(bytes: number): ReturnType<typeof instantiate> {
  if (!work) work = instantiate(65536);
  if (work.kernels && work.memory.byteLength < bytes) work = instantiate(bytes);
  return work;
}

/** Spectral data of s·JᵀHJ + λI from the Gram K (r×r) — EMULATOR.md §9.2, factored. */
export function factoredSpectral(K: Float64Array, r: number, core: CoreSpec, s: number, lambda: number, opts: { scalarKernels?: boolean } = {}): Spectral {
  const f = factorCore(core, r, s);
  const { p } = f;
  // offsets (doubles) of K, Lc, lo (i32), M, T in the products' memory; W, keep (i32), inv, Wk, R after
  const oK = 0, oL = oK + r * r, oLo = oL + even(p * f.b), oM = oLo + even(p) / 2, oT = oM + r * p;
  const oW = oT + p * p, oKeep = oW + p * p, oInv = oKeep + even(p) / 2, oWk = oInv + p, oR = oWk + p * p;
  const wk = opts.scalarKernels ? null : workMemory(8 * (oR + r * p)).kernels;
  let T: Float64Array;
  if (wk) {
    const m = new Float64Array(work!.memory);
    m.set(K.subarray(0, r * r), oK);
    m.set(f.Lc, oL);
    new Int32Array(work!.memory).set(f.lo, 2 * oLo);
    wk.ktl(8 * oK, r, 8 * oL, 8 * oLo, f.b, p, 8 * oM, 8 * oT);
    T = m.slice(oT, oT + p * p);
  } else T = productT(K, r, f);
  const et = p > 0 ? symmetricEigen(T, p, opts) : { values: new Float64Array(0), vectors: new Float64Array(0) };
  let mmax = 0;
  for (let j = 0; j < p; j++) if (et.values[j] > mmax) mmax = et.values[j];
  const keep: number[] = [];
  for (let j = 0; j < p; j++) if (et.values[j] > mmax * CUT) keep.push(j);
  const q = keep.length;
  const inv = new Float64Array(q);
  for (let j = 0; j < q; j++) inv[j] = 1 / Math.sqrt(et.values[keep[j]]);
  let R: Float64Array;
  if (wk) {
    const m = new Float64Array(work!.memory);
    m.set(et.vectors, oW);
    new Int32Array(work!.memory).set(keep, 2 * oKeep);
    m.set(inv, oInv);
    wk.rlw(8 * oL, 8 * oLo, f.b, p, r, 8 * oW, 8 * oKeep, q, 8 * oInv, 8 * oWk, 8 * oR);
    R = m.slice(oR, oR + r * q);
  } else R = productR(f, r, et.vectors, keep, inv);
  const aEig = new Float64Array(q);
  for (let j = 0; j < q; j++) {
    aEig[j] = lambda + et.values[keep[j]];
    if (!(aEig[j] > 0)) throw new PhysicsError('not-positive-definite', `factored A has eigenvalue ${aEig[j]}`);
  }
  return { q, a: aEig, basis: R };
}

const even = (k: number) => k + (k & 1);

/**
 * T = Lᵀ K L (p×p) by M = K·L (r×p), the scalar reference of kernel ktl. Loops run over each
 * column's b contiguous entries Lc; every sum keeps the order below.
 */
function productT(K: Float64Array, r: number, { p, lo, b, Lc }: CoreFactor): Float64Array {
  // M_ac = Σ_l ascending over column c's block K_al·L_lc.
  const M = new Float64Array(r * p);
  for (let a = 0; a < r; a++) {
    const krow = a * r;
    for (let c = 0; c < p; c++) {
      let acc = 0;
      const k0 = krow + lo[c], l0 = c * b;
      for (let i = 0; i < b; i++) acc = acc + K[k0 + i] * Lc[l0 + i];
      M[a * p + c] = acc;
    }
  }
  // T_cd = Σ_a ascending over column c's block L_ac·M_ad (c ≤ d, mirrored).
  const T = new Float64Array(p * p);
  const tcol = new Float64Array(p);
  for (let c = 0; c < p; c++) {
    tcol.fill(0);
    const m0 = lo[c] * p, l0 = c * b;
    for (let i = 0; i < b; i++) {
      const lac = Lc[l0 + i];
      const mrow = m0 + i * p;
      for (let d = c; d < p; d++) tcol[d] = tcol[d] + lac * M[mrow + d];
    }
    for (let d = c; d < p; d++) {
      T[c * p + d] = tcol[d];
      T[d * p + c] = tcol[d];
    }
  }
  return T;
}

/**
 * R = L·W_keep·diag(inv) (r×q), the scalar reference of kernel rlw: R_aj = (Σ_c ascending over
 * the columns whose block holds a L_ac·W_c,keep[j], from +0)·inv_j.
 */
function productR({ p, lo, b, Lc }: CoreFactor, r: number, W: Float64Array, keep: number[], inv: Float64Array): Float64Array {
  const q = keep.length;
  const R = new Float64Array(r * q);
  const Wk = new Float64Array(p * q); // the kept columns of W, row c contiguous
  for (let c = 0; c < p; c++) for (let j = 0; j < q; j++) Wk[c * q + j] = W[c * p + keep[j]];
  let c0 = 0; // columns are in block order: those of row a's block are c0 … c1−1
  for (let a = 0; a < r; a++) {
    while (c0 < p && lo[c0] + b <= a) c0++;
    let c1 = c0;
    while (c1 < p && lo[c1] <= a) c1++;
    const ra = a * q;
    for (let c = c0; c < c1; c++) {
      const lac = Lc[c * b + (a - lo[c])];
      const wr = c * q;
      for (let j = 0; j < q; j++) R[ra + j] = R[ra + j] + lac * Wk[wr + j];
    }
    for (let j = 0; j < q; j++) R[ra + j] = R[ra + j] * inv[j];
  }
  return R;
}
