// Runs: liveness while running, Abort, DeviceReset, sample streaming, delay, readout, divergence.
import { afterEach, describe, expect, it } from 'vitest';
import { ErrorCode, OPERATIONS, tensorToFloat64 } from '../../src/protocol/index.ts';
import { createEmulatedDevice } from '../../src/emulator/index.ts';
import { CONFIG, TestHost, f64 } from './host.ts';
import { A4, G4, LONG_RUN, loadSystem } from './setup.ts';

const hosts: TestHost[] = [];
const track = (h: TestHost): TestHost => (hosts.push(h), h);
afterEach(() => {
  for (const h of hosts.splice(0)) h.close();
});

async function ready(opts: Parameters<typeof createEmulatedDevice>[0] = {}, config = CONFIG): Promise<TestHost> {
  const h = track(new TestHost(createEmulatedDevice({ maxCells: 64, maxRank: 8, ...opts })));
  await h.hello();
  await loadSystem(h, config);
  return h;
}

describe('a long run', () => {
  it('keeps answering Heartbeat and Status while RUNNING; Abort ends it: Run → ABORTED, Abort reply, partial results flagged', async () => {
    const h = await ready({}, { ...CONFIG, kappa0: 0.01 });
    const run = h.send('Run', LONG_RUN);
    let runAnswered = false;
    void run.answer.then(() => (runAnswered = true));
    for (let k = 0; k < 5; k++) {
      await new Promise((r) => setTimeout(r, 10)); // let the run advance between heartbeats
      const hb = await h.ok('Heartbeat', { nonce: 1000 + k });
      expect(hb).toMatchObject({ nonce: 1000 + k, state: 'RUNNING' });
      expect(runAnswered).toBe(false);
    }
    const st = await h.ok('Status', {});
    expect(st).toMatchObject({ state: 'RUNNING', runId: 1 });
    // results are not readable during a run
    expect(await h.code('Results', { vectors: 'none', dtype: 'f64' })).toBe(ErrorCode.BUSY);
    const abort = h.send('Abort', {});
    const r = await run.answer;
    expect(r.ok).toBe(false);
    if (!r.ok) {
      expect(r.code).toBe(ErrorCode.ABORTED);
      expect(r.error.requestType).toBe(OPERATIONS.Run.type);
    }
    expect(await abort.answer).toMatchObject({ ok: true, body: { aborted: true, runId: 1 } });
    // the Run's error frame comes before the Abort reply
    const order = h.frames.map((f) => f.header.requestId);
    expect(order.indexOf(run.id)).toBeLessThan(order.indexOf(abort.id));
    const res = await h.ok('Results', { vectors: 'mean', dtype: 'f64' });
    expect(res.flags).toContain('aborted');
    expect(res.analogTimeTau).toBeGreaterThan(0);
    expect(res.analogTimeTau).toBeLessThan(LONG_RUN.durationTau);
    expect(res.sampleCount).toBeGreaterThan(0);
    expect(tensorToFloat64(res.mean!).every(Number.isFinite)).toBe(true);
    expect((await h.ok('Status', {})).state).toBe('READY');
    expect(await h.ok('Abort', {})).toEqual({ aborted: false, runId: 1 });
  });

  it('soft DeviceReset during a run: reply first, Run → RESET, then IDLE with tensors, queue and counters cleared', async () => {
    const h = await ready();
    await h.code('Curvature', { form: 'dense', a: f64([1], [1, 1, 1]), lambda: 0 }); // one queued error
    const run = h.send('Run', LONG_RUN);
    await h.ok('Heartbeat', { nonce: 1 });
    const reset = h.send('DeviceReset', {});
    expect((await reset.answer).ok).toBe(true);
    const r = await run.answer;
    expect(!r.ok && r.code).toBe(ErrorCode.RESET);
    const s = await h.ok('Status', {});
    expect(s).toMatchObject({ state: 'IDLE', n: 0, hasCurvature: false, hasGradient: false, errorQueueLength: 0, runId: 0, openTransfers: 0 });
    expect(s.counters.framesOk).toBe(1); // only this Status since the reset
    expect(await h.code('Curvature', { form: 'dense', a: f64(A4, [4, 4]), lambda: 0 })).toBe(ErrorCode.NOT_CONFIGURED);
    // identity and session survive a soft reset
    expect((await h.ok('Heartbeat', { nonce: 5 })).state).toBe('IDLE');
  });

  it('after a soft or hard reset the same uploads and runs give the same result bytes as after power-on', async () => {
    const script = async (h: TestHost): Promise<string> => {
      await loadSystem(h, { ...CONFIG, kappa0: 0.05 });
      await h.ok('Run', { durationTau: 3, start: 'reset' });
      const r = await h.ok('Results', { vectors: 'both', dtype: 'f64' });
      return Buffer.concat([r.mean!.data, r.final!.data]).toString('hex');
    };
    const h = track(new TestHost(createEmulatedDevice({ seed: 7, maxCells: 16 })));
    await h.hello();
    const first = await script(h);
    const second = await script(h); // run index 1: other noise
    expect(second).not.toBe(first);
    await h.ok('DeviceReset', {});
    expect(await script(h)).toBe(first);
    await h.ok('DeviceReset', { hard: true });
    await h.hello();
    expect(await script(h)).toBe(first);
  });
});

