// Reading a run's results: the Results header with mean/final inline when they fit one host
// frame, otherwise in ResultsRead slices (a few in flight), each checked against what was asked;
// and the conversion of wire sample blocks to the driver's SampleBlock.
import { ErrorCode, maxInnerBytes, planElementReads, tensorElementCount, tensorToFloat64 } from '../protocol/index.ts';
import type { ReplyBody } from '../protocol/index.ts';
import type { Channel } from './channel.ts';
import { DeviceError, ProtocolMismatchError } from './errors.ts';
import type { Readout, RunResult, SampleBlock } from './types.ts';

/** Header fields and two tensor headers of a Results reply stay well under this. */
const RESULTS_OVERHEAD_BYTES = 300;
/** ResultsRead requests in flight: enough to hide the round trip without flooding the device. */
const READS_IN_FLIGHT = 4;

export interface ResultsQuery {
  readout: Readout;
  /** N of the loaded curvature (0: none, nothing inline) */
  n: number;
  hostMaxFrameBytes: number;
}

export async function fetchResults(ch: Channel, q: ResultsQuery): Promise<RunResult> {
  const fields: ('mean' | 'final')[] = q.readout === 'both' ? ['mean', 'final'] : [q.readout];
  const inline = q.n > 0 && fields.length * q.n * 8 + RESULTS_OVERHEAD_BYTES <= maxInnerBytes(q.hostMaxFrameBytes);
  let r: ReplyBody<'Results'>;
  try {
    r = await ch.request('Results', { vectors: inline ? q.readout : 'none', dtype: 'f64' });
  } catch (e) {
    if (!(inline && e instanceof DeviceError && e.code === ErrorCode.REPLY_TOO_LARGE)) throw e;
    r = await ch.request('Results', { vectors: 'none', dtype: 'f64' });
  }
  const out: RunResult = {
    runId: r.runId,
    n: r.n,
    sampleCount: r.sampleCount,
    analogTimeTau: r.analogTimeTau,
    saturationCount: r.saturationCount,
    clipCount: r.clipCount,
    flags: [...r.flags],
  };
  for (const f of fields) {
    const t = r[f];
    const v = t ? tensorToFloat64(t) : await readVector(ch, f, r.n, r.runId, q.hostMaxFrameBytes);
    if (v.length !== r.n) throw new ProtocolMismatchError(`Results: ${f} has ${v.length} values, n = ${r.n}`);
    out[f] = v;
  }
  return out;
}

async function readVector(ch: Channel, field: 'mean' | 'final', n: number, runId: number, hostMaxFrameBytes: number): Promise<Float64Array> {
  const out = new Float64Array(n);
  const plan = planElementReads(n, 'f64', hostMaxFrameBytes);
  let next = 0;
  const worker = async (): Promise<void> => {
    while (next < plan.length) {
      const p = plan[next++];
      const r = await ch.request('ResultsRead', { field, dtype: 'f64', offset: p.offset, count: p.count });
      if (r.runId !== runId || r.field !== field || r.offset !== p.offset || tensorElementCount(r.data.shape) !== p.count)
        throw new ProtocolMismatchError(`ResultsRead: asked ${field}[${p.offset}, +${p.count}) of run ${runId}, got ${r.field}[${r.offset}, +${tensorElementCount(r.data.shape)}) of run ${r.runId}`);
      out.set(tensorToFloat64(r.data), p.offset);
    }
  };
  await Promise.all(Array.from({ length: Math.min(READS_IN_FLIGHT, plan.length) }, worker));
  return out;
}

export function sampleBlockOf(b: ReplyBody<'SamplesRead'>['blocks'][number]): SampleBlock {
  const values = tensorToFloat64(b.data);
  const [count, cells] = b.data.shape.length === 2 ? b.data.shape : [1, values.length];
  return { runId: b.runId, seq: b.seq, firstSample: b.firstSample, cellOffset: b.cellOffset, count, cells, values };
}
