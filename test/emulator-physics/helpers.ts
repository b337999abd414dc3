// Independent reference numerics for the tests (plain dense algebra with Math.*; never used by
// the emulator itself), plus small statistics helpers.
import type { CoreSpec } from '../../src/emulator/physics/index.ts';

export function matmul(a: Float64Array, b: Float64Array, n: number): Float64Array {
  const c = new Float64Array(n * n);
  for (let i = 0; i < n; i++) for (let k = 0; k < n; k++) for (let j = 0; j < n; j++) c[i * n + j] += a[i * n + k] * b[k * n + j];
  return c;
}

export function matvec(a: Float64Array, x: Float64Array, n: number): Float64Array {
  const y = new Float64Array(n);
  for (let i = 0; i < n; i++) for (let j = 0; j < n; j++) y[i] += a[i * n + j] * x[j];
  return y;
}

/** Gauss–Jordan inverse with partial pivoting. */
export function inverse(a0: Float64Array, n: number): Float64Array {
  const a = Float64Array.from(a0);
  const inv = new Float64Array(n * n);
  for (let i = 0; i < n; i++) inv[i * n + i] = 1;
  for (let c = 0; c < n; c++) {
    let p = c;
    for (let r = c + 1; r < n; r++) if (Math.abs(a[r * n + c]) > Math.abs(a[p * n + c])) p = r;
    for (let j = 0; j < n; j++) {
      [a[c * n + j], a[p * n + j]] = [a[p * n + j], a[c * n + j]];
      [inv[c * n + j], inv[p * n + j]] = [inv[p * n + j], inv[c * n + j]];
    }
    const d = a[c * n + c];
    for (let j = 0; j < n; j++) {
      a[c * n + j] /= d;
      inv[c * n + j] /= d;
    }
    for (let r = 0; r < n; r++) {
      if (r === c) continue;
      const f = a[r * n + c];
      if (f === 0) continue;
      for (let j = 0; j < n; j++) {
        a[r * n + j] -= f * a[c * n + j];
        inv[r * n + j] -= f * inv[c * n + j];
      }
    }
  }
  return inv;
}

/** e^{tM} by scaling and squaring a 24-term Taylor series. */
export function expm(m: Float64Array, n: number, t: number): Float64Array {
  let norm = 0;
  for (let i = 0; i < n * n; i++) norm = Math.max(norm, Math.abs(m[i] * t));
  const s = Math.max(0, Math.ceil(Math.log2(norm * n + 1)) + 2);
  const a = m.map((v) => (v * t) / 2 ** s);
  let term: Float64Array = new Float64Array(n * n);
  for (let i = 0; i < n; i++) term[i * n + i] = 1;
  let e: Float64Array = Float64Array.from(term);
  for (let k = 1; k <= 24; k++) {
    term = matmul(term, a, n).map((v) => v / k);
    e = e.map((v, i) => v + term[i]);
  }
  for (let i = 0; i < s; i++) e = matmul(e, e, n);
  return e;
}

/** Dense s·JᵀHJ + λI from factors (test reference). */
export function formFactored(n: number, r: number, J: Float64Array, core: CoreSpec, scale: number, lambda: number): Float64Array {
  const H = new Float64Array(r * r);
  if (core.kind === 'identity') for (let k = 0; k < r; k++) H[k * r + k] = 1;
  else if (core.kind === 'diagonal') for (let k = 0; k < r; k++) H[k * r + k] = core.d[k];
  else if (core.kind === 'block') {
    const dz = core.dz;
    for (let b = 0; b < r; b += dz) for (let k = 0; k < dz; k++) for (let l = 0; l < dz; l++) H[(b + k) * r + b + l] = core.blocks[b * dz + k * dz + l];
  } else H.set(core.h);
  const A = new Float64Array(n * n);
  for (let i = 0; i < n; i++)
    for (let j = 0; j < n; j++) {
      let s = 0;
      for (let k = 0; k < r; k++) for (let l = 0; l < r; l++) s += J[k * n + i] * H[k * r + l] * J[l * n + j];
      A[i * n + j] = scale * s + (i === j ? lambda : 0);
    }
  return A;
}

/** Deterministic pseudo-random test inputs (mulberry32; test data only). */
export function rng(seed: number): () => number {
  let a = seed >>> 0;
  return () => {
    a = (a + 0x6d2b79f5) >>> 0;
    let t = a;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
}

/** Symmetric positive-definite n×n: B Bᵀ/n + shift·I. */
export function randomSpd(n: number, seed: number, shift: number): Float64Array {
  const u = rng(seed);
  const B = new Float64Array(n * n).map(() => u() * 2 - 1);
  const A = new Float64Array(n * n);
  for (let i = 0; i < n; i++)
    for (let j = 0; j <= i; j++) {
      let s = 0;
      for (let k = 0; k < n; k++) s += B[i * n + k] * B[j * n + k];
      A[i * n + j] = A[j * n + i] = s / n + (i === j ? shift : 0);
    }
  return A;
}

/** Softmax-Hessian blocks diag(p) − ppᵀ (PSD, singular), b blocks of size dz. */
export function softmaxBlocks(b: number, dz: number, seed: number): Float64Array {
  const u = rng(seed);
  const out = new Float64Array(b * dz * dz);
  for (let k = 0; k < b; k++) {
    const e = Array.from({ length: dz }, () => Math.exp(2 * u()));
    const z = e.reduce((s, v) => s + v, 0);
    const p = e.map((v) => v / z);
    for (let i = 0; i < dz; i++) for (let j = 0; j < dz; j++) out[k * dz * dz + i * dz + j] = (i === j ? p[i] : 0) - p[i] * p[j];
  }
  return out;
}

/** Sample mean and covariance of rows (R×n). */
export function moments(rows: Float64Array[], n: number): { mean: Float64Array; cov: Float64Array } {
  const R = rows.length;
  const mean = new Float64Array(n);
  for (const x of rows) for (let i = 0; i < n; i++) mean[i] += x[i] / R;
  const cov = new Float64Array(n * n);
  for (const x of rows) for (let i = 0; i < n; i++) for (let j = 0; j < n; j++) cov[i * n + j] += ((x[i] - mean[i]) * (x[j] - mean[j])) / (R - 1);
  return { mean, cov };
}
