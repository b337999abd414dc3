// The in-process message link against the in-process byte link (emu:?link=bytes): the same
// firmware behind both, so the same seed and the same uploads must give the same result bytes,
// the same sample stream, the same device errors and the same device state.
import { afterEach, describe, expect, it } from 'vitest';
import { connect } from '../../src/connect.ts';
import type { SpuDriver } from '../../src/driver/index.ts';
import { configureOptions, factoredSystem } from './helpers.ts';

const open: SpuDriver[] = [];
afterEach(async () => {
  for (const d of open.splice(0)) await d.close();
});

async function session(url: string) {
  const dev = await connect(url, { heartbeatIntervalMs: 0 });
  open.push(dev);
  // N = 600, r = 16: J is 76.8 kB, so it goes by bulk transfer in many chunks
  const sys = factoredSystem(600, 16, 9);
  await dev.configure({ ...configureOptions, profile: 'prototype' });
  const up = await dev.uploadCurvature({ form: 'factored', ...sys });
  await dev.uploadGradient(sys.g);
  const streamed = dev.run({ durationTau: 2, start: 'reset', streamSamples: true });
  const samples: number[][] = [];
  for await (const b of streamed.samples()) samples.push([b.seq, b.firstSample, b.cellOffset, ...b.values]);
  const first = await streamed.result;
  const second = await dev.run({ durationTau: 3, start: 'carry', delayTau: 0.5 }).result;
  // a refused request: a gradient of the wrong length (checked on the device: sent inline)
  const refused = await dev.uploadGradient(new Float64Array(599), { inline: true }).catch((e: { code?: number; message: string }) => `${e.code}: ${e.message}`);
  const status = await dev.status();
  const errors = await dev.readErrors();
  return { up, first, second, samples, refused, status, errors, runIndex: dev.runIndex };
}

const bytesOf = (v: Float64Array | undefined) => Buffer.from(v!.buffer, v!.byteOffset, v!.byteLength).toString('hex');

describe('message link ≡ byte link', () => {
  it('same seed, same uploads: the same result bytes, samples, errors and device state', async () => {
    const m = await session('emu:?seed=21');
    const b = await session('emu:?seed=21&link=bytes');
    expect(m.up).toEqual(b.up);
    expect(m.up.bulkTransfers).toBeGreaterThan(0);
    for (const k of ['first', 'second'] as const) {
      expect(bytesOf(m[k].mean)).toBe(bytesOf(b[k].mean));
      expect(bytesOf(m[k].final)).toBe(bytesOf(b[k].final));
      expect({ ...m[k], mean: null, final: null }).toEqual({ ...b[k], mean: null, final: null });
    }
    // every streamed sample row of all 600 cells arrived (the stream is split across events by cells)
    expect(m.samples.reduce((k, b) => k + b.length - 3, 0)).toBeGreaterThanOrEqual(600 * m.first.sampleCount);
    expect(m.samples).toEqual(b.samples);
    expect(typeof m.refused).toBe('string');
    expect(m.refused).toBe(b.refused);
    expect(m.runIndex).toBe(b.runIndex);
    // Status differs only in uptime and the byte decoder's counters of what really was bytes.
    const strip = (s: typeof m.status) => ({ ...s, uptimeMs: 0, counters: { ...s.counters, framesOk: 0 } });
    expect(strip(m.status)).toEqual(strip(b.status));
    expect(m.status.counters.framesOk).toBe(b.status.counters.framesOk);
    expect(m.errors.entries.map((e) => [e.code, e.message, e.type])).toEqual(b.errors.entries.map((e) => [e.code, e.message, e.type]));
  });

  it('a reply larger than the host accepts is REPLY_TOO_LARGE on both links (sizes are checked as if encoded)', async () => {
    const answers: string[] = [];
    for (const url of ['emu:?seed=3', 'emu:?seed=3&link=bytes']) {
      const dev = await connect(url, { heartbeatIntervalMs: 0, hostMaxFrameBytes: 1024 });
      open.push(dev);
      const sys = factoredSystem(300, 8, 4);
      await dev.configure(configureOptions);
      await dev.uploadCurvature({ form: 'factored', ...sys });
      await dev.uploadGradient(sys.g);
      await dev.run({ durationTau: 3, start: 'reset' }).result;
      // Results with both vectors inline needs ~4.9 kB: the device must refuse it
      const r = await dev.channel.request('Results', { vectors: 'both', dtype: 'f64' }).catch((e: { codeName?: string; message: string }) => `${e.codeName}: ${e.message}`);
      answers.push(String(r));
    }
    expect(answers[0]).toMatch(/^REPLY_TOO_LARGE: .*ResultsReply needs \d+ encoded bytes, the host accepts 1024/);
    expect(answers[0]).toBe(answers[1]);
  });
});

