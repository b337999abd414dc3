// Runs: Run and Abort, and the run loop that advances the core in chunks between other requests
// (PROTOCOL.md §7.6), streams sample blocks (§7.7) and stores the results.
import { CRC_BYTES, DeviceFaultError, ErrorCode, HEADER_BYTES, OPERATIONS, StateError, ValueRangeError, maxInnerBytes, tensorFromFloat64 } from '../../../protocol/index.ts';
import type { RequestBody } from '../../../protocol/index.ts';
import { PhysicsError } from '../../physics/index.ts';
import type { CoreRunResult, CoreSampleBlock } from '../../physics/index.ts';
import { next32 } from '../firmware-state.ts';
import type { ActiveRun, FirmwareState, RunFlag } from '../firmware-state.ts';
import type { HandlerTable } from './handler.ts';

const RUN_TYPE = OPERATIONS.Run.type;

/** A streamed run's chunk emits at most about this much, so output waiting for a slow host stays
 *  within the link's high-water mark plus one chunk, whatever the machine's speed. */
const STREAM_CHUNK_BYTES = 32 * 1024;

export const runHandlers: Pick<HandlerTable, 'Run' | 'Abort'> = {
  Run: startRun,

  /** The Run is answered with Error ABORTED first, then the Abort reply (§7.6). */
  Abort(dev, _b, id) {
    const r = dev.run;
    if (!r) return dev.reply('Abort', { aborted: false, runId: dev.lastRunId }, id);
    finishRun(dev, r, [], true);
    dev.reply('Abort', { aborted: true, runId: r.runId }, id);
  },
};

function startRun(dev: FirmwareState, b: RequestBody<'Run'>, id: number): void {
  const c = dev.committed;
  if (!c.curvature) throw new StateError(ErrorCode.NO_CURVATURE, 'no committed curvature');
  if (!c.gradient) throw new StateError(ErrorCode.NO_GRADIENT, 'no committed gradient');
  const delay = b.delayTau ?? 0;
  if (delay > 0) dev.needFeature('delay', 'delayTau');
  if (b.streamSamples) dev.needFeature('sample-stream', 'streamSamples');
  const n = c.curvature.n;
  if (c.notPd) {
    // Nothing to integrate: the run ends at once with the flag (§7.4).
    const runId = (dev.runCounter = next32(dev.runCounter));
    dev.lastRunId = runId;
    dev.results = { runId, n, sampleCount: 0, analogTimeTau: 0, saturationCount: 0, clipCount: 0, flags: ['not-positive-definite'], mean: null, final: null };
    return dev.reply('Run', { runId, analogTimeTau: 0, sampleCount: 0, flags: ['not-positive-definite'], ...dev.reportedRunIndex() }, id);
  }
  const prime = delay > 0 && !dev.hasLive;
  // Refuse before priming so that a refused Run changes nothing (the counter stays within u32).
  if (dev.core.runIndex + (prime ? 1 : 0) >= 0xffffffff)
    throw new ValueRangeError(ErrorCode.OUT_OF_RANGE, `run counter exhausted: ${dev.core.runIndex} (the last run index is 2^32 − 2)`, { reason: 'limit', runIndex: dev.core.runIndex });
  if (prime) primeLive(dev, b.durationTau);
  const stream = b.streamSamples === true;
  const runId = next32(dev.runCounter);
  const handle = dev.core.startRun({
    durationTau: b.durationTau,
    start: b.start,
    delayTau: delay,
    onSampleBlock: stream ? (blk) => onSamples(dev, runId, id, blk) : undefined,
    blockSamples: stream ? samplesPerBlock(dev, n) : undefined,
  });
  dev.runCounter = runId;
  dev.coreBytes = { next: 0, live: dev.coreBytes.next || dev.coreBytes.live };
  dev.hasLive = true;
  dev.lastRunId = runId;
  dev.state = 'RUNNING';
  const cost = c.curvature.form === 'dense' ? n * n : 2 * c.curvature.r * n + n;
  dev.run = { runId, requestId: id, handle, startedMs: performance.now(), chunkSteps: Math.max(1, Math.floor(4e5 / cost)), chunkStreamBytes: 0 };
  dev.log.debug({ runId, durationTau: b.durationTau, start: b.start, delayTau: delay, stream }, 'run started');
  const r = dev.run;
  setImmediate(() => step(dev, r));
}

/**
 * PROTOCOL.md §7.6: with no previous run, the delay segment evolves under the committed A and g.
 * The physics core only delays under a system that has run, so make the committed system the
 * live one by starting and at once stopping a run on it (no step taken, x unchanged; it uses
 * one run index, EMULATOR.md §4).
 */
function primeLive(dev: FirmwareState, durationTau: number): void {
  dev.core.startRun({ durationTau, start: 'carry' }).abort();
  dev.hasLive = true;
}

/** Rows per sample block so that one SampleBlock event fits the host's frame (wide rows are split by cells). */
function samplesPerBlock(dev: FirmwareState, n: number): number {
  return Math.max(1, Math.min(16, Math.floor(sampleRoom(dev) / (8 * n))));
}

function sampleRoom(dev: FirmwareState): number {
  return maxInnerBytes(dev.hostMaxFrame) - HEADER_BYTES - CRC_BYTES - 160;
}