describe('sample stream', () => {
  it('pushes SampleBlock events (EVENT|MORE, the last one EVENT only; the Run id) before the Run reply; SamplesRead returns the same blocks; seq is gap-free', async () => {
    const h = await ready({}, { ...CONFIG, kappa0: 0.02, samplePeriodTau: 0.1 });
    const run = h.send('Run', { durationTau: 20, start: 'reset', streamSamples: true });
    const reply = await run.answer;
    expect(reply.ok && reply.body.sampleCount).toBe(200);
    const events = h.frames.filter((f) => f.message.kind === 'SampleBlockEvent');
    expect(events.length).toBeGreaterThan(1);
    events.forEach((e, i) => {
      expect(e.header.requestId).toBe(run.id);
      // MORE (0x10) says "more blocks of this run follow": unset on the block with the last sample
      expect(e.header.flags).toBe(i < events.length - 1 ? 0x04 | 0x10 : 0x04);
    });
    expect(h.frames.indexOf(events[events.length - 1])).toBeLessThan(h.frames.findIndex((f) => f.message.kind === 'RunReply'));
    const bodies = events.map((e) => (e.message as { body: { seq: number; firstSample: number; data: { shape: number[] } } }).body);
    expect(bodies.map((b) => b.seq)).toEqual(bodies.map((_, i) => i));
    const samples = bodies.reduce((a, b) => a + b.data.shape[0], 0);
    expect(samples).toBe(200);
    expect(bodies[0].firstSample).toBe(1);
    // the ring keeps the last 64 blocks; reading from 0 starts at the oldest kept
    const sr = await h.ok('SamplesRead', { fromSeq: 0, maxBlocks: 3 });
    expect(sr.oldestSeq).toBe(Math.max(0, bodies.length - 64));
    expect(sr.blocks.map((b) => b.seq)).toEqual([sr.oldestSeq, sr.oldestSeq + 1, sr.oldestSeq + 2]);
    expect(sr.nextSeq).toBe(sr.oldestSeq + 3);
    const ev = events.find((e) => (e.message as { body: { seq: number } }).body.seq === sr.blocks[0].seq)!;
    expect(Buffer.from(sr.blocks[0].data.data).equals(Buffer.from((ev.message as { body: { data: { data: Uint8Array } } }).body.data.data))).toBe(true);
    // the mean of the streamed samples is the reported mean (no burn-in, whole window)
    const mean = new Float64Array(4);
    for (const b of bodies as unknown as { data: Parameters<typeof tensorToFloat64>[0] }[]) {
      const v = tensorToFloat64(b.data);
      for (let i = 0; i < v.length; i++) mean[i % 4] += v[i] / 200;
    }
    const res = tensorToFloat64((await h.ok('Results', { vectors: 'mean', dtype: 'f64' })).mean!);
    for (let i = 0; i < 4; i++) expect(Math.abs(mean[i] - res[i])).toBeLessThan(1e-12 * (1 + Math.abs(res[i])));
  });
});

describe('flow control toward a slow host', () => {
  it('a streamed run waits while the host does not read (output held near the 1 MiB high-water mark), then continues', async () => {
    const h = track(new TestHost(createEmulatedDevice({ maxCells: 64 })));
    await h.hello();
    await h.ok('Configure', { ...CONFIG, kappa0: 0.01, samplePeriodTau: 0.05 });
    const n = 64;
    const eye = Array.from({ length: n * n }, (_, i) => (i % (n + 1) === 0 ? 1 : 0));
    await h.ok('Curvature', { form: 'dense', a: { ref: await h.bulk(eye, [n, n]) }, lambda: 0 });
    await h.ok('Gradient', { g: f64(new Array(n).fill(0.5)) });
    // 1e5 τ = 2·10⁶ samples of 512 bytes: ~1 GB of events if nothing held it back
    const run = h.send('Run', { durationTau: 1e5, start: 'reset', streamSamples: true });
    h.device.pause();
    await new Promise((r) => setTimeout(r, 300));
    expect(h.device.readableLength).toBeLessThan(1.1 * 2 ** 20);
    h.device.resume();
    const events = () => h.frames.filter((f) => f.message.kind === 'SampleBlockEvent').length;
    const before = events();
    await new Promise((r) => setTimeout(r, 100));
    expect(events()).toBeGreaterThan(before); // running again
    await h.ok('Abort', {});
    const r = await run.answer;
    expect(!r.ok && r.code).toBe(ErrorCode.ABORTED);
  });
});