describe('which in-process link an emu: URL opens', () => {
  it('messages by default; bytes for link=bytes and for byte pacing; link=messages with pacing is refused', async () => {
    const { emuLinkKind } = await import('../../src/connect.ts');
    expect(emuLinkKind('emu:', {})).toBe('messages');
    expect(emuLinkKind('emu:?link=bytes', { link: 'bytes' })).toBe('bytes');
    expect(emuLinkKind('emu:?rate=9600', { rate: '9600' })).toBe('bytes');
    expect(emuLinkKind('emu:', {}, { pacing: { linkBytesPerSecond: 9600 } })).toBe('bytes');
    expect(() => emuLinkKind('emu:?link=messages&rate=9600', { link: 'messages', rate: '9600' })).toThrow(/pacing paces bytes; it needs link=bytes/);
    await expect(connect('emu:?link=frames')).rejects.toThrow(/link must be messages or bytes/);
    const dev = await connect('emu:?seed=1', { heartbeatIntervalMs: 0 });
    open.push(dev);
    expect(dev.channel.link.messages).toBeDefined();
    const bytes = await connect('emu:?seed=1&link=bytes', { heartbeatIntervalMs: 0 });
    open.push(bytes);
    expect(bytes.channel.link.messages).toBeUndefined();
  });
});

describe('finiteness checks on large tensors (host and device)', () => {
  it('a NaN or ±Infinity anywhere in J is named by index: on the host before sending, on the device for a staged J', async () => {
    const dev = await connect('emu:?seed=1', { heartbeatIntervalMs: 0 });
    open.push(dev);
    await dev.configure(configureOptions);
    const sys = factoredSystem(600, 16, 3);
    for (const [k, bad] of [[0, NaN], [4711, Infinity], [sys.J.length - 1, -Infinity]] as const) {
      const J = Float64Array.from(sys.J);
      J[k] = bad;
      await expect(dev.uploadCurvature({ form: 'factored', ...sys, J })).rejects.toThrow(`J[${k}] = ${bad} is not a finite number`);
      // the device checks a staged J itself: bypass the host check with a hand-made upload
      const { bulkUpload } = await import('../../src/driver/bulk-upload.ts');
      const { float64Bytes } = await import('../../src/protocol/index.ts');
      const { pino } = await import('pino');
      const t = await bulkUpload(dev.channel, { dtype: 'f64', shape: [16, 600], order: 'le', data: float64Bytes(J) }, { deviceMaxFrameBytes: dev.capabilities.maxFrameBytes, log: pino({ level: 'silent' }) });
      const e = await dev.channel.request('Curvature', { form: 'factored', j: { ref: t.transferId }, core: { kind: 'identity' }, scale: 1, lambda: 0.1 }).catch((x: Error) => x);
      expect(String(e)).toContain(`J[${k}] is ${bad}`);
    }
  });
});

describe('frame size', () => {
  it('the emulator advertises 64 KiB frames (65535, the protocol maximum) unless told otherwise', async () => {
    const dev = await connect('emu:?seed=1', { heartbeatIntervalMs: 0 });
    open.push(dev);
    expect(dev.capabilities.maxFrameBytes).toBe(65535);
    const small = await connect('emu:?seed=1&maxFrameBytes=4096', { heartbeatIntervalMs: 0 });
    open.push(small);
    expect(small.capabilities.maxFrameBytes).toBe(4096);
  });
});
