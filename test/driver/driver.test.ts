// The driver end to end on the emulator: results bit-identical to the physics core, transfer
// choices, dtype conversion, the asynchronous run loop, errors, handshake refusals, close, metrics.
// Behaviour under faults (liveness, reconnect and restore, late replies, timeouts) is the driver
// contract, run per link: contract.ts, contract.test.ts.
import { afterEach, describe, expect, it } from 'vitest';
import { connect } from '../../src/connect.ts';
import {
  ArgumentError,
  CapabilityError,
  DeviceError,
  HandshakeError,
  LinkError,
} from '../../src/driver/index.ts';
import type { SpuDriver } from '../../src/driver/index.ts';
import { PROFILES, SpuCore, rebootableDevice, createEmulatedDevice } from '../../src/emulator/index.ts';
import { ErrorCode } from '../../src/protocol/index.ts';
import { CONFIG, bitEqual, configureOptions, emulatedDriver, factoredSystem, reference, rewriteProxy } from './helpers.ts';
import { SpuDriver as Driver, duplexLink } from '../../src/driver/index.ts';

const open: SpuDriver[] = [];
afterEach(async () => {
  for (const d of open.splice(0)) await d.close();
});
async function track(p: Promise<SpuDriver>): Promise<SpuDriver> {
  const d = await p;
  open.push(d);
  return d;
}

describe('results are bit-identical to the physics core', () => {
  it('factored curvature by bulk transfer, inline gradient, two runs (reset, carry)', async () => {
    const sys = factoredSystem(300, 8, 3);
    const dev = await track(connect('emu:?seed=21&maxFrameBytes=4096', { heartbeatIntervalMs: 0 }));
    await dev.configure(configureOptions);
    const up = await dev.uploadCurvature({ form: 'factored', ...sys });
    expect(up).toMatchObject({ n: 300, r: 8, dtype: 'f64', bulkTransfers: 1, bytes: 300 * 8 * 8 + 16 * 8 });
    expect((await dev.uploadGradient(sys.g)).bulkTransfers).toBe(0);
    const a = await dev.run({ durationTau: 4, start: 'reset' }).result;
    const b = await dev.run({ durationTau: 2, start: 'carry' }).result;
    const [ra, rb] = reference(sys, 21, [
      { durationTau: 4, start: 'reset' },
      { durationTau: 2, start: 'carry' },
    ]);
    expect(bitEqual(a.mean, ra.mean) && bitEqual(a.final, ra.final)).toBe(true);
    expect(bitEqual(b.mean, rb.mean) && bitEqual(b.final, rb.final)).toBe(true);
    expect([a.sampleCount, b.sampleCount]).toEqual([ra.sampleCount, rb.sampleCount]);
    expect(b.runId).toBe(a.runId + 1);
  });

  it('inline and bulk transfer of the same system give the same bits; large results come in ResultsRead slices', async () => {
    const sys = factoredSystem(5000, 2, 4); // 5000 f64 mean + final do not fit one 65535-byte frame
    const results = [];
    for (const inline of [undefined, false] as const) {
      const dev = await track(connect('emu:?seed=2&maxCells=8192', { heartbeatIntervalMs: 0 }));
      await dev.configure(configureOptions);
      await dev.uploadCurvature({ form: 'factored', ...sys }, inline === false ? { inline: false } : {});
      await dev.uploadGradient(sys.g, inline === false ? { inline: false } : {});
      results.push(await dev.run({ durationTau: 2, start: 'gradient' }).result);
      const m = dev.metrics();
      expect(m.latency.ResultsRead?.count ?? 0).toBeGreaterThanOrEqual(2);
    }
    const [ref] = reference(sys, 2, [{ durationTau: 2, start: 'gradient' }], 8192);
    for (const r of results) expect(bitEqual(r.mean, ref.mean) && bitEqual(r.final, ref.final)).toBe(true);
  });

  it('f32 uploads equal the core fed Math.fround values; i16 uploads stay within DAC resolution', async () => {
    const sys = factoredSystem(40, 4, 5);
    const f32 = (v: Float64Array) => v.map(Math.fround);
    const core = new SpuCore({ maxCells: 4096, maxRank: 256, profile: PROFILES.ideal, seed: 9 });
    core.configure(CONFIG);
    core.setCurvatureFactored({ n: 40, r: 4, J: f32(sys.J), core: { kind: 'block', dz: 2, blocks: f32(sys.core.blocks) }, scale: sys.scale, lambda: sys.lambda });
    core.setGradient(f32(sys.g));
    const want = core.run({ durationTau: 3, start: 'reset' });
    const out: Record<string, Float64Array> = {};
    for (const dtype of ['f64', 'f32', 'i16'] as const) {
      const dev = await track(connect('emu:?seed=9', { heartbeatIntervalMs: 0, dtype }));
      await dev.configure({ ...configureOptions, kappa0: dtype === 'f32' ? CONFIG.kappa0 : 0 });
      expect((await dev.uploadCurvature({ form: 'factored', ...sys })).dtype).toBe(dtype);
      await dev.uploadGradient(sys.g);
      out[dtype] = (await dev.run({ durationTau: 3, start: 'reset' }).result).mean!;
    }
    expect(bitEqual(out.f32, want.mean)).toBe(true);
    // κ₀ = 0: i16 codes (relative step 2⁻¹⁵ of each tensor's range) move the solution by < 1e-3.
    const err = Math.max(...out.i16.map((v, i) => Math.abs(v - out.f64[i])));
    expect(err).toBeGreaterThan(0);
    expect(err).toBeLessThan(1e-3);
  });
});

