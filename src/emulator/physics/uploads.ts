// Realising an upload on the device (EMULATOR.md §6): validate completely, then DAC-quantise and
// apply the static mismatch, then build the immutable coupling. Nothing here touches the core's
// state, so a failed upload changes nothing.
import { checkFinite, checkPsd, checkSymmetric, fail } from './checks.ts';
import { DenseCoupling, FactoredCoupling, type CoreSpec } from './couplings.ts';
import { isPositiveDefinite } from './linalg.ts';
import { DOMAIN, gaussianAt } from './philox.ts';
import { dacQuantise, type Profile } from './profile.ts';
import type { FactoredCurvature, UploadOptions } from './types.ts';
import { LayeredCoupling, layerColumns, type LayerFactors, type LayeredCurvature } from './layered-coupling.ts';

/** What realising an upload needs from the device: its profile, key and limits. */
export interface DeviceTraits {
  profile: Readonly<Profile>;
  k0: number;
  k1: number;
  maxCells: number;
  maxRank: number;
  scalarKernels: boolean;
}

/** DAC-quantises v in place per the profile; returns the clamped count (0 without a DAC). */
export function dac(p: Readonly<Profile>, v: Float64Array): number {
  return p.dacBits === null ? 0 : dacQuantise(v, p.dacBits, p.dacRange);
}

/** Multiplies entry (row, col) of a coupling array by (1 + σ z), z from the mismatch stream. */
function mismatch(
  t: DeviceTraits, v: Float64Array, rows: number, cols: number, domain: number, symmetric: boolean, off = 0, rowBase = 0,
): void {
  const sigma = t.profile.mismatchSigma;
  if (sigma === 0) return;
  for (let i = 0; i < rows; i++) {
    for (let j = symmetric ? i : 0; j < cols; j++) {
      const z = gaussianAt(t.k0, t.k1, rowBase + i, 0, domain, rowBase + j);
      const f = 1 + sigma * z;
      v[off + i * cols + j] = v[off + i * cols + j] * f;
      if (symmetric && j !== i) v[off + j * cols + i] = v[off + j * cols + i] * f;
    }
  }
}

/** Dense symmetric A (+ λI if given), realised; throws (changing nothing) when invalid. */
export function realiseDense(
  t: DeviceTraits, n: number, A: Float64Array, lambda: number, opts: UploadOptions,
): { coupling: DenseCoupling; dacClips: number } {
  if (!Number.isInteger(n) || n < 1 || n > t.maxCells) fail('shape', `n = ${n} outside [1, ${t.maxCells}]`);
  checkFinite(A, n * n, 'A');
  if (!Number.isFinite(lambda) || lambda < 0) fail('non-finite', 'lambda must be finite and ≥ 0');
  checkSymmetric(A, n, 0, 'A');
  const a = opts.transfer ? A : Float64Array.from(A);
  if (lambda !== 0) for (let i = 0; i < n; i++) a[i * n + i] = a[i * n + i] + lambda;
  const clips = dac(t.profile, a);
  mismatch(t, a, n, n, DOMAIN.mismatchA, true);
  if (!isPositiveDefinite(a, n)) fail('not-positive-definite', 'A (as realised on the device) is not positive definite');
  return { coupling: new DenseCoupling(n, a), dacClips: clips };
}

