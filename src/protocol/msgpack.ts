// Plain MessagePack only: no msgpackr records or extensions, maps decode to plain objects,
// 64-bit integers decode to number (every integer field is range-checked by its schema, all
// ranges lie within ±2^53, so an out-of-range int64 can never pass as a smaller value).
import { Packr, Unpackr } from 'msgpackr';
import { checkPlainMsgpack } from './msgpack-check.ts';

const OPTIONS = {
  useRecords: false,
  mapsAsObjects: true,
  variableMapSize: true,
  moreTypes: false,
  bundleStrings: false,
  structuredClone: false,
  int64AsType: 'number',
} as const;

const packr = new Packr(OPTIONS);
const unpackr = new Unpackr(OPTIONS);

/** Drops keys whose value is undefined (absent optional fields), without entering bins. */
function prune(v: unknown): unknown {
  if (v === null || typeof v !== 'object' || v instanceof Uint8Array) return v;
  if (Array.isArray(v)) return v.map(prune);
  const out: Record<string, unknown> = {};
  for (const [k, x] of Object.entries(v)) if (x !== undefined) out[k] = prune(x);
  return out;
}

/** Packs into a fresh Buffer (msgpackr reuses its internal buffer between calls). */
export function packPlain(value: unknown): Buffer {
  return Buffer.from(packr.pack(prune(value)));
}

/** Packs into msgpackr's shared buffer: valid only until the next pack call. */
export function packPlainShared(value: unknown): Buffer {
  return packr.pack(prune(value));
}

/**
 * msgpackr decodes some bytes that plain MessagePack does not define (the never-used 0xC1,
 * extension types such as the timestamp) into objects of its own; a payload containing one
 * is not plain MessagePack and is refused here, so no schema ever sees such a value.
 */
function assertPlain(v: unknown, depth = 0): void {
  if (v === null || typeof v === 'boolean' || typeof v === 'number' || typeof v === 'string') return;
  if (v instanceof Uint8Array) return;
  if (depth > 64) throw new TypeError('MessagePack nesting deeper than 64');
  if (Array.isArray(v)) {
    for (const x of v) assertPlain(x, depth + 1);
    return;
  }
  if (typeof v === 'object' && Object.getPrototypeOf(v) === Object.prototype) {
    for (const x of Object.values(v as Record<string, unknown>)) assertPlain(x, depth + 1);
    return;
  }
  throw new TypeError(`not plain MessagePack: decoded a ${typeof v === 'object' ? (v as object).constructor?.name ?? 'object' : typeof v}`);
}

/**
 * Unpacks exactly one value; throws on truncation, trailing bytes, non-plain types, non-str or
 * repeated map keys and invalid UTF-8 (checkPlainMsgpack). Bins are views of `bytes`.
 */
export function unpackPlain(bytes: Uint8Array): unknown {
  checkPlainMsgpack(bytes);
  const v: unknown = unpackr.unpack(bytes);
  assertPlain(v);
  return v;
}
