// PROTOCOL.md §8: bulk transfers — chunking, flow control, commit checks, release, limits.
import { ErrorCode, crc32c, maxChunkBytes, tensorFromFloat64 } from '../../protocol/index.ts';
import type { Dtype, ReplyBody } from '../../protocol/index.ts';
import type { CheckContext } from '../context.ts';
import { f64 } from '../context.ts';
import type { CheckDef } from '../types.ts';
import { hello } from './handshake.ts';

export interface OpenTransfer extends ReplyBody<'BulkBegin'> {
  data: Buffer;
  chunks: number;
}

/** BulkBegin for `values` (f64 unless told); `crc` overrides the announced CRC. */
export async function open(ctx: CheckContext, values: ArrayLike<number>, shape: number[], opts: { crc?: number; dtype?: Dtype } = {}): Promise<OpenTransfer> {
  const t = tensorFromFloat64(values, shape, opts.dtype ?? 'f64');
  const data = t.data as Buffer;
  const r = await ctx.request('BulkBegin', { dtype: t.dtype, shape, totalBytes: data.length, crc32c: opts.crc ?? crc32c(data), ...(t.scale ? { scale: t.scale } : {}) });
  return { ...r, data, chunks: Math.ceil(data.length / r.chunkBytes) };
}

export function chunk(ctx: CheckContext, t: OpenTransfer, seq: number): Promise<ReplyBody<'BulkChunk'>> {
  const offset = seq * t.chunkBytes;
  return ctx.request('BulkChunk', { transferId: t.transferId, seq, offset, data: t.data.subarray(offset, offset + t.chunkBytes) });
}

export async function sendAll(ctx: CheckContext, t: OpenTransfer): Promise<void> {
  for (let s = 0; s < t.chunks; s++) await chunk(ctx, t, s);
}

/** Values spanning about `chunks` chunks of the device's largest chunk. */
export function valuesForChunks(ctx: CheckContext, chunks: number): Float64Array {
  const n = Math.ceil((chunks - 0.5) * (maxChunkBytes(ctx.caps.maxFrameBytes) / 8));
  return Float64Array.from({ length: n }, (_, i) => Math.sin(i + 1));
}