describe('asynchronous run loop', () => {
  it('run() returns at once; an upload issued during the run waits for it and applies to the next run', async () => {
    const sys = factoredSystem(64, 4, 6);
    const dev = await track(connect('emu:?seed=3', { heartbeatIntervalMs: 0 }));
    await dev.configure({ ...configureOptions, integrator: { kind: 'euler', dtTau: 0.001 } });
    await dev.uploadCurvature({ form: 'factored', ...sys });
    await dev.uploadGradient(sys.g);
    const run = dev.run({ durationTau: 200, start: 'reset' });
    // status bypasses the queue of state-changing calls, so it sees the run in progress
    let during = await dev.status();
    for (let i = 0; i < 100 && during.state !== 'RUNNING'; i++) during = await dev.status();
    const g2 = sys.g.map((v) => -v); // "computing the next gradient" while the device runs
    const upload = dev.uploadGradient(g2);
    const first = await run.result;
    await upload;
    const second = await dev.run({ durationTau: 2, start: 'gradient' }).result;
    expect(during.state).toBe('RUNNING');
    expect(first.analogTimeTau).toBe(200);
    // x₀ = g for start 'gradient': the second run starts from −g, so its state moved toward A⁻¹(−g).
    expect(Math.sign(second.final![0])).toBe(Math.sign(-first.mean![0]) || 1);
  });

  it('streams sample blocks through an async iterator; abort ends a run with the aborted flag', async () => {
    const dev = await track(connect('emu:?seed=4', { heartbeatIntervalMs: 0 }));
    await dev.configure({ ...configureOptions, burnInTau: 0 });
    await dev.uploadCurvature({ form: 'dense', n: 3, A: [2, 0, 0, 0, 2, 0, 0, 0, 2], lambda: 0 });
    await dev.uploadGradient([1, 2, 3]);
    const h = dev.run({ durationTau: 5, start: 'reset', streamSamples: true });
    let rows = 0;
    for await (const b of h.samples()) {
      expect(b.cells).toBe(3);
      expect(b.values.length).toBe(b.count * 3);
      rows += b.count;
    }
    expect(rows).toBe((await h.result).sampleCount);
    await dev.configure({ ...configureOptions, integrator: { kind: 'euler', dtTau: 0.001 } });
    const long = dev.run({ durationTau: 1e6, start: 'reset' });
    await new Promise((r) => setTimeout(r, 30));
    const ab = await long.abort();
    const res = await long.result;
    expect(ab.aborted).toBe(true);
    expect(res.flags).toContain('aborted');
    expect(res.analogTimeTau).toBeLessThan(1e6);
  });
});