/** Validated copy (or, with transfer, the arrays themselves) of a core H. */
function checkedCore(core: CoreSpec, r: number, opts: UploadOptions): CoreSpec {
  const cp = (v: Float64Array) => (opts.transfer ? v : Float64Array.from(v));
  switch (core?.kind) {
    case 'identity':
      return { kind: 'identity' };
    case 'diagonal':
      checkFinite(core.d, r, 'core.d');
      for (let k = 0; k < r; k++) if (core.d[k] < 0) fail('not-positive-definite', `core.d[${k}] < 0`);
      return { kind: 'diagonal', d: cp(core.d) };
    case 'block': {
      const dz = core.dz;
      if (!Number.isInteger(dz) || dz < 1 || r % dz !== 0) fail('shape', `block size ${dz} does not divide r = ${r}`);
      checkFinite(core.blocks, r * dz, 'core.blocks');
      for (let b = 0; b < r / dz; b++) {
        checkSymmetric(core.blocks, dz, b * dz * dz, `H block ${b}`);
        checkPsd(core.blocks, dz, b * dz * dz, `H block ${b}`);
      }
      return { kind: 'block', dz, blocks: cp(core.blocks) };
    }
    case 'dense':
      checkFinite(core.h, r * r, 'core.h');
      checkSymmetric(core.h, r, 0, 'H');
      checkPsd(core.h, r, 0, 'H');
      return { kind: 'dense', h: cp(core.h) };
    default:
      return fail('shape', 'unknown core kind');
  }
}

/** Factored A = s·JᵀHJ + λI, realised; same all-or-nothing validation. */
export function realiseFactored(
  t: DeviceTraits, f: FactoredCurvature, opts: UploadOptions,
): { coupling: FactoredCoupling; dacClips: number } {
  const { n, r, core, scale, lambda } = f;
  if (!Number.isInteger(n) || n < 1 || n > t.maxCells) fail('shape', `n = ${n} outside [1, ${t.maxCells}]`);
  if (!Number.isInteger(r) || r < 1 || r > t.maxRank) fail('shape', `r = ${r} outside [1, ${t.maxRank}]`);
  if (n * r > 2 ** 31) fail('limit', 'r·n too large');
  checkFinite(f.J, r * n, 'J');
  if (!Number.isFinite(scale) || !Number.isFinite(lambda)) fail('non-finite', 'scale and lambda must be finite');
  if (scale < 0) fail('not-positive-definite', 'scale must be ≥ 0');
  if (!(lambda > 0)) fail('not-positive-definite', 'lambda must be > 0');
  const h = checkedCore(core, r, opts);
  const J = opts.transfer ? f.J : Float64Array.from(f.J);
  const clips = dac(t.profile, J) + realiseCore(t, h, r);
  mismatch(t, J, r, n, DOMAIN.mismatchJ, false);
  return { coupling: new FactoredCoupling(n, r, J, h, scale, lambda, { scalarKernels: t.scalarKernels }), dacClips: clips };
}

/** DAC and mismatch of a checked core H in place (EMULATOR.md §6); returns the DAC clips. */
function realiseCore(t: DeviceTraits, h: CoreSpec, r: number): number {
  const p = t.profile;
  let clips = 0;
  if (h.kind === 'diagonal') {
    clips += dac(p, h.d);
    const d = h.d;
    const sigma = p.mismatchSigma;
    if (sigma > 0) for (let k = 0; k < r; k++) d[k] = d[k] * (1 + sigma * gaussianAt(t.k0, t.k1, k, 0, DOMAIN.mismatchH, k));
  } else if (h.kind === 'block') {
    clips += dac(p, h.blocks);
    const dz = h.dz;
    for (let b = 0; b < r / dz; b++) mismatch(t, h.blocks, dz, dz, DOMAIN.mismatchH, true, b * dz * dz, b * dz);
  } else if (h.kind === 'dense') {
    clips += dac(p, h.h);
    mismatch(t, h.h, r, r, DOMAIN.mismatchH, true);
  }
  return clips;
}

/**
 * Layered A = s·JᵀHJ + λI with J per layer (EMULATOR.md §6.1), realised; same all-or-nothing
 * validation as factored. The array holds the factors: each tensor is DAC-quantised on its own
 * (explicit blocks, A_l, D_l), explicit entries get J's mismatch at their global (row, column),
 * A_l[s,t] and D_l[ρ,j] their own static gain errors (streams (s, l) and (ρ, l)).
 */
