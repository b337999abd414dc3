// Bulk transfer of one tensor: BulkBegin (dtype, shape, whole-tensor CRC-32C), windowed
// BulkChunk requests (each idempotent, retried on its own), BulkCommit (device verifies the CRC).
// The loaded system is untouched until a later request names the committed transfer, so any
// failure here leaves the device's previous tensor in force; the transfer is then aborted.
import type { Logger } from 'pino';
import { ErrorCode, crc32c, crc32cCombine, maxChunkBytes, planChunks } from '../protocol/index.ts';
import type { DecodedFrame, WireTensor } from '../protocol/index.ts';
import type { Channel } from './channel.ts';
import { DeviceError, ProtocolMismatchError } from './errors.ts';

export interface BulkOptions {
  /** Device's advertised maxFrameBytes: no frame we send may exceed it. */
  deviceMaxFrameBytes: number;
  /** Optional cap on chunks in flight (the device's window is the upper bound). */
  window?: number;
  /** Cap on chunk bytes in flight (for links with small buffers); default: the window alone. */
  maxInFlightBytes?: number;
  timeoutMs?: number;
  log: Logger;
}

export interface BulkResult {
  transferId: number;
  bytes: number;
  chunks: number;
  /** chunks kept in flight (device window, caps, and bandwidth × round trip as measured) */
  window: number;
}

/** Uploads `t` and commits it; resolves with the transfer id to reference as {ref}. */
export async function bulkUpload(ch: Channel, t: WireTensor, opts: BulkOptions): Promise<BulkResult> {
  const data = t.data;
  const beginIds = new Set<number>();
  let transferId = 0;
  // If a BulkBegin reply arrives after its attempt was given up, that transfer is an orphan
  // holding device memory: abort it as soon as we learn its id.
  const untap = ch.tap((f: DecodedFrame) => {
    if (f.message.kind !== 'BulkBeginReply' || !beginIds.has(f.header.requestId)) return;
    const orphan = f.message.body.transferId;
    // Taps run before the reply resolves its request: decide once that has settled.
    setImmediate(() => {
      if (orphan !== transferId) void ch.request('BulkAbort', { transferId: orphan }, { retries: 0 }).catch(() => {});
    });
  });
  // One pass over the tensor gives every chunk's CRC and, combined, the whole tensor's. The chunk
  // size is the device's (BulkBegin's reply); it is almost always the largest that fits its
  // frames, so the pass is taken at that size first and again only if the device chose another.
  let chunkCrcs = chunkCrc32cs(data, maxChunkBytes(opts.deviceMaxFrameBytes));
  try {
    const begin = await ch.request(
      'BulkBegin',
      { dtype: t.dtype, shape: t.shape, ...(t.scale !== undefined ? { scale: t.scale } : {}), totalBytes: data.length, crc32c: chunkCrcs.tensor },
      { idempotent: true, onAttempt: (id) => beginIds.add(id), ...(opts.timeoutMs ? { timeoutMs: opts.timeoutMs } : {}) },
    );
    transferId = begin.transferId;
    // The device fixes the chunk size (it checks seq = offset / chunkBytes and each length).
    const size = begin.chunkBytes;
    if (size < 1 || size > maxChunkBytes(opts.deviceMaxFrameBytes))
      throw new ProtocolMismatchError(
        `BulkBegin: device chunk size ${size} does not fit its own ${opts.deviceMaxFrameBytes}-byte frames (at most ${maxChunkBytes(opts.deviceMaxFrameBytes)} data bytes)`,
      );
    const window = Math.max(1, Math.min(begin.window, ch.estimate.window(size, begin.window), opts.window ?? Infinity, Math.floor((opts.maxInFlightBytes ?? Infinity) / size)));
    if (chunkCrcs.chunkBytes !== size) chunkCrcs = chunkCrc32cs(data, size);
    const crc = chunkCrcs.tensor;
    const plan = planChunks(data.length, size);
    opts.log.debug({ transferId, bytes: data.length, chunks: plan.length, chunkBytes: size, window }, 'bulk upload');
    const started = performance.now();
    await sendWindowed(plan.length, window, async (i) => {
      const c = plan[i];
      const sent = performance.now();
      const r = await ch.request(
        'BulkChunk',
        { transferId, seq: c.seq, offset: c.offset, data: data.subarray(c.offset, c.offset + c.length) },
        { dataCrc32c: chunkCrcs.chunks[i], ...(opts.timeoutMs ? { timeoutMs: opts.timeoutMs } : {}) },
      );
      if (r.transferId !== transferId || r.seq !== c.seq) throw new ProtocolMismatchError(`BulkChunk ${c.seq}: reply names transfer ${r.transferId} chunk ${r.seq}`);
      ch.estimate.rtt(performance.now() - sent);
    });
    // a rate needs a few windows of chunks behind it to mean anything
    if (plan.length >= 2 * window) ch.estimate.delivered(data.length, performance.now() - started);
    let committed: { bytes: number; crc32c: number } | null = null;
    try {
      committed = await ch.request('BulkCommit', { transferId }, { idempotent: true, ...(opts.timeoutMs ? { timeoutMs: opts.timeoutMs } : {}) });
    } catch (e) {
      // A retried commit whose first attempt succeeded finds no *open* transfer: the caller's
      // reference will tell (a missing transfer then fails the using request and the upload is redone).
      if (!(e instanceof DeviceError && e.code === ErrorCode.NO_SUCH_TRANSFER)) throw e;
    }
    if (committed && (committed.bytes !== data.length || committed.crc32c !== crc))
      throw new ProtocolMismatchError(`BulkCommit: device committed ${committed.bytes} bytes with CRC 0x${committed.crc32c.toString(16)}, host sent ${data.length} with 0x${crc.toString(16)}`);
    return { transferId, bytes: data.length, chunks: plan.length, window };
  } catch (e) {
    if (transferId) void ch.request('BulkAbort', { transferId }, { retries: 1 }).catch(() => {});
    throw e;
  } finally {
    untap();
  }
}