describe('errors', () => {
  it('checks arguments and capabilities on the host before sending anything', async () => {
    const dev = await track(connect('emu:?seed=1&maxCells=64&maxRank=8', { heartbeatIntervalMs: 0 }));
    await dev.configure(configureOptions);
    const framesBefore = dev.metrics().framesOut;
    const J = new Float64Array(9 * 64);
    await expect(dev.uploadCurvature({ form: 'factored', n: 65, r: 1, J: new Float64Array(65), core: { kind: 'identity' } })).rejects.toBeInstanceOf(CapabilityError);
    await expect(dev.uploadCurvature({ form: 'factored', n: 64, r: 9, J, core: { kind: 'identity' } })).rejects.toThrow(/rank r = 9 exceeds .* 8/);
    await expect(dev.uploadGradient([1, NaN])).rejects.toThrow(ArgumentError);
    await expect(dev.uploadCurvature({ form: 'dense', n: 2, A: [1, 2, 3] })).rejects.toThrow(/A has 3 values, expected 4/);
    await expect(dev.configure({ kappa0: 5 })).rejects.toThrow(/outside the device's range \[0, 1\]/);
    expect(() => dev.run({ durationTau: -1 })).toThrow(ArgumentError);
    expect(dev.metrics().framesOut).toBe(framesBefore);
  });

  it('device errors are typed with code and class; the queue is readable', async () => {
    const dev = await track(connect('emu:?seed=1', { heartbeatIntervalMs: 0 }));
    const e = await dev.uploadGradient([1, 2]).catch((x: unknown) => x);
    expect(e).toBeInstanceOf(DeviceError);
    expect(e).toMatchObject({ code: ErrorCode.NOT_CONFIGURED, codeName: 'NOT_CONFIGURED', errorClass: 'state', op: 'Gradient' });
    const q = await dev.readErrors();
    expect(q.entries.map((x) => x.code)).toEqual([ErrorCode.NOT_CONFIGURED]);
    expect(await dev.clearErrors()).toBe(0);
  });

  it('connect() validates URLs and emulator options with messages naming the culprit', async () => {
    await expect(connect('emu:?seed=abc')).rejects.toThrow(/seed must be an integer/);
    await expect(connect('emu:?sede=1')).rejects.toThrow(/unknown parameter\(s\) sede/);
    await expect(connect('emu:?profile=fancy')).rejects.toThrow(/profile must be one of ideal, prototype/);
    await expect(connect('tcp://127.0.0.1')).rejects.toBeInstanceOf(LinkError);
    await expect(connect('tcp://127.0.0.1:1', { linkTimeoutMs: 500 })).rejects.toThrow(/cannot connect/);
  });
});

describe('handshake', () => {
  it('refuses a device with another schema fingerprint unless told to warn', async () => {
    const edit = (m: Parameters<Parameters<typeof rewriteProxy>[1]>[0]) =>
      m.kind === 'HelloReply' ? { ...m, body: { ...m.body, schemaFingerprint: '0123456789abcdef' } } : m;
    const err = await emulatedDriver({}, {}, (d) => rewriteProxy(d, edit)).catch((e: unknown) => e);
    expect(err).toBeInstanceOf(HandshakeError);
    expect(err).toMatchObject({ reason: 'fingerprint' });
    expect(String(err)).toMatch(/device 0123456789abcdef, host [0-9a-f]{16}/);
    const ok = await track(emulatedDriver({}, { fingerprint: 'warn' }, (d) => rewriteProxy(d, edit)));
    expect(ok.info.schemaFingerprint).toBe('0123456789abcdef');
  });

  it('discards stale bytes a rebooting board sends before the handshake', async () => {
    const board = rebootableDevice(() => createEmulatedDevice({ seed: 1 }), { seed: 7, staleBytes: 300, staleOnPowerOn: true });
    const dev = await track(Driver.open(async () => duplexLink(board.factory(), 'stale'), { heartbeatIntervalMs: 0 }));
    expect(dev.info.identity.model).toBe('spu-emulator');
    expect(dev.metrics().bytesDiscarded).toBeGreaterThanOrEqual(250);
  });
});

describe('close', () => {
  it('close() leaves no timer behind, so a CLI command exits as soon as it is done', async () => {
    const timers = () => process.getActiveResourcesInfo().filter((r) => r === 'Timeout').length;
    const before = timers();
    const dev = await connect('emu:?seed=1', { heartbeatIntervalMs: 0 });
    await dev.status();
    await dev.close();
    await new Promise((r) => setImmediate(r));
    expect(timers()).toBe(before);
  });
});

describe('metrics', () => {
  it('counts bytes and frames both ways and keeps per-operation latency statistics', async () => {
    const dev = await track(connect('emu:?seed=1&link=bytes', { heartbeatIntervalMs: 0 }));
    for (let i = 0; i < 20; i++) await dev.heartbeat();
    const m = dev.metrics();
    expect(m.framesOut).toBe(m.framesIn + 1); // + the lone 0x00 written before Hello
    expect(m.bytesOut).toBeGreaterThan(20 * 12);
    expect(m.bytesIn).toBeGreaterThan(20 * 12);
    expect(m.latency.Heartbeat).toMatchObject({ count: 20 });
    const l = m.latency.Heartbeat;
    expect(l.minMs).toBeLessThanOrEqual(l.medianMs);
    expect(l.medianMs).toBeLessThanOrEqual(l.p90Ms);
    expect(l.p90Ms).toBeLessThanOrEqual(l.maxMs);
  });

  it('on the in-process message link counts messages as frames, and only the bytes that really travel', async () => {
    const dev = await track(connect('emu:?seed=1', { heartbeatIntervalMs: 0 }));
    for (let i = 0; i < 20; i++) await dev.heartbeat();
    const m = dev.metrics();
    expect(m.framesOut).toBe(m.framesIn + 1);
    expect(m.framesIn).toBeGreaterThanOrEqual(21); // Hello, Status, 20 heartbeats
    expect(m.bytesOut).toBe(1); // the resync delimiter before Hello
    expect(m.bytesIn).toBe(0);
    expect(m.latency.Heartbeat).toMatchObject({ count: 20 });
  });
});