describe('run options and outcomes', () => {
  it('delay with no previous run evolves under the committed system (PROTOCOL.md §7.6); with κ₀ = 0 it equals a longer carried run', async () => {
    const h = await ready();
    const d = await h.ok('Run', { durationTau: 2, start: 'reset', delayTau: 1 });
    expect(d.analogTimeTau).toBeCloseTo(3, 12);
    const withDelay = await h.ok('Results', { vectors: 'final', dtype: 'f64' });
    // same system throughout: final state after 1 + 2 τ from 0 equals that of a 3 τ run from 0
    await h.ok('Run', { durationTau: 3, start: 'reset' });
    const plain = await h.ok('Results', { vectors: 'final', dtype: 'f64' });
    const a = tensorToFloat64(withDelay.final!);
    const b = tensorToFloat64(plain.final!);
    for (let i = 0; i < 4; i++) expect(a[i]).toBe(b[i]);
  });

  it('delay after a run evolves under the previous A and g before switching to the new ones', async () => {
    const h = await ready();
    await h.ok('Run', { durationTau: 50, start: 'reset' }); // x ≈ A⁻¹g
    await h.ok('Gradient', { g: f64(G4.map((v) => -v)) });
    // a long delay under the old g keeps x at A⁻¹g; then 1 τ toward −A⁻¹g
    await h.ok('Run', { durationTau: 1, start: 'carry', delayTau: 30 });
    const delayed = tensorToFloat64((await h.ok('Results', { vectors: 'final', dtype: 'f64' })).final!);
    // without delay, from the same x: identical (delay under the old system is a fixed point)
    await h.ok('Gradient', { g: f64(G4) });
    await h.ok('Run', { durationTau: 50, start: 'reset' });
    await h.ok('Gradient', { g: f64(G4.map((v) => -v)) });
    await h.ok('Run', { durationTau: 1, start: 'carry' });
    const direct = tensorToFloat64((await h.ok('Results', { vectors: 'final', dtype: 'f64' })).final!);
    for (let i = 0; i < 4; i++) expect(Math.abs(delayed[i] - direct[i])).toBeLessThan(1e-9);
  });

  it('an unstable Euler step (δt·λmax ≥ 1.875) is refused: OUT_OF_RANGE with detail unstable-step, device READY, counters and results unchanged', async () => {
    const h = await ready({ seed: 3 }, { ...CONFIG, kappa0: 0.01 });
    await h.ok('Run', { durationTau: 1, start: 'reset' });
    const resultsBefore = await h.ok('Results', { vectors: 'both', dtype: 'f64' });
    const before = await h.ok('Status', {});
    // A = 10·I: λmax = 10, the device accepts δt < 0.1875; δt = 0.5 would grow the state by 4× per step
    await h.ok('Curvature', { form: 'dense', a: f64([10, 0, 0, 0, 0, 10, 0, 0, 0, 0, 10, 0, 0, 0, 0, 10], [4, 4]), lambda: 0 });
    await h.ok('Configure', { ...CONFIG, kappa0: 0.01, integrator: { kind: 'euler', dtTau: 0.5 } });
    const a = await h.request('Run', { durationTau: 500, start: 'gradient' });
    expect(a.ok).toBe(false);
    if (a.ok) return;
    expect(a.code).toBe(ErrorCode.OUT_OF_RANGE);
    expect(a.error.requestType).toBe(OPERATIONS.Run.type);
    const d = a.error.body.detail as Record<string, unknown>;
    expect(d).toMatchObject({ reason: 'unstable-step', dtTau: 0.5, segment: 'main' });
    expect(Math.abs((d.lambdaMax as number) - 10)).toBeLessThan(1e-2);
    expect(Math.abs((d.maxStableDtTau as number) - 0.1875)).toBeLessThan(2e-4);
    expect(a.error.body.message).toMatch(/unstable.*exact integrator/);
    const after = await h.ok('Status', {});
    expect(after).toMatchObject({ state: 'READY', runId: before.runId, runIndex: before.runIndex });
    expect(await h.ok('Results', { vectors: 'both', dtype: 'f64' })).toEqual(resultsBefore);
    // with a delay and no previous system the device would prime one (EMULATED-DEVICE.md §3.4): refused before that too
    const fresh = await ready({ seed: 3 }, { ...CONFIG, integrator: { kind: 'euler', dtTau: 0.5 } });
    const d2 = await fresh.request('Run', { durationTau: 5, start: 'reset', delayTau: 1 });
    expect(d2.ok ? 'ran' : d2.code).toBe(ErrorCode.OUT_OF_RANGE);
    expect(await fresh.ok('Status', {})).toMatchObject({ state: 'READY', runId: 0, runIndex: 0 });
    // a stable step then runs, with the next run index
    await h.ok('Configure', { ...CONFIG, kappa0: 0.01, integrator: { kind: 'euler', dtTau: 0.125 }, samplePeriodTau: 0.5 });
    expect(await h.ok('Run', { durationTau: 5, start: 'gradient' })).toMatchObject({ runId: before.runId + 1, runIndex: before.runIndex! + 1, flags: [] });
  });

  it('a state leaving ±1e150 (g = 1e300 on λ = 1e−3, stable step) ends the run with flag diverged and no vectors; the device stays READY', async () => {
    const h = await ready({}, { ...CONFIG, integrator: { kind: 'euler', dtTau: 0.5 } });
    await h.ok('Curvature', { form: 'dense', a: f64([1e-3, 0, 0, 0, 0, 1, 0, 0, 0, 0, 1, 0, 0, 0, 0, 1], [4, 4]), lambda: 0 });
    await h.ok('Gradient', { g: f64([1e300, 0, 0, 0]) });
    const r = await h.ok('Run', { durationTau: 500, start: 'reset' });
    expect(r.flags).toEqual(['diverged']);
    expect(await h.code('ResultsRead', { field: 'final', dtype: 'f64', offset: 0, count: 1 })).toBe(ErrorCode.NO_RESULTS);
    expect((await h.ok('Status', {})).state).toBe('READY');
  });

  it('readout gates the vectors: readout final → mean is NO_RESULTS', async () => {
    const h = await ready({}, { ...CONFIG, readout: 'final' });
    await h.ok('Run', { durationTau: 1, start: 'reset' });
    expect(await h.code('Results', { vectors: 'mean', dtype: 'f64' })).toBe(ErrorCode.NO_RESULTS);
    expect((await h.ok('Results', { vectors: 'final', dtype: 'f32' })).final!.dtype).toBe('f32');
  });

  it('configuration errors are answered: κ₀ out of range, burn-in not a multiple of the sample period, unknown profile', async () => {
    const h = track(new TestHost(createEmulatedDevice({ capabilities: { kappa0Max: 0.1 } })));
    await h.hello();
    expect(await h.code('Configure', { ...CONFIG, kappa0: 0.2 })).toBe(ErrorCode.KAPPA_OUT_OF_RANGE);
    expect(await h.code('Configure', { ...CONFIG, burnInTau: 0.3 })).toBe(ErrorCode.OUT_OF_RANGE);
    expect(await h.code('Configure', { ...CONFIG, profile: 'golden' })).toBe(ErrorCode.OUT_OF_RANGE);
    expect((await h.ok('Status', {})).state).toBe('IDLE');
  });

  it('Configure with another seed re-realises the committed system on a new core: results as if uploaded under that seed', async () => {
    const h = await ready({ seed: 1, profile: 'prototype' }, { ...CONFIG, kappa0: 0.05 });
    await h.ok('Configure', { ...CONFIG, kappa0: 0.05, seed: 2 });
    await h.ok('Run', { durationTau: 2, start: 'reset' });
    const reSeeded = (await h.ok('Results', { vectors: 'both', dtype: 'f64' })).mean!.data;
    const g = track(new TestHost(createEmulatedDevice({ seed: 2, profile: 'prototype', maxCells: 64, maxRank: 8 })));
    await g.hello();
    await loadSystem(g, { ...CONFIG, kappa0: 0.05 });
    await g.ok('Run', { durationTau: 2, start: 'reset' });
    const fresh = (await g.ok('Results', { vectors: 'both', dtype: 'f64' })).mean!.data;
    expect(Buffer.from(reSeeded).equals(Buffer.from(fresh))).toBe(true);
  });
});
