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
export const BULK_CHUNK_REPLY_MAX_BYTES = 1 + REPLY_KEYS.reduce((n, k) => n + k.length + 5, 0);
/** Bytes of a chunk request's MessagePack before its data at most (fixmap, keys, u32s, bin32 head). */
export const BULK_CHUNK_HEAD_MAX_BYTES = 1 + CHUNK_KEYS.reduce((n, k) => n + k.length + 5, 0) + KEY_DATA.length + 5;

/** MessagePack's smallest encoding of a u32 (as msgpackr writes it) at `at`; returns the new offset. */
export function writeUint(dst: Uint8Array, at: number, v: number): number {
  if (v < 128) dst[at++] = v;
  else if (v < 256) {
    dst[at++] = 0xcc;
    dst[at++] = v;
  } else if (v < 65536) {
    dst[at++] = 0xcd;
    dst[at++] = v >>> 8;
    dst[at++] = v & 0xff;
  } else {
    dst[at++] = 0xce;
    dst[at++] = v >>> 24;
    dst[at++] = (v >>> 16) & 0xff;
    dst[at++] = (v >>> 8) & 0xff;
    dst[at++] = v & 0xff;
  }
  return at;
}

/** The head of a BulkChunk request's MessagePack (everything before the data bytes) into `dst`; returns its length. Fields must be u32s (checked by the caller). */
export function writeBulkChunkHead(dst: Uint8Array, body: { transferId: number; seq: number; offset: number }, dataLength: number): number {
  let at = 0;
  dst[at++] = 0x84; // fixmap of 4
  const values = [body.transferId, body.seq, body.offset];
  for (let i = 0; i < 3; i++) {
    dst.set(CHUNK_KEYS[i], at);
    at = writeUint(dst, at + CHUNK_KEYS[i].length, values[i]);
  }
  dst.set(KEY_DATA, at);
  at += KEY_DATA.length;
  const n = dataLength;
  if (n < 256) {
    dst[at++] = 0xc4;
    dst[at++] = n;
  } else if (n < 65536) {
    dst[at++] = 0xc5;
    dst[at++] = n >>> 8;
    dst[at++] = n & 0xff;
  } else {
    dst[at++] = 0xc6;
    dst[at++] = n >>> 24;
    dst[at++] = (n >>> 16) & 0xff;
    dst[at++] = (n >>> 8) & 0xff;
    dst[at++] = n & 0xff;
  }
  return at;
}

/** A BulkChunk reply's MessagePack (fields must be u32s, checked by the caller). */
export function packBulkChunkReply(body: ReplyBody<'BulkChunk'>): Buffer {
  const out = Buffer.allocUnsafe(BULK_CHUNK_REPLY_MAX_BYTES);
  let at = 0;
  out[at++] = 0x83; // fixmap of 3
  const values = [body.transferId, body.seq, body.received];
  for (let i = 0; i < 3; i++) {
    out.set(REPLY_KEYS[i], at);
    at = writeUint(out, at + REPLY_KEYS[i].length, values[i]);
  }
  return out.subarray(0, at);
}

/** Reads a u32 in any of msgpack's unsigned forms the writer uses, at `at`: [value, next offset], or null. */
function readUint(b: Uint8Array, at: number): [number, number] | null {
  if (at >= b.length) return null;
  const t = b[at];
  if (t < 0x80) return [t, at + 1];
  if (t === 0xcc && at + 1 < b.length && b[at + 1] >= 0x80) return [b[at + 1], at + 2];
  if (t === 0xcd && at + 2 < b.length) {
    const v = (b[at + 1] << 8) | b[at + 2];
    return v >= 256 ? [v, at + 3] : null;
  }
  if (t === 0xce && at + 4 < b.length) {
    const v = ((b[at + 1] << 24) | (b[at + 2] << 16) | (b[at + 3] << 8) | b[at + 4]) >>> 0;
    return v >= 65536 ? [v, at + 5] : null;
  }
  return null;
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
  const t = payload[at];
  let n: number;
  if (t === 0xc4 && at + 1 < payload.length) {
    n = payload[at + 1];
    at += 2;
  } else if (t === 0xc5 && at + 2 < payload.length) {
    n = (payload[at + 1] << 8) | payload[at + 2];
    at += 3;
  } else if (t === 0xc6 && at + 4 < payload.length) {
    n = ((payload[at + 1] << 24) | (payload[at + 2] << 16) | (payload[at + 3] << 8) | payload[at + 4]) >>> 0;
    at += 5;
  } else return null;
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
