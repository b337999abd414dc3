// Host values → wire tensors in the device's dtype. f64 is exact; f32 rounds to nearest; i16
// becomes DAC codes relative to the device's full scale (values beyond it saturate and are
// counted). For factored curvature the driver first moves powers of two from J and the core into
// `scale` (exact in binary floating point), so J and H use the DAC range without saturating.
import { ITEM_SIZE, float64Bytes, tensorFromFloat64 } from '../protocol/index.ts';
import type { Capabilities, Dtype, WireTensor } from '../protocol/index.ts';
import { ArgumentError, CapabilityError } from './errors.ts';

export type NumericArray = Float64Array | Float32Array | ArrayLike<number>;

export type DtypeChoice = Dtype | 'auto';

/** Preferred dtype: the most precise the device accepts, unless the caller insists. */
export function chooseDtype(caps: Capabilities, want: DtypeChoice = 'auto'): Dtype {
  if (want !== 'auto') {
    if (!caps.dtypes.includes(want)) throw new CapabilityError('dtypes', caps.dtypes, want, `the device does not accept ${want} tensors (it accepts ${caps.dtypes.join(', ')})`);
    return want;
  }
  for (const d of ['f64', 'f32', 'i16'] as const) if (caps.dtypes.includes(d)) return d;
  throw new CapabilityError('dtypes', caps.dtypes, 'f64|f32|i16', 'the device declares no tensor dtype this host knows');
}

export function checkVector(name: string, v: NumericArray, length: number): void {
  if (v === null || typeof v !== 'object' || typeof (v as ArrayLike<number>).length !== 'number')
    throw new ArgumentError(`${name} must be an array of numbers`);
  if (v.length !== length) throw new ArgumentError(`${name} has ${v.length} values, expected ${length}`);
  if (v instanceof Float64Array || v instanceof Float32Array) {
    // every element is a number: x·0 is 0 for finite x, NaN otherwise (one branch-free pass)
    let probe = 0;
    for (let i = 0; i < v.length; i++) probe += v[i] * 0;
    if (probe === 0) return;
  }
  for (let i = 0; i < v.length; i++) {
    const x = v[i];
    if (typeof x !== 'number' || !Number.isFinite(x)) throw new ArgumentError(`${name}[${i}] = ${String(x)} is not a finite number`);
  }
}

export function maxAbs(v: NumericArray): number {
  let m = 0;
  for (let i = 0; i < v.length; i++) {
    const a = Math.abs(v[i]);
    if (a > m) m = a;
  }
  return m;
}

export interface Converted {
  tensor: WireTensor;
  /** i16 only: entries clamped to ±full scale */
  saturated: number;
}

/**
 * Packs values in `dtype`; i16 codes are relative to the device's full scale. An f64 tensor from
 * a Float64Array is a view of it (no copy on a little-endian host): the caller keeps it
 * unchanged until the upload settles.
 */
export function toWire(values: NumericArray, shape: number[], dtype: Dtype, fullScale: number): Converted {
  if (dtype === 'f64' && values instanceof Float64Array && values.length === shape.reduce((a, b) => a * b, 1))
    return { tensor: { dtype, shape: [...shape], order: 'le', data: float64Bytes(values) }, saturated: 0 };
  if (dtype !== 'i16') return { tensor: tensorFromFloat64(values, shape, dtype), saturated: 0 };
  // Use the finer of the tensor's own range and the device range: a tensor within full scale
  // keeps all 16 bits; one beyond it saturates at the rails, as the analog DAC would.
  const m = maxAbs(values);
  const fs = m > 0 && m < fullScale ? m : fullScale;
  let saturated = 0;
  for (let i = 0; i < values.length; i++) if (Math.abs(values[i]) > fs) saturated++;
  return { tensor: tensorFromFloat64(values, shape, 'i16', { fullScale: fs }), saturated };
}

/** Smallest k ≥ 0 with max|v| / 2^k ≤ limit; v scaled by 2^-k (exact). */
export function pow2Normalise(v: NumericArray, limit: number): { values: Float64Array; shift: number } {
  const m = maxAbs(v);
  let k = 0;
  while (m / 2 ** k > limit) k++;
  const out = Float64Array.from(v as ArrayLike<number>);
  if (k > 0) {
    const s = 2 ** -k;
    for (let i = 0; i < out.length; i++) out[i] *= s;
  }
  return { values: out, shift: k };
}

export function byteSize(shape: number[], dtype: Dtype): number {
  let n = ITEM_SIZE[dtype];
  for (const d of shape) n *= d;
  return n;
}