export const bulkChecks: CheckDef[] = [
  {
    id: 'bulk.roundtrip',
    title: 'Multi-chunk upload (chunks out of order within the window), commit, use by {ref}, release',
    async run(ctx) {
      await ctx.fresh();
      await ctx.configure();
      const g = valuesForChunks(ctx, 3.5);
      const n = g.length;
      const t = await open(ctx, g, [n]);
      ctx.expect(t.transferId !== 0, 'transferId 0 is reserved');
      ctx.expect(t.chunkBytes <= maxChunkBytes(ctx.caps.maxFrameBytes), `chunkBytes ${t.chunkBytes} does not fit the device's own ${ctx.caps.maxFrameBytes}-byte frames`);
      ctx.expect(t.window >= 1, `window ${t.window}`);
      // Within the window, highest first.
      const w = Math.min(t.window, t.chunks);
      let received = 0;
      for (let s = w - 1; s >= 0; s--) received = (await chunk(ctx, t, s)).received;
      for (let s = w; s < t.chunks; s++) received = (await chunk(ctx, t, s)).received;
      ctx.expect(received === t.data.length, `received ${received} of ${t.data.length} bytes`);
      const c = await ctx.request('BulkCommit', { transferId: t.transferId });
      ctx.expect(c.bytes === t.data.length && c.crc32c === crc32c(t.data), `commit reply ${JSON.stringify(c)}`);
      // Load a matching curvature (A = I + small rank one) so the gradient can go in.
      if (!ctx.has('factored-curvature')) return { chunks: t.chunks, note: 'dense-only device: gradient use not exercised at this N' };
      // 3.5 chunks of a large frame can hold more values than the device has cells
      if (n > ctx.caps.maxCells) return { chunks: t.chunks, chunkBytes: t.chunkBytes, note: `N = ${n} > maxCells ${ctx.caps.maxCells}: gradient use not exercised` };
      await ctx.dev.uploadCurvature({ form: 'factored', n, r: 1, J: new Float64Array(n).fill(0.01), core: { kind: 'identity' }, scale: 1, lambda: 1 });
      const r = await ctx.request('Gradient', { g: { ref: t.transferId } });
      ctx.expect(r.n === n, `Gradient reply n = ${r.n}, expected ${n}`);
      await ctx.expectError(ctx.request('Gradient', { g: { ref: t.transferId } }), ErrorCode.NO_SUCH_TRANSFER, 'a ref used a second time (released on success)');
      return { chunks: t.chunks, chunkBytes: t.chunkBytes, window: t.window };
    },
  },
  {
    id: 'bulk.resend',
    title: 'A re-sent chunk overwrites and is not counted twice',
    async run(ctx) {
      await ctx.fresh();
      const t = await open(ctx, valuesForChunks(ctx, 2.5), [valuesForChunks(ctx, 2.5).length]);
      const a = await chunk(ctx, t, 0);
      const b = await chunk(ctx, t, 0);
      ctx.expect(a.received === t.chunkBytes && b.received === t.chunkBytes, `received after one chunk sent twice: ${a.received}, ${b.received} (chunk ${t.chunkBytes})`);
      await ctx.request('BulkAbort', { transferId: t.transferId });
    },
  },
  {
    id: 'bulk.bounds',
    title: 'BulkBegin size mismatch → SHAPE_MISMATCH; bad seq/offset/length → CHUNK_OUT_OF_BOUNDS; unknown id → NO_SUCH_TRANSFER',
    async run(ctx) {
      await ctx.fresh();
      const data = f64([1, 2, 3], [3]).data;
      await ctx.expectError(ctx.request('BulkBegin', { dtype: 'f64', shape: [4], totalBytes: 24, crc32c: crc32c(data) }), ErrorCode.SHAPE_MISMATCH, 'shape [4] with 24 bytes');
      const v = valuesForChunks(ctx, 2.5);
      const t = await open(ctx, v, [v.length]);
      const c = t.chunkBytes;
      await ctx.expectError(ctx.request('BulkChunk', { transferId: t.transferId, seq: 1, offset: c + 8, data: t.data.subarray(c + 8, 2 * c + 8) }), ErrorCode.CHUNK_OUT_OF_BOUNDS, 'offset ≠ seq × chunkBytes');
      await ctx.expectError(ctx.request('BulkChunk', { transferId: t.transferId, seq: 0, offset: 0, data: t.data.subarray(0, c - 8) }), ErrorCode.CHUNK_OUT_OF_BOUNDS, 'short middle chunk');
      await ctx.expectError(ctx.request('BulkChunk', { transferId: t.transferId, seq: t.chunks, offset: t.chunks * c, data: Buffer.alloc(8) }), ErrorCode.CHUNK_OUT_OF_BOUNDS, 'seq past the end');
      await ctx.expectError(ctx.request('BulkChunk', { transferId: 0x7ffffff0, seq: 0, offset: 0, data: Buffer.alloc(8) }), ErrorCode.NO_SUCH_TRANSFER, 'unknown transferId');
      await ctx.request('BulkAbort', { transferId: t.transferId });
    },
  },
  {
    id: 'bulk.window',
    title: 'A chunk at (lowest missing seq) + window → WINDOW_EXCEEDED; just inside is accepted',
    async run(ctx) {
      await ctx.fresh();
      const probe = await open(ctx, [0], [1]);
      await ctx.request('BulkAbort', { transferId: probe.transferId });
      const v = valuesForChunks(ctx, probe.window + 2.5);
      const t = await open(ctx, v, [v.length]);
      await ctx.expectError(chunk(ctx, t, t.window), ErrorCode.WINDOW_EXCEEDED, `seq ${t.window} with seq 0 missing`);
      await chunk(ctx, t, t.window - 1);
      await chunk(ctx, t, 0);
      await chunk(ctx, t, t.window); // lowest missing is now 1: seq = window is inside
      await ctx.request('BulkAbort', { transferId: t.transferId });
      return { window: t.window };
    },
  },
  {
    id: 'bulk.commit-checks',
    title: 'Commit before all bytes → TRANSFER_INCOMPLETE (stays open); wrong CRC → TENSOR_CRC_MISMATCH (discarded)',
    async run(ctx) {
      await ctx.fresh();
      const v = valuesForChunks(ctx, 2.5);
      const t = await open(ctx, v, [v.length]);
      await chunk(ctx, t, 0);
      const e = await ctx.expectError(ctx.request('BulkCommit', { transferId: t.transferId }), ErrorCode.TRANSFER_INCOMPLETE, 'commit with chunks missing');
      for (let s = 1; s < t.chunks; s++) await chunk(ctx, t, s);
      await ctx.request('BulkCommit', { transferId: t.transferId });
      await ctx.request('BulkAbort', { transferId: t.transferId });
      const bad = await open(ctx, v, [v.length], { crc: (crc32c(t.data) ^ 1) >>> 0 });
      await sendAll(ctx, bad);
      await ctx.expectError(ctx.request('BulkCommit', { transferId: bad.transferId }), ErrorCode.TENSOR_CRC_MISMATCH, 'commit with a wrong CRC');
      await ctx.expectError(chunk(ctx, bad, 0), ErrorCode.NO_SUCH_TRANSFER, 'chunk to a transfer discarded by a CRC mismatch');
      return { missingFromSeq: e.detail?.missingFromSeq };
    },
  },
  {
    id: 'bulk.abort-and-limits',
    title: 'BulkAbort discards (then reports false); maxOpenTransfers + 1 → TOO_MANY_TRANSFERS; 4 GB → OUT_OF_MEMORY',
    async run(ctx) {
      await ctx.fresh();
      const held: number[] = [];
      for (let i = 0; i < ctx.caps.maxOpenTransfers; i++) held.push((await open(ctx, [i], [1])).transferId);
      await ctx.expectError(open(ctx, [9], [1]), ErrorCode.TOO_MANY_TRANSFERS, `transfer ${ctx.caps.maxOpenTransfers + 1}`);
      const first = await ctx.request('BulkAbort', { transferId: held[0] });
      const again = await ctx.request('BulkAbort', { transferId: held[0] });
      ctx.expect(first.discarded && !again.discarded, `BulkAbort discarded: ${first.discarded}, then ${again.discarded}`);
      for (const id of held.slice(1)) await ctx.request('BulkAbort', { transferId: id });
      await ctx.expectError(
        ctx.request('BulkBegin', { dtype: 'f64', shape: [536870911], totalBytes: 536870911 * 8, crc32c: 0 }),
        ErrorCode.OUT_OF_MEMORY,
        'a 4 GiB transfer',
      );
      return { maxOpenTransfers: ctx.caps.maxOpenTransfers };
    },
  },
  {
    id: 'bulk.hello',
    title: 'Hello drops open transfers and keeps committed ones',
    async run(ctx) {
      await ctx.fresh();
      const openT = await open(ctx, [1, 2], [2]);
      const done = await open(ctx, [3, 4], [2]);
      await sendAll(ctx, done);
      await ctx.request('BulkCommit', { transferId: done.transferId });
      await ctx.request('Hello', hello());
      await ctx.expectError(chunk(ctx, openT, 0), ErrorCode.NO_SUCH_TRANSFER, 'chunk to an open transfer after Hello');
      const a = await ctx.request('BulkAbort', { transferId: done.transferId });
      ctx.expect(a.discarded, 'a committed transfer did not survive Hello');
    },
  },
];
