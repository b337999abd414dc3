// Layered curvature input on the host: shape checks (so a bad call fails before anything is
// sent) and the expansion to the explicit factored J, which is what the driver sends to a device
// without the 'layered-curvature' feature. The expansion is the definition of the layered form's
// J (PROTOCOL.md §7.4.2): every entry is one product D·A (or a copy), so it is exact.
import { MAX_CURVATURE_LAYERS } from '../protocol/index.ts';
import type { Capabilities, Dtype, RequestBody, TensorOrRef } from '../protocol/index.ts';
import { checkVector, pow2Normalise, toWire } from './convert.ts';
import type { NumericArray } from './convert.ts';
import { ArgumentError, CapabilityError } from './errors.ts';
import type { CurvatureInput, LayerBlockInput } from './types.ts';
import { checkCells, checkFeature, coreSlotOf, nonNegative } from './uploads.ts';
import type { PreparedUpload, TensorSlot } from './uploads.ts';

type LayerWire = Extract<RequestBody<'Curvature'>, { form: 'layered' }>['layers'][number];

type LayeredInput = { n: number; r: number; b: number; layers: LayerBlockInput[] };

function checkCount(name: string, v: unknown, min = 1): asserts v is number {
  if (typeof v !== 'number' || !Number.isInteger(v) || v < min) throw new ArgumentError(`${name} must be an integer ≥ ${min}, got ${String(v)}`);
}

/** Columns of J a layer block covers. */
export function layerCols(l: LayerBlockInput): number {
  return l.kind === 'explicit' ? l.cols : l.nOut * l.nIn + (l.bias ? l.nOut : 0);
}

/**
 * Checks the layered structure against n, r, b: r a multiple of b, every block's tensors of the
 * right length and finite, Σ cols = n. Throws ArgumentError naming the first problem.
 */
export function checkLayered(input: LayeredInput, maxLayers = Infinity): void {
  const { n, r, b, layers } = input;
  checkCount('n', n);
  checkCount('r', r);
  checkCount('b', b);
  if (r % b !== 0) throw new ArgumentError(`r = ${r} must be a multiple of b = ${b} (r = b·m rows, m per sample)`);
  if (!Array.isArray(layers) || layers.length === 0) throw new ArgumentError('layers must be a non-empty array');
  if (layers.length > maxLayers) throw new ArgumentError(`${layers.length} layers exceed the limit of ${maxLayers}`);
  let cols = 0;
  layers.forEach((l, i) => {
    const at = `layers[${i}]`;
    if (!l || typeof l !== 'object') throw new ArgumentError(`${at} must be an object`);
    if (l.kind === 'explicit') {
      checkCount(`${at}.cols`, l.cols);
      checkVector(`${at}.J`, l.J, r * l.cols);
    } else if (l.kind === 'dense') {
      checkCount(`${at}.nIn`, l.nIn);
      checkCount(`${at}.nOut`, l.nOut);
      if (typeof l.bias !== 'boolean') throw new ArgumentError(`${at}.bias must be a boolean`);
      checkVector(`${at}.A`, l.A, b * l.nIn);
      checkVector(`${at}.D`, l.D, r * l.nOut);
    } else throw new ArgumentError(`${at}.kind must be 'explicit' or 'dense', got ${String((l as { kind: unknown }).kind)}`);
    cols += layerCols(l);
  });
  if (cols !== n) throw new ArgumentError(`the layers cover ${cols} columns, expected n = ${n}`);
}

/** The explicit J (r × n, row-major) a checked layered input stands for. */
export function expandLayeredJ(input: LayeredInput, out?: Float64Array): Float64Array {
  const { n, r, b, layers } = input;
  const m = r / b;
  const J = out && out.length >= r * n ? out.subarray(0, r * n) : new Float64Array(r * n);
  let c0 = 0;
  for (const l of layers) {
    if (l.kind === 'explicit') {
      const { cols, J: block } = l;
      for (let row = 0; row < r; row++) {
        const dst = row * n + c0;
        const src = row * cols;
        for (let k = 0; k < cols; k++) J[dst + k] = block[src + k];
      }
    } else {
      const { nIn, nOut, bias, A, D } = l;
      const biasAt = c0 + nOut * nIn;
      for (let row = 0; row < r; row++) {
        const a0 = Math.floor(row / m) * nIn;
        const base = row * n;
        for (let j = 0; j < nOut; j++) {
          const d = D[row * nOut + j];
          const dst = base + c0 + j * nIn;
          for (let t = 0; t < nIn; t++) J[dst + t] = d * A[a0 + t];
          if (bias) J[base + biasAt + j] = d;
        }
      }
    }
    c0 += layerCols(l);
  }
  return J;
}

