// Helpers for JSON-serialisable optimizer state with bit-exact vectors.
import { z } from 'zod';
import { decodeF64, encodeF64, F64DecodeError } from '../linalg/f64codec.ts';
import { OptimizerStateError } from './errors.ts';

/** null for "not yet allocated", else base64 of f64 LE bytes */
export const vecSchema = z.string().nullable();

export function saveVec(v: Float64Array | null): string | null {
  return v === null ? null : encodeF64(v);
}

export function loadVec(s: string | null, what: string): Float64Array | null {
  if (s === null) return null;
  try {
    return decodeF64(s);
  } catch (e) {
    if (e instanceof F64DecodeError) throw new OptimizerStateError(`${what}: ${e.message}`);
    throw e;
  }
}

export function parseState<T>(schema: z.ZodType<T>, state: unknown, what: string): T {
  const r = schema.safeParse(state);
  if (!r.success) {
    const msg = r.error.issues.map((i) => `${i.path.join('.') || '(root)'}: ${i.message}`).join('; ');
    throw new OptimizerStateError(`cannot load ${what} state: ${msg}`);
  }
  return r.data;
}