export function realiseLayered(
  t: DeviceTraits, f: LayeredCurvature, opts: UploadOptions,
): { coupling: LayeredCoupling; dacClips: number } {
  const { n, r, b, core, scale, lambda } = f;
  if (!Number.isInteger(n) || n < 1 || n > t.maxCells) fail('shape', `n = ${n} outside [1, ${t.maxCells}]`);
  if (!Number.isInteger(r) || r < 1 || r > t.maxRank) fail('shape', `r = ${r} outside [1, ${t.maxRank}]`);
  if (!Number.isInteger(b) || b < 1 || r % b !== 0) fail('shape', `r = ${r} is not a multiple of b = ${b}`);
  if (!Array.isArray(f.layers) || f.layers.length < 1) fail('shape', 'no layers');
  let cols = 0;
  f.layers.forEach((l, i) => {
    if (l.kind === 'explicit') {
      if (!Number.isInteger(l.cols) || l.cols < 1) fail('shape', `layer ${i}: cols = ${l.cols}`);
      checkFinite(l.J, r * l.cols, `layer ${i} J`);
    } else if (l.kind === 'dense') {
      if (!Number.isInteger(l.nIn) || l.nIn < 1 || !Number.isInteger(l.nOut) || l.nOut < 1) fail('shape', `layer ${i}: nIn = ${l.nIn}, nOut = ${l.nOut}`);
      checkFinite(l.A, b * l.nIn, `layer ${i} A`);
      checkFinite(l.D, r * l.nOut, `layer ${i} D`);
    } else fail('shape', `layer ${i}: unknown kind`);
    cols += layerColumns(l);
  });
  if (cols !== n) fail('shape', `the layers cover ${cols} columns, n = ${n}`);
  if (!Number.isFinite(scale) || !Number.isFinite(lambda)) fail('non-finite', 'scale and lambda must be finite');
  if (scale < 0) fail('not-positive-definite', 'scale must be ≥ 0');
  if (!(lambda > 0)) fail('not-positive-definite', 'lambda must be > 0');
  const h = checkedCore(core, r, opts);
  const cp = (v: Float64Array) => (opts.transfer ? v : Float64Array.from(v));
  const p = t.profile;
  const sigma = p.mismatchSigma;
  let clips = realiseCore(t, h, r);
  let c0 = 0;
  const layers: LayerFactors[] = f.layers.map((l, li) => {
    let out: LayerFactors;
    if (l.kind === 'explicit') {
      const J = cp(l.J);
      clips += dac(p, J);
      if (sigma !== 0)
        for (let i = 0; i < r; i++)
          for (let k = 0; k < l.cols; k++) J[i * l.cols + k] = J[i * l.cols + k] * (1 + sigma * gaussianAt(t.k0, t.k1, i, 0, DOMAIN.mismatchJ, c0 + k));
      out = { kind: 'explicit', cols: l.cols, J };
    } else {
      const A = cp(l.A);
      const D = cp(l.D);
      clips += dac(p, A) + dac(p, D);
      if (sigma !== 0) {
        for (let s = 0; s < b; s++)
          for (let k = 0; k < l.nIn; k++) A[s * l.nIn + k] = A[s * l.nIn + k] * (1 + sigma * gaussianAt(t.k0, t.k1, s, li, DOMAIN.mismatchLayerA, k));
        for (let i = 0; i < r; i++)
          for (let j = 0; j < l.nOut; j++) D[i * l.nOut + j] = D[i * l.nOut + j] * (1 + sigma * gaussianAt(t.k0, t.k1, i, li, DOMAIN.mismatchLayerD, j));
      }
      out = { kind: 'dense', nIn: l.nIn, nOut: l.nOut, bias: l.bias, A, D };
    }
    c0 += layerColumns(l);
    return out;
  });
  return { coupling: new LayeredCoupling(n, r, b, layers, h, scale, lambda, { scalarKernels: t.scalarKernels }), dacClips: clips };
}