/** CRC-32C of each `chunkBytes` piece of `data` and of the whole (combined): one pass. */
function chunkCrc32cs(data: Uint8Array, chunkBytes: number): { chunkBytes: number; chunks: Uint32Array; tensor: number } {
  const chunks = new Uint32Array(Math.ceil(data.length / chunkBytes));
  let tensor = 0;
  for (let i = 0, at = 0; at < data.length; i++, at += chunkBytes) {
    const end = Math.min(data.length, at + chunkBytes);
    chunks[i] = crc32c(data, 0, at, end);
    tensor = i === 0 ? chunks[0] : crc32cCombine(tensor, chunks[i], end - at);
  }
  return { chunkBytes, chunks, tensor };
}

/**
 * Runs send(i) for i in [0, count) with at most `window` in flight and never beyond
 * lowest-unfinished + window (the device rejects chunks past its own window edge).
 */
async function sendWindowed(count: number, window: number, send: (i: number) => Promise<void>): Promise<void> {
  if (count === 0) return;
  const done = new Uint8Array(count);
  let lowest = 0;
  let next = 0;
  let inFlight = 0;
  let failed: unknown = null;
  await new Promise<void>((resolve, reject) => {
    const pump = (): void => {
      if (failed) return;
      while (lowest < count && done[lowest]) lowest++;
      if (lowest >= count) return resolve();
      while (next < count && next < lowest + window && inFlight < window) {
        const i = next++;
        inFlight++;
        send(i).then(
          () => {
            inFlight--;
            done[i] = 1;
            pump();
          },
          (e: unknown) => {
            inFlight--;
            if (!failed) {
              failed = e;
              reject(e);
            }
          },
        );
      }
    };
    pump();
  });
}
