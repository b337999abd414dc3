// Wire tensors: raw little-endian bytes in a MessagePack bin, with dtype and shape explicit.
// i16 carries DAC codes: value = code · scale.
import { z } from 'zod';
import { ErrorCode, SchemaError, ValueRangeError } from './errors.ts';
import { crc32c } from './crc32c.ts';

export const DTYPES = ['f64', 'f32', 'i16'] as const;
export type Dtype = (typeof DTYPES)[number];
export const ITEM_SIZE: Record<Dtype, number> = { f64: 8, f32: 4, i16: 2 };
/** Largest DAC code magnitude; codes saturate symmetrically to ±I16_MAX_CODE. */
export const I16_MAX_CODE = 32767;

/** True when this host stores numbers little-endian, as the wire does (then f64 bytes can be viewed). */
export const HOST_IS_LITTLE_ENDIAN = new Uint8Array(new Uint16Array([1]).buffer)[0] === 1;

export const MAX_TENSOR_RANK = 4;
const U32_MAX = 0xffffffff;

/** MessagePack bin (Uint8Array / Buffer in JS). JSON Schema marks it with x-msgpack-type. */
export const BinSchema = z
  .custom<Uint8Array>((v) => v instanceof Uint8Array, { message: 'expected MessagePack bin' })
  .meta({ description: 'MessagePack bin (raw bytes)', 'x-msgpack-type': 'bin' });

export const DtypeSchema = z.enum(DTYPES);

export const TensorSchema = z
  .object({
    dtype: DtypeSchema,
    shape: z.array(z.number().int().min(0).max(U32_MAX)).min(1).max(MAX_TENSOR_RANK),
    order: z.literal('le'),
    data: BinSchema,
    scale: z.number().positive().optional().meta({ description: 'required for i16: value = code · scale' }),
  })
  .superRefine((t, ctx) => {
    const want = tensorByteLength(t.dtype, t.shape);
    if (t.data.length !== want)
      ctx.addIssue({ code: 'custom', message: `data has ${t.data.length} bytes, dtype×shape needs ${want}`, path: ['data'], params: { wireCode: ErrorCode.TENSOR_INVALID } });
    if (t.dtype === 'i16' && t.scale === undefined) ctx.addIssue({ code: 'custom', message: 'i16 tensor needs scale', path: ['scale'], params: { wireCode: ErrorCode.TENSOR_INVALID } });
  })
  .meta({ id: 'Tensor', description: 'Row-major tensor, little-endian elements in a bin' });
export type WireTensor = z.infer<typeof TensorSchema>;

export function tensorElementCount(shape: readonly number[]): number {
  let n = 1;
  for (const d of shape) n *= d;
  return n;
}

export function tensorByteLength(dtype: Dtype, shape: readonly number[]): number {
  return tensorElementCount(shape) * ITEM_SIZE[dtype];
}

/** Throws SchemaError(TENSOR_INVALID) unless byte length and i16 scale are consistent. */
export function assertTensor(t: WireTensor): void {
  const want = tensorByteLength(t.dtype, t.shape);
  if (t.data.length !== want)
    throw new SchemaError(ErrorCode.TENSOR_INVALID, `tensor data has ${t.data.length} bytes, ${t.dtype}${JSON.stringify(t.shape)} needs ${want}`);
  if (t.dtype === 'i16' && !(typeof t.scale === 'number' && t.scale > 0 && Number.isFinite(t.scale)))
    throw new SchemaError(ErrorCode.TENSOR_INVALID, 'i16 tensor needs a positive finite scale');
}

/** Round half away from zero (C `lround`), exact for every double. */
export function roundHalfAway(x: number): number {
  const t = Math.trunc(x);
  return Math.abs(x - t) >= 0.5 ? t + Math.sign(x) : t;
}

export interface I16Options {
  /** Value represented by code ±32767; default: max |value| (or 1 when all values are 0). */
  fullScale?: number;
  /** Explicit scale (value per code); overrides fullScale. */
  scale?: number;
}

export interface QuantizeResult {
  codes: Int16Array;
  scale: number;
  /** Number of values whose code was clamped to ±32767. */
  saturated: number;
}

/** value → code = clamp(round_half_away(value / scale), ±32767). NaN is rejected. */
export function quantizeI16(values: ArrayLike<number>, opts: I16Options = {}): QuantizeResult {
  let scale = opts.scale;
  if (scale === undefined) {
    let fs = opts.fullScale;
    if (fs === undefined) {
      fs = 0;
      for (let i = 0; i < values.length; i++) fs = Math.max(fs, Math.abs(values[i]));
      if (!(fs > 0) || !Number.isFinite(fs)) fs = fs === 0 ? 1 : fs;
    }
    // a subnormal full scale underflows; the smallest positive scale keeps it representable
    scale = fs / I16_MAX_CODE || Number.MIN_VALUE;
  }
  if (!(scale > 0) || !Number.isFinite(scale)) throw new ValueRangeError(ErrorCode.OUT_OF_RANGE, `i16 scale must be positive and finite, got ${scale}`);
  const codes = new Int16Array(values.length);
  let saturated = 0;
  for (let i = 0; i < values.length; i++) {
    const v = values[i];
    if (Number.isNaN(v)) throw new ValueRangeError(ErrorCode.NON_FINITE_VALUE, `NaN at index ${i} cannot be quantised`);
    let c = roundHalfAway(v / scale);
    if (c > I16_MAX_CODE) {
      c = I16_MAX_CODE;
      saturated++;
    } else if (c < -I16_MAX_CODE) {
      c = -I16_MAX_CODE;
      saturated++;
    }
    codes[i] = c;
  }
  return { codes, scale, saturated };
}

