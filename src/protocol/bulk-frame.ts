// BulkChunk request frames built without intermediate buffers: the MessagePack of the body is
// written by hand (byte-identical to the codec's canonical encoding, pinned by a property test)
// and the chunk's data is framed straight from the caller's memory (encodeFrameParts). On a
// 4 MiB upload this saves msgpackr's copy of every chunk and the inner frame copy.
import { encodeFrameParts } from './codec.ts';
import { ErrorCode, SchemaError } from './errors.ts';
import type { FrameHeader } from './header.ts';
import { OPERATIONS } from './registry.ts';
import type { RequestBody } from './registry.ts';
import { PROTOCOL_MAJOR } from './version.ts';

const KEY_TRANSFER_ID = Buffer.from([0xaa, ...Buffer.from('transferId')]);
const KEY_SEQ = Buffer.from([0xa3, ...Buffer.from('seq')]);
const KEY_OFFSET = Buffer.from([0xa6, ...Buffer.from('offset')]);
const KEY_DATA = Buffer.from([0xa4, ...Buffer.from('data')]);

/** MessagePack's smallest encoding of a u32 (as msgpackr writes it); returns the new offset. */
function writeUint(dst: Buffer, at: number, v: number): number {
  if (v < 128) dst[at++] = v;
  else if (v < 256) {
    dst[at++] = 0xcc;
    dst[at++] = v;
  } else if (v < 65536) {
    dst[at++] = 0xcd;
    dst.writeUInt16BE(v, at);
    at += 2;
  } else {
    dst[at++] = 0xce;
    dst.writeUInt32BE(v, at);
    at += 4;
  }
  return at;
}

function u32(name: string, v: unknown): number {
  if (typeof v !== 'number' || !Number.isInteger(v) || v < 0 || v > 0xffffffff) throw new SchemaError(ErrorCode.SCHEMA_INVALID, `BulkChunkRequest: ${name}: expected a u32, got ${String(v)}`);
  return v;
}

/** The frame encodeFrame({ kind: 'BulkChunkRequest', body }, requestId) gives, built without copies of `data` but the COBS output. */
export function encodeBulkChunkFrame(body: RequestBody<'BulkChunk'>, requestId: number, into?: Buffer): Buffer {
  u32('requestId', requestId);
  if (!(body.data instanceof Uint8Array)) throw new SchemaError(ErrorCode.SCHEMA_INVALID, 'BulkChunkRequest: data: expected MessagePack bin');
  const head = Buffer.allocUnsafe(1 + 11 + 5 + 4 + 5 + 7 + 5 + 5 + 5);
  let at = 0;
  head[at++] = 0x84; // fixmap of 4, keys in schema order
  at += KEY_TRANSFER_ID.copy(head, at);
  at = writeUint(head, at, u32('transferId', body.transferId));
  at += KEY_SEQ.copy(head, at);
  at = writeUint(head, at, u32('seq', body.seq));
  at += KEY_OFFSET.copy(head, at);
  at = writeUint(head, at, u32('offset', body.offset));
  at += KEY_DATA.copy(head, at);
  const n = body.data.length;
  if (n < 256) {
    head[at++] = 0xc4;
    head[at++] = n;
  } else if (n < 65536) {
    head[at++] = 0xc5;
    head.writeUInt16BE(n, at);
    at += 2;
  } else {
    head[at++] = 0xc6;
    head.writeUInt32BE(n, at);
    at += 4;
  }
  const header: FrameHeader = { version: PROTOCOL_MAJOR, flags: 0, type: OPERATIONS.BulkChunk.type, requestId };
  return encodeFrameParts(header, [head.subarray(0, at), body.data], into ? { into } : {});
}
