// BulkChunk request frames built without intermediate buffers: the MessagePack of the body is
// written by hand (bulk-bodies.ts: byte-identical to the codec's canonical encoding)
// and the chunk's data is framed straight from the caller's memory (encodeFrameParts). On a
// 4 MiB upload this saves msgpackr's copy of every chunk and the inner frame copy.
import { BULK_CHUNK_HEAD_MAX_BYTES, writeBulkChunkHead } from './bulk-bodies.ts';
import { encodeFrameParts } from './codec.ts';
import { ErrorCode, SchemaError } from './errors.ts';
import type { FrameHeader } from './header.ts';
import { OPERATIONS } from './registry.ts';
import type { RequestBody } from './registry.ts';
import { PROTOCOL_MAJOR } from './version.ts';

function u32(name: string, v: unknown): number {
  if (typeof v !== 'number' || !Number.isInteger(v) || v < 0 || v > 0xffffffff) throw new SchemaError(ErrorCode.SCHEMA_INVALID, `BulkChunkRequest: ${name}: expected a u32, got ${String(v)}`);
  return v;
}

/**
 * The frame encodeFrame({ kind: 'BulkChunkRequest', body }, requestId) gives, built without copies
 * of `data` but the COBS output. `dataCrc32c`, when given, must be crc32c(body.data): the frame
 * CRC then combines it instead of reading the data again (a wrong value makes a frame the device
 * drops as damaged).
 */
export function encodeBulkChunkFrame(body: RequestBody<'BulkChunk'>, requestId: number, into?: Buffer, dataCrc32c?: number): Buffer {
  u32('requestId', requestId);
  if (!(body.data instanceof Uint8Array)) throw new SchemaError(ErrorCode.SCHEMA_INVALID, 'BulkChunkRequest: data: expected MessagePack bin');
  const head = Buffer.allocUnsafe(BULK_CHUNK_HEAD_MAX_BYTES);
  const at = writeBulkChunkHead(head, { transferId: u32('transferId', body.transferId), seq: u32('seq', body.seq), offset: u32('offset', body.offset) }, body.data.length);
  const header: FrameHeader = { version: PROTOCOL_MAJOR, flags: 0, type: OPERATIONS.BulkChunk.type, requestId };
  return encodeFrameParts(header, [head.subarray(0, at), body.data], { ...(into ? { into } : {}), ...(dataCrc32c !== undefined ? { partCrcs: [undefined, dataCrc32c] } : {}) });
}
