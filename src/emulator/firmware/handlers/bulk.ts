// Bulk transfers: BulkBegin, BulkChunk, BulkCommit, BulkAbort (PROTOCOL.md §8). The staging area
// (../transfers.ts) holds the bytes; nothing here touches the loaded system.
import { ErrorCode, ValueRangeError, maxChunkBytes } from '../../../protocol/index.ts';
import type { HandlerTable } from './handler.ts';

export const bulkHandlers: Pick<HandlerTable, 'BulkBegin' | 'BulkChunk' | 'BulkCommit' | 'BulkAbort'> = {
  BulkBegin(dev, b, id) {
    if (!dev.opts.capabilities.dtypes.includes(b.dtype)) throw new ValueRangeError(ErrorCode.DTYPE_UNSUPPORTED, `dtype ${b.dtype} not supported`);
    // The chunk size fits the device's own receive limit even with worst-case ids.
    const chunkBytes = Math.max(1, maxChunkBytes(dev.opts.maxFrameBytes));
    const t = dev.staging.begin(b, chunkBytes, dev.opts.memoryBytes - dev.memoryUsed());
    dev.reply('BulkBegin', { transferId: t.id, chunkBytes, window: dev.opts.capabilities.bulkWindow }, id);
  },

  BulkChunk(dev, b, id) {
    if (dev.io.onBulkChunk?.() === false) return;
    const received = dev.staging.chunk(b);
    // staged (copied): the frame buffer the data came in can take the next frame
    dev.decoder.recycle(b.data);
    dev.reply('BulkChunk', { transferId: b.transferId, seq: b.seq, received }, id);
  },

  BulkCommit(dev, b, id) {
    const t = dev.staging.commit(b.transferId);
    dev.reply('BulkCommit', { transferId: t.id, bytes: t.totalBytes, crc32c: t.crc32c }, id);
  },

  BulkAbort(dev, b, id) {
    dev.reply('BulkAbort', { transferId: b.transferId, discarded: dev.staging.abort(b.transferId) }, id);
  },
};