/**
 * Packs float64 values into a wire tensor. f32 rounds like Math.fround (nearest, ties to even);
 * i16 quantises with quantizeI16 (scale from opts, default full scale = max |value|).
 */
export function tensorFromFloat64(
  values: ArrayLike<number>,
  shape: readonly number[],
  dtype: Dtype = 'f64',
  opts: I16Options = {},
): WireTensor {
  const n = tensorElementCount(shape);
  if (n !== values.length) throw new ValueRangeError(ErrorCode.SHAPE_MISMATCH, `shape ${JSON.stringify(shape)} holds ${n} values, got ${values.length}`);
  const data = Buffer.allocUnsafe(n * ITEM_SIZE[dtype]);
  const dv = new DataView(data.buffer, data.byteOffset, data.byteLength);
  if (dtype === 'f64') {
    // the same bytes as setFloat64 element by element, in one memcpy
    if (HOST_IS_LITTLE_ENDIAN && values instanceof Float64Array) data.set(new Uint8Array(values.buffer, values.byteOffset, values.byteLength));
    else for (let i = 0; i < n; i++) dv.setFloat64(i * 8, values[i], true);
    return { dtype, shape: [...shape], order: 'le', data };
  }
  if (dtype === 'f32') {
    for (let i = 0; i < n; i++) dv.setFloat32(i * 4, values[i], true);
    return { dtype, shape: [...shape], order: 'le', data };
  }
  const q = quantizeI16(values, opts);
  for (let i = 0; i < n; i++) dv.setInt16(i * 2, q.codes[i], true);
  return { dtype, shape: [...shape], order: 'le', data, scale: q.scale };
}


/**
 * The wire bytes of f64 values without converting them: a view of `values` on a little-endian
 * host, else a converted copy. The view shares memory with `values`.
 */
export function float64Bytes(values: Float64Array): Uint8Array {
  if (HOST_IS_LITTLE_ENDIAN) return new Uint8Array(values.buffer, values.byteOffset, values.byteLength);
  return tensorFromFloat64(values, [values.length], 'f64').data;
}

/**
 * As tensorToFloat64, but an f64 tensor whose bytes are 8-aligned on a little-endian host is
 * viewed, not copied: for a receiver that owns the bytes (a staged bulk transfer).
 */
export function tensorAsFloat64(t: WireTensor): Float64Array {
  if (t.dtype === 'f64' && HOST_IS_LITTLE_ENDIAN && t.data.byteOffset % 8 === 0) {
    assertTensor(t);
    return new Float64Array(t.data.buffer, t.data.byteOffset, t.data.byteLength / 8);
  }
  return tensorToFloat64(t);
}

/** Unpacks a wire tensor to float64 (i16: code · scale). Works on unaligned Buffer views. */
export function tensorToFloat64(t: WireTensor): Float64Array {
  assertTensor(t);
  const n = tensorElementCount(t.shape);
  const out = new Float64Array(n);
  const dv = new DataView(t.data.buffer, t.data.byteOffset, t.data.byteLength);
  // little-endian f64: one memcpy, aligned or not
  if (t.dtype === 'f64' && HOST_IS_LITTLE_ENDIAN) new Uint8Array(out.buffer).set(t.data);
  else if (t.dtype === 'f64') for (let i = 0; i < n; i++) out[i] = dv.getFloat64(i * 8, true);
  else if (t.dtype === 'f32') for (let i = 0; i < n; i++) out[i] = dv.getFloat32(i * 4, true);
  else {
    const s = t.scale as number;
    for (let i = 0; i < n; i++) out[i] = dv.getInt16(i * 2, true) * s;
  }
  return out;
}

/** Raw i16 codes of an i16 tensor (for a DAC). */
export function tensorToI16Codes(t: WireTensor): Int16Array {
  assertTensor(t);
  if (t.dtype !== 'i16') throw new SchemaError(ErrorCode.TENSOR_INVALID, `expected i16 tensor, got ${t.dtype}`);
  const n = tensorElementCount(t.shape);
  const out = new Int16Array(n);
  const dv = new DataView(t.data.buffer, t.data.byteOffset, t.data.byteLength);
  for (let i = 0; i < n; i++) out[i] = dv.getInt16(i * 2, true);
  return out;
}

/** Whole-tensor CRC-32C over the data bytes, as carried by BulkBegin. */
export function tensorCrc32c(t: Pick<WireTensor, 'data'>): number {
  return crc32c(t.data);
}
