// Input checks shared by uploads and runs; each failure is a typed PhysicsError.
import { PhysicsError } from './errors.ts';
import { isPositiveDefinite } from './linalg.ts';

/** |state| beyond this is divergence (EMULATOR.md §9.1). */
export const DIVERGENCE_LIMIT = 1e150;
export const UINT32_MAX = 4294967295;

export function fail(code: ConstructorParameters<typeof PhysicsError>[0], msg: string): never {
  throw new PhysicsError(code, msg);
}

export function checkFinite(v: Float64Array, len: number, what: string): void {
  if (!(v instanceof Float64Array)) fail('shape', `${what} must be a Float64Array`);
  if (v.length !== len) fail('shape', `${what} has length ${v.length}, expected ${len}`);
  // One branch-free pass (x − x is 0 for finite x, NaN for ±∞ and NaN); the index only on failure.
  let s = 0;
  for (let i = 0; i < len; i++) s = s + (v[i] - v[i]);
  if (s === 0) return;
  for (let i = 0; i < len; i++) if (!Number.isFinite(v[i])) fail('non-finite', `${what}[${i}] = ${v[i]}`);
}

export function checkSymmetric(a: Float64Array, n: number, off: number, what: string): void {
  for (let i = 0; i < n; i++)
    for (let j = i + 1; j < n; j++)
      if (a[off + i * n + j] !== a[off + j * n + i]) fail('not-symmetric', `${what}[${i},${j}] ≠ [${j},${i}]`);
}

/** PSD test tolerant to rounding: Cholesky of B + ε·I, ε = 1e−10·(n·max|B_ii| + tiny). */
export function checkPsd(a: Float64Array, n: number, off: number, what: string): void {
  const b = Float64Array.from(a.subarray(off, off + n * n));
  let m = 0;
  for (let i = 0; i < n; i++) m = Math.max(m, Math.abs(b[i * n + i]));
  const eps = 1e-10 * (n * m) + 1e-300;
  for (let i = 0; i < n; i++) b[i * n + i] += eps;
  if (!isPositiveDefinite(b, n)) fail('not-positive-definite', `${what} is not positive semidefinite`);
}

/** Integer count of `unit` in `t` (τ); t must be a multiple within 1e−9 relative. */
export function countOf(t: number, unit: number, what: string): number {
  const c = Math.round(t / unit);
  if (!(Math.abs(c * unit - t) <= 1e-9 * Math.max(Math.abs(t), unit))) fail('config', `${what} = ${t} is not a multiple of ${unit}`);
  if (c > UINT32_MAX) fail('limit', `${what}: ${c} steps exceed 2^32 − 1`);
  return c;
}
