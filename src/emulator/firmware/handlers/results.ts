// Reading what a run produced: Results, ResultsRead, SamplesRead (PROTOCOL.md §7.6, §7.7).
import { CRC_BYTES, ErrorCode, HEADER_BYTES, StateError, ValueRangeError, maxInnerBytes, tensorFromFloat64 } from '../../../protocol/index.ts';
import type { ReplyBody } from '../../../protocol/index.ts';
import { u32 } from '../firmware-state.ts';
import type { FirmwareState, StoredResult } from '../firmware-state.ts';
import type { HandlerTable } from './handler.ts';

export const resultHandlers: Pick<HandlerTable, 'Results' | 'ResultsRead' | 'SamplesRead'> = {
  Results(dev, b, id) {
    const r = storedResults(dev);
    const body: ReplyBody<'Results'> = {
      runId: r.runId,
      n: r.n,
      sampleCount: r.sampleCount,
      analogTimeTau: r.analogTimeTau,
      saturationCount: u32(r.saturationCount),
      clipCount: u32(r.clipCount),
      flags: r.flags,
    };
    if (b.vectors === 'mean' || b.vectors === 'both') body.mean = tensorFromFloat64(vector(dev, r, 'mean'), [r.n], b.dtype);
    if (b.vectors === 'final' || b.vectors === 'both') body.final = tensorFromFloat64(vector(dev, r, 'final'), [r.n], b.dtype);
    dev.reply('Results', body, id);
  },

  ResultsRead(dev, b, id) {
    const r = storedResults(dev);
    const v = vector(dev, r, b.field);
    if (b.offset + b.count > r.n) throw new ValueRangeError(ErrorCode.OUT_OF_RANGE, `elements [${b.offset}, ${b.offset + b.count}) outside the result's ${r.n}`, { n: r.n });
    const data = tensorFromFloat64(v.subarray(b.offset, b.offset + b.count), [b.count], b.dtype);
    dev.reply('ResultsRead', { runId: r.runId, field: b.field, offset: b.offset, n: r.n, data }, id);
  },

  SamplesRead(dev, b, id) {
    const oldestSeq = dev.ring.length > 0 ? dev.ring[0].seq : dev.ringNext;
    const start = Math.max(b.fromSeq, oldestSeq);
    const blocks: ReplyBody<'SamplesRead'>['blocks'] = [];
    let room = maxInnerBytes(dev.hostMaxFrame) - HEADER_BYTES - CRC_BYTES - 64;
    for (const blk of dev.ring) {
      if (blk.seq < start) continue;
      if (blocks.length >= b.maxBlocks) break;
      const size = blk.data.data.length + 120;
      if (size > room) break;
      room -= size;
      blocks.push(blk);
    }
    const nextSeq = blocks.length > 0 ? (blocks[blocks.length - 1].seq + 1) >>> 0 : start;
    dev.reply('SamplesRead', { blocks, nextSeq, oldestSeq }, id);
  },
};

function storedResults(dev: FirmwareState): StoredResult {
  if (!dev.results) throw new StateError(ErrorCode.NO_RESULTS, 'no run has ended since power-on or reset');
  return dev.results;
}

function vector(dev: FirmwareState, r: StoredResult, field: 'mean' | 'final'): Float64Array {
  const v = r[field];
  if (!v) throw new StateError(ErrorCode.NO_RESULTS, `run ${r.runId} produced no vectors (${r.flags.join(', ')})`);
  if (dev.readout !== 'both' && dev.readout !== field) throw new StateError(ErrorCode.NO_RESULTS, `readout is '${dev.readout}': no ${field} vector`);
  return v;
}