/**
 * The layered Curvature request for a device with the feature 'layered-curvature' (PROTOCOL.md
 * §7.4.2): one slot per tensor (explicit blocks, each dense layer's A and D, the core). For i16
 * every block of J must carry the same power of two, since one `scale` multiplies all of JᵀHJ:
 * K = the largest shift any block needs; an explicit block is shifted by K, a dense layer's D by
 * what D needs and its A by the rest (K − that ≥ what A needs). A layer with bias shifts D by K
 * and leaves A as it is (its bias columns are D alone): inputs beyond full scale then clamp (and
 * are counted in `saturated`). All shifts are exact.
 */
export function prepareLayered(
  input: Extract<CurvatureInput, { form: 'layered' }>, caps: Capabilities, dtype: Dtype,
): PreparedUpload<'Curvature'> {
  checkFeature(caps, 'layered-curvature', 'a layered curvature');
  const { n, r, b, layers } = input;
  checkCells(caps, n);
  if (r > caps.maxRank) throw new CapabilityError('maxRank', caps.maxRank, r, `rank r = ${r} exceeds the device's maximum rank ${caps.maxRank}`);
  if (layers?.length > MAX_CURVATURE_LAYERS) throw new CapabilityError('layers', MAX_CURVATURE_LAYERS, layers.length, `${layers.length} layers exceed the protocol's ${MAX_CURVATURE_LAYERS}`);
  checkLayered(input);
  const lambda = nonNegative('lambda', input.lambda ?? 0);
  let scale = input.scale ?? 1;
  if (typeof scale !== 'number' || !Number.isFinite(scale) || scale <= 0) throw new ArgumentError(`scale must be a finite number > 0, got ${String(scale)}`);
  const fs = caps.fullScale;
  const needs = (v: NumericArray) => (dtype === 'i16' ? pow2Normalise(v, fs).shift : 0);
  // a bias column is D itself (times an implicit 1), so a layer with bias keeps A unshifted
  const needsA = (l: Extract<LayerBlockInput, { kind: 'dense' }>) => (l.bias ? 0 : needs(l.A));
  let K = 0;
  for (const l of layers) K = Math.max(K, l.kind === 'explicit' ? needs(l.J) : needs(l.D) + needsA(l));
  const shifted = (v: NumericArray, k: number): NumericArray => {
    if (k === 0) return v;
    const s = 2 ** -k;
    return Float64Array.from(v as ArrayLike<number>, (x) => x * s);
  };
  scale *= 4 ** K;
  const slots: TensorSlot[] = [];
  const builders: ((parts: TensorOrRef[]) => LayerWire)[] = [];
  layers.forEach((l, i) => {
    if (l.kind === 'explicit') {
      const at = slots.length;
      slots.push({ name: `layers[${i}].j`, ...toWire(shifted(l.J, K), [r, l.cols], dtype, fs) });
      builders.push((p) => ({ kind: 'explicit', j: p[at] }));
    } else {
      const kD = l.bias ? K : needs(l.D);
      const at = slots.length;
      slots.push({ name: `layers[${i}].a`, ...toWire(shifted(l.A, K - kD), [b, l.nIn], dtype, fs) });
      slots.push({ name: `layers[${i}].d`, ...toWire(shifted(l.D, kD), [r, l.nOut], dtype, fs) });
      const bias = l.bias;
      builders.push((p) => ({ kind: 'dense', bias, a: p[at], d: p[at + 1] }));
    }
  });
  const cs = coreSlotOf(input.core, r, dtype, fs);
  scale *= 2 ** cs.shift;
  const coreAt = slots.length;
  if (cs.slot) slots.push({ name: cs.slot.name, ...toWire(cs.slot.values, cs.slot.shape, dtype, fs) });
  const finalScale = scale;
  return {
    op: 'Curvature',
    n,
    r,
    dtype,
    slots,
    build: (parts) => ({ form: 'layered', n, r, b, layers: builders.map((f) => f(parts)), core: cs.build(parts[coreAt]), scale: finalScale, lambda }),
  };
}
