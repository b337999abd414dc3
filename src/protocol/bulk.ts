// Pure helpers for bulk transfers: chunk planning, capacity of one frame, and the whole-tensor CRC.
import { cobsMaxEncodedLength } from './cobs.ts';
import { crc32c } from './crc32c.ts';
import { CRC_BYTES, HEADER_BYTES } from './header.ts';
import { ITEM_SIZE } from './tensor.ts';
import type { Dtype } from './tensor.ts';

/**
 * Worst-case MessagePack size of a BulkChunk body without its data bytes:
 * fixmap(4) 1 + "transferId" 11 + u32 5 + "seq" 4 + u32 5 + "offset" 7 + u32 5 + "data" 5 + bin32 header 5.
 */
export const BULK_CHUNK_OVERHEAD = 1 + 11 + 5 + 4 + 5 + 7 + 5 + 5 + 5;

/** Largest inner frame (header + payload + CRC) whose COBS encoding fits maxFrameBytes. */
export function maxInnerBytes(maxFrameBytes: number): number {
  let inner = maxFrameBytes - 1 - Math.floor(maxFrameBytes / 254);
  while (cobsMaxEncodedLength(inner + 1) <= maxFrameBytes) inner++;
  while (inner > 0 && cobsMaxEncodedLength(inner) > maxFrameBytes) inner--;
  return inner;
}

/** Largest chunk payload (bytes) a BulkChunk frame can carry within maxFrameBytes. */
export function maxChunkBytes(maxFrameBytes: number): number {
  return Math.max(0, maxInnerBytes(maxFrameBytes) - HEADER_BYTES - CRC_BYTES - BULK_CHUNK_OVERHEAD);
}

export interface ChunkPlan {
  seq: number;
  offset: number;
  length: number;
}

/** Splits totalBytes into chunks of chunkBytes (the last may be shorter); seq counts from 0. */
export function planChunks(totalBytes: number, chunkBytes: number): ChunkPlan[] {
  if (!Number.isInteger(chunkBytes) || chunkBytes < 1) throw new RangeError(`chunkBytes ${chunkBytes} must be a positive integer`);
  const plan: ChunkPlan[] = [];
  for (let offset = 0, seq = 0; offset < totalBytes; offset += chunkBytes, seq++)
    plan.push({ seq, offset, length: Math.min(chunkBytes, totalBytes - offset) });
  return plan;
}

/**
 * Element ranges for ResultsRead so each reply fits the host's frame limit. The reply's
 * non-data overhead is bounded by 160 bytes (runId, field, offset, n, tensor header).
 */
export function planElementReads(n: number, dtype: Dtype, maxFrameBytes: number): { offset: number; count: number }[] {
  const per = Math.floor((maxInnerBytes(maxFrameBytes) - HEADER_BYTES - CRC_BYTES - 160) / ITEM_SIZE[dtype]);
  if (per < 1) throw new RangeError(`maxFrameBytes ${maxFrameBytes} too small for one ${dtype} element`);
  const out: { offset: number; count: number }[] = [];
  for (let offset = 0; offset < n; offset += per) out.push({ offset, count: Math.min(per, n - offset) });
  return out;
}

/** CRC-32C of a whole tensor's data, accumulated over chunks in order. */
export function crc32cOfChunks(chunks: Iterable<Uint8Array>): number {
  let c = 0;
  for (const ch of chunks) c = crc32c(ch, c);
  return c;
}

/**
 * Whether a tensor of payloadBytes data bytes can travel inline (one frame within maxFrameBytes)
 * instead of as a bulk transfer, leaving 256 bytes for the other fields of the request.
 */
export function fitsInline(payloadBytes: number, maxFrameBytes: number): boolean {
  return payloadBytes + 256 <= maxChunkBytes(maxFrameBytes);
}