function onSamples(dev: FirmwareState, runId: number, requestId: number, blk: CoreSampleBlock): void {
  const n = blk.n;
  const cellsPer = Math.max(1, Math.min(n, Math.floor(sampleRoom(dev) / (8 * blk.count))));
  for (let c0 = 0; c0 < n; c0 += cellsPer) {
    const cells = Math.min(cellsPer, n - c0);
    const vals = new Float64Array(blk.count * cells);
    if (dev.run) dev.run.chunkStreamBytes += vals.byteLength;
    for (let k = 0; k < blk.count; k++) vals.set(blk.values.subarray(k * n + c0, k * n + c0 + cells), k * cells);
    const body = { runId, seq: dev.ringNext, firstSample: blk.first, cellOffset: c0, data: tensorFromFloat64(vals, [blk.count, cells], 'f64') };
    dev.ringNext = (dev.ringNext + 1) >>> 0;
    dev.ring.push(body);
    if (dev.ring.length > dev.opts.capabilities.sampleRingBlocks) dev.ring.shift();
    // MORE marks "more blocks of this run follow" (PROTOCOL.md §7.8): unset on the run's last one.
    dev.out.send({ kind: 'SampleBlockEvent', body }, requestId, { more: !(blk.last && c0 + cells >= n) });
  }
}

function step(dev: FirmwareState, r: ActiveRun): void {
  if (dev.run !== r || dev.dead) return;
  if (dev.io.congested?.()) {
    setTimeout(() => step(dev, r), 2);
    return;
  }
  const t0 = performance.now();
  r.chunkStreamBytes = 0;
  try {
    r.handle.advance(r.chunkSteps);
  } catch (e) {
    if (e instanceof PhysicsError && e.code === 'diverged') return finishRun(dev, r, ['diverged']);
    dev.run = null;
    dev.state = 'READY';
    dev.fail({ type: RUN_TYPE, requestId: r.requestId }, dev.asProtocolError(e));
    return;
  }
  // Keep chunks near 4 ms so Abort/Heartbeat/Status are served promptly; results do not
  // depend on the chunking.
  const dt = performance.now() - t0;
  if (dt > 8 || r.chunkStreamBytes > STREAM_CHUNK_BYTES) r.chunkSteps = Math.max(1, Math.floor(r.chunkSteps / 2));
  else if (dt < 2 && r.chunkStreamBytes <= STREAM_CHUNK_BYTES / 2) r.chunkSteps = Math.min(r.chunkSteps * 2, 1 << 24);
  dev.io.onRunProgress?.(r.handle.progressTau);
  if (dev.run !== r || dev.dead) return;
  const wait = realtimeWait(dev, r);
  if (r.handle.done && wait <= 0) {
    try {
      return finishRun(dev, r);
    } catch (e) {
      // never let a run end without an answer (nor throw out of the event loop)
      dev.run = null;
      dev.state = 'READY';
      return dev.fail({ type: RUN_TYPE, requestId: r.requestId }, dev.asProtocolError(e));
    }
  }
  if (wait > 0) setTimeout(() => step(dev, r), Math.min(wait, 50));
  else setImmediate(() => step(dev, r));
}

/** With analog real-time pacing: ms until wall time catches up with the analog time covered. */
function realtimeWait(dev: FirmwareState, r: ActiveRun): number {
  if (!dev.opts.pacing.analogRealtime) return 0;
  const due = r.handle.progressTau * dev.opts.capabilities.tauSeconds * 1000;
  return due - (performance.now() - r.startedMs);
}

function finishRun(dev: FirmwareState, r: ActiveRun, extra: RunFlag[] = [], aborted = false): void {
  if (dev.run !== r) return;
  dev.run = null;
  dev.state = 'READY';
  const res: CoreRunResult | null = extra.includes('diverged') ? null : aborted ? r.handle.abort() : r.handle.result();
  const flags: RunFlag[] = [...extra];
  if (res) for (const f of res.flags) flags.push(f === 'adc-clipped' ? 'clipped' : f);
  if (aborted && !flags.includes('aborted')) flags.push('aborted');
  dev.results = {
    runId: r.runId,
    n: dev.committed.curvature?.n ?? 0,
    sampleCount: res?.sampleCount ?? 0,
    analogTimeTau: res?.analogTimeTau ?? r.handle.progressTau,
    saturationCount: res?.saturationCount ?? 0,
    clipCount: res?.clipCount ?? 0,
    flags,
    mean: res?.mean ?? null,
    final: res?.final ?? null,
  };
  dev.log.debug({ runId: r.runId, flags, sampleCount: dev.results.sampleCount }, 'run finished');
  if (aborted) dev.fail({ type: RUN_TYPE, requestId: r.requestId }, new DeviceFaultError(ErrorCode.ABORTED, `run ${r.runId} stopped by Abort after ${dev.results.analogTimeTau} τ`, { runId: r.runId, analogTimeTau: dev.results.analogTimeTau }));
  else dev.reply('Run', { runId: r.runId, analogTimeTau: dev.results.analogTimeTau, sampleCount: dev.results.sampleCount, flags, ...dev.reportedRunIndex() }, r.requestId);
}

/** A detected hardware fault: the device enters FAULT; a run in progress ends with HARDWARE_FAULT. */
export function enterFault(dev: FirmwareState, reason: string): void {
  const e = new DeviceFaultError(ErrorCode.HARDWARE_FAULT, reason);
  const r = dev.run;
  dev.run = null;
  dev.state = 'FAULT';
  if (r) dev.fail({ type: RUN_TYPE, requestId: r.requestId }, e);
  else dev.queueError(e, 0, 0);
  dev.log.error({ reason }, 'hardware fault: state FAULT until DeviceReset');
}
