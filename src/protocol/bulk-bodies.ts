// The MessagePack of the two bodies a bulk upload sends by the hundred (a BulkChunk request and
// its reply per 64 KiB), written and read by hand in the codec's canonical form: a fixmap whose
// str keys come in schema order, each u32 in its smallest encoding, the chunk's data as the last
// value (bin). Writing gives exactly msgpackr's bytes (pinned by a property test). Reading
// accepts only that form and returns null for anything else, which then takes the general path
// (msgpackr, the plain-MessagePack check, the schema): other encodings a peer may legally send
// still decode, and nothing is accepted here that the general path would refuse.
import type { ReplyBody, RequestBody } from './registry.ts';

const keyBytes = (k: string): Buffer => Buffer.from([0xa0 | k.length, ...Buffer.from(k, 'latin1')]);

/** Keys of a BulkChunk request, in schema order (data last). */
const CHUNK_KEYS = ['transferId', 'seq', 'offset'].map(keyBytes);
const KEY_DATA = keyBytes('data');
/** Keys of a BulkChunk reply, in schema order. */
const REPLY_KEYS = ['transferId', 'seq', 'received'].map(keyBytes);

/** Bytes a u32 map of the reply's shape can take at most: fixmap + 3 × (key + 5-byte u32). */
const BULK_CHUNK_REPLY_MAX_BYTES = 1 + REPLY_KEYS.reduce((n, k) => n + k.length + 5, 0);
/** Bytes of a chunk request's MessagePack before its data at most (fixmap, keys, u32s, bin32 head). */
export const BULK_CHUNK_HEAD_MAX_BYTES = 1 + CHUNK_KEYS.reduce((n, k) => n + k.length + 5, 0) + KEY_DATA.length + 5;

/** `tag`, then `v` big-endian in `bytes` bytes, at `at`; returns the new offset. */
function writeTagged(dst: Uint8Array, at: number, tag: number, v: number, bytes: 1 | 2 | 4): number {
  dst[at++] = tag;
  for (let shift = 8 * (bytes - 1); shift >= 0; shift -= 8) dst[at++] = (v >>> shift) & 0xff;
  return at;
}

/** The `bytes`-byte big-endian unsigned integer at `at` (the caller checked the length). */
function readBigEndian(b: Uint8Array, at: number, bytes: 1 | 2 | 4): number {
  let v = 0;
  for (let i = 0; i < bytes; i++) v = v * 256 + b[at + i];
  return v;
}

/** MessagePack's smallest encoding of a u32 (as msgpackr writes it) at `at`; returns the new offset. */
function writeUint(dst: Uint8Array, at: number, v: number): number {
  if (v < 128) {
    dst[at] = v;
    return at + 1;
  }
  return v < 256 ? writeTagged(dst, at, 0xcc, v, 1) : v < 65536 ? writeTagged(dst, at, 0xcd, v, 2) : writeTagged(dst, at, 0xce, v, 4);
}

/** A fixmap of `size` entries at 0, then its first keys with u32 values; returns the offset after them. */
function writeU32Map(dst: Uint8Array, size: number, keys: readonly Buffer[], values: readonly number[]): number {
  dst[0] = 0x80 | size;
  let at = 1;
  for (let i = 0; i < keys.length; i++) {
    dst.set(keys[i], at);
    at = writeUint(dst, at + keys[i].length, values[i]);
  }
  return at;
}

/** The head of a BulkChunk request's MessagePack (everything before the data bytes) into `dst`; returns its length. Fields must be u32s (checked by the caller). */
export function writeBulkChunkHead(dst: Uint8Array, body: { transferId: number; seq: number; offset: number }, dataLength: number): number {
  let at = writeU32Map(dst, 4, CHUNK_KEYS, [body.transferId, body.seq, body.offset]);
  dst.set(KEY_DATA, at);
  at += KEY_DATA.length;
  const n = dataLength;
  at = n < 256 ? writeTagged(dst, at, 0xc4, n, 1) : n < 65536 ? writeTagged(dst, at, 0xc5, n, 2) : writeTagged(dst, at, 0xc6, n, 4);
  return at;
}

/** A BulkChunk reply's MessagePack (fields must be u32s, checked by the caller). */
export function packBulkChunkReply(body: ReplyBody<'BulkChunk'>): Buffer {
  const out = Buffer.allocUnsafe(BULK_CHUNK_REPLY_MAX_BYTES);
  return out.subarray(0, writeU32Map(out, 3, REPLY_KEYS, [body.transferId, body.seq, body.received]));
}

/** Bytes after the tag of msgpack's uint8/16/32 (0xcc–0xce) or bin8/16/32 (0xc4–0xc6), else 0. */
const tailBytes = (tag: number, first: number): 0 | 1 | 2 | 4 => (tag === first ? 1 : tag === first + 1 ? 2 : tag === first + 2 ? 4 : 0);

/** A u32 in the smallest of msgpack's unsigned forms at `at`: [value, next offset], or null. */
function readUint(b: Uint8Array, at: number): [number, number] | null {
  if (at >= b.length) return null;
  const t = b[at];
  if (t < 0x80) return [t, at + 1];
  const k = tailBytes(t, 0xcc);
  if (k === 0 || at + k >= b.length) return null;
  const v = readBigEndian(b, at + 1, k);
  // only the smallest form: the writer's, so anything else takes the general path
  return v >= (k === 1 ? 0x80 : k === 2 ? 0x100 : 0x10000) ? [v, at + 1 + k] : null;
}

function keyAt(b: Uint8Array, at: number, key: Buffer): boolean {
  if (at + key.length > b.length) return false;
  for (let i = 0; i < key.length; i++) if (b[at + i] !== key[i]) return false;
  return true;
}

/** The u32 fields of a canonical map (after its fixmap byte) at `at`, into `out`; the offset after them, or -1. */
function readU32Fields(b: Uint8Array, at: number, keys: readonly Buffer[], out: number[]): number {
  for (let i = 0; i < keys.length; i++) {
    if (!keyAt(b, at, keys[i])) return -1;
    const u = readUint(b, at + keys[i].length);
    if (!u) return -1;
    out[i] = u[0];
    at = u[1];
  }
  return at;
}

/** A canonical BulkChunk request body (data a view of `payload`), or null (take the general path). */
export function readBulkChunkRequest(payload: Uint8Array): RequestBody<'BulkChunk'> | null {
  if (payload.length < 1 || payload[0] !== 0x84) return null;
  const v = [0, 0, 0];
  let at = readU32Fields(payload, 1, CHUNK_KEYS, v);
  if (at < 0 || !keyAt(payload, at, KEY_DATA)) return null;
  at += KEY_DATA.length;
  const k = tailBytes(payload[at], 0xc4);
  if (k === 0 || at + k >= payload.length) return null;
  const n = readBigEndian(payload, at + 1, k);
  at += 1 + k;
  if (at + n !== payload.length) return null;
  return { transferId: v[0], seq: v[1], offset: v[2], data: payload.subarray(at) };
}

/** A canonical BulkChunk reply body, or null (take the general path). */
export function readBulkChunkReply(payload: Uint8Array): ReplyBody<'BulkChunk'> | null {
  if (payload.length < 1 || payload[0] !== 0x83) return null;
  const v = [0, 0, 0];
  const at = readU32Fields(payload, 1, REPLY_KEYS, v);
  return at === payload.length ? { transferId: v[0], seq: v[1], received: v[2] } : null;
}
