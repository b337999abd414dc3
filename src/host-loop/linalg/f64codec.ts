// Bit-exact text encoding of Float64Arrays (base64 of little-endian IEEE-754 bytes), used by
// optimizer state and checkpoints: JSON numbers would lose −0 and NaN payloads.
import { HostLoopError } from '../errors.ts';

export function encodeF64(v: Float64Array): string {
  const buf = Buffer.alloc(v.length * 8);
  for (let i = 0; i < v.length; i++) buf.writeDoubleLE(v[i], i * 8);
  return buf.toString('base64');
}

export class F64DecodeError extends HostLoopError {
  readonly category = 'data';
}

const B64 = /^[A-Za-z0-9+/]*={0,2}$/;

/** Decodes encodeF64 output; checks the alphabet and, if given, the expected length. */
export function decodeF64(s: string, expectedLength?: number): Float64Array {
  if (!B64.test(s) || s.length % 4 !== 0) throw new F64DecodeError('float64 data is not valid base64');
  const buf = Buffer.from(s, 'base64');
  if (buf.length % 8 !== 0) throw new F64DecodeError(`float64 data has ${buf.length} bytes, not a multiple of 8`);
  const n = buf.length / 8;
  if (expectedLength !== undefined && n !== expectedLength)
    throw new F64DecodeError(`float64 data has ${n} values, expected ${expectedLength}`);
  const out = new Float64Array(n);
  for (let i = 0; i < n; i++) out[i] = buf.readDoubleLE(i * 8);
  return out;
}
