// The curvature upload rules (PROTOCOL.md §7.4.1, EMULATOR.md §6 step 1), checked on the values as
// uploaded, before anything is loaded: a Curvature request that breaks one is refused with
// OUT_OF_RANGE and detail {reason, field, …}, and nothing changes. What is left to the run is only
// what depends on the device's realisation (a dense A + λI that DAC quantisation and mismatch make
// indefinite is committed and its runs report `not-positive-definite`).
import { ErrorCode, ValueRangeError } from '../../protocol/index.ts';
import { isPositiveDefinite } from '../physics/linalg.ts';
import type { CurvatureLoad } from './uploads.ts';

export type CurvatureRuleReason = 'not-symmetric' | 'lambda-not-positive' | 'negative-diagonal' | 'not-positive-semidefinite';

function refuse(reason: CurvatureRuleReason, field: string, message: string, extra: Record<string, number> = {}): never {
  throw new ValueRangeError(ErrorCode.OUT_OF_RANGE, message, { reason, field, ...extra });
}

/** First (i, j), i < j, row-major, with a[i,j] ≠ a[j,i]; null when exactly symmetric. */
function asymmetry(a: Float64Array, m: number, off: number): [number, number] | null {
  for (let i = 0; i < m; i++) for (let j = i + 1; j < m; j++) if (a[off + i * m + j] !== a[off + j * m + i]) return [i, j];
  return null;
}

/** PSD as the spec defines it: Cholesky of H + εI with ε = 1e−10·(m·max_i |H_ii|) + 1e−300 has positive pivots. */
export function isPsdForUpload(a: Float64Array, m: number, off = 0): boolean {
  const b = Float64Array.from(a.subarray(off, off + m * m));
  let mx = 0;
  for (let i = 0; i < m; i++) mx = Math.max(mx, Math.abs(b[i * m + i]));
  const eps = 1e-10 * (m * mx) + 1e-300;
  for (let i = 0; i < m; i++) b[i * m + i] = b[i * m + i] + eps;
  return isPositiveDefinite(b, m);
}

function symmetricPsd(a: Float64Array, m: number, off: number, field: string, extra: Record<string, number>, what: string): void {
  const ij = asymmetry(a, m, off);
  if (ij) refuse('not-symmetric', field, `${what} is not exactly symmetric: [${ij[0]},${ij[1]}] ≠ [${ij[1]},${ij[0]}] (symmetrise it before upload, PROTOCOL.md §7.4)`, { ...extra, row: ij[0], col: ij[1] });
  if (!isPsdForUpload(a, m, off)) refuse('not-positive-semidefinite', field, `${what} is not positive semidefinite`, extra);
}

/** Throws OUT_OF_RANGE (detail.reason, detail.field) when the upload breaks a curvature rule. */
export function checkCurvatureRules(load: CurvatureLoad): void {
  if (load.form === 'dense') {
    const ij = asymmetry(load.a, load.n, 0);
    if (ij) refuse('not-symmetric', 'a', `A is not exactly symmetric: [${ij[0]},${ij[1]}] ≠ [${ij[1]},${ij[0]}] (symmetrise it before upload, PROTOCOL.md §7.4)`, { row: ij[0], col: ij[1] });
    return;
  }
  const { f, r } = load;
  if (!(f.lambda > 0)) refuse('lambda-not-positive', 'lambda', `factored curvature needs lambda > 0 (A = s·JᵀHJ + λI is otherwise singular), got ${f.lambda}`);
  const c = f.core;
  switch (c.kind) {
    case 'identity':
      return;
    case 'diagonal':
      for (let k = 0; k < r; k++) if (!(c.d[k] >= 0)) refuse('negative-diagonal', 'core.d', `core.d[${k}] = ${c.d[k]} < 0: H must be positive semidefinite`, { index: k });
      return;
    case 'block':
      for (let b = 0; b < r / c.dz; b++) symmetricPsd(c.blocks, c.dz, b * c.dz * c.dz, 'core.blocks', { block: b }, `H block ${b}`);
      return;
    case 'dense':
      symmetricPsd(c.h, r, 0, 'core.h', {}, 'H');
      return;
  }
}
