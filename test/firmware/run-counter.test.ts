// The run counter on the wire (PROTOCOL.md §7.3.1, protocol 1.1): Configure.runIndex sets the
// noise run index of the next run; Configure, Status and Run replies report it; a device that does
// not advertise 'emulator' ignores it and never reports it.
import { afterEach, describe, expect, it } from 'vitest';
import { ErrorCode, FEATURES, OPERATIONS, encodeRawFrame, packPlain, tensorToFloat64 } from '../../src/protocol/index.ts';
import type { RequestBody } from '../../src/protocol/index.ts';
import { createEmulatedDevice } from '../../src/emulator/index.ts';
import type { EmulatorOptions } from '../../src/emulator/index.ts';
import { CONFIG, TestHost, f64 } from './host.ts';
import { A4, G4 } from './setup.ts';

const hosts: TestHost[] = [];
afterEach(() => {
  for (const h of hosts.splice(0)) h.close();
});

const NOISY: RequestBody<'Configure'> = { ...CONFIG, kappa0: 0.05, samplePeriodTau: 0.1 };
const X0 = [0.25, -0.5, 1, 0.125];

async function device(opts: EmulatorOptions = {}): Promise<TestHost> {
  const h = new TestHost(createEmulatedDevice({ maxCells: 16, maxRank: 8, seed: 5, ...opts }));
  hosts.push(h);
  await h.hello();
  return h;
}

async function load(h: TestHost, g = G4): Promise<void> {
  await h.ok('Curvature', { form: 'dense', a: f64(A4, [4, 4]), lambda: 0 });
  await h.ok('Gradient', { g: f64(g) });
}

/** mean ‖ final of the last run, as the f64 bytes the device sent. */
async function resultBytes(h: TestHost): Promise<string> {
  const r = await h.ok('Results', { vectors: 'both', dtype: 'f64' });
  return Buffer.concat([Buffer.from(r.mean!.data), Buffer.from(r.final!.data)]).toString('hex');
}

describe('Configure.runIndex', () => {
  it('a device configured with runIndex 3 gives the bytes of one that ran 3 times; every reply reports the counter', async () => {
    const a = await device();
    expect(await a.ok('Configure', NOISY)).toEqual({ state: 'READY', runIndex: 0 });
    const counters: number[] = [];
    for (const [k, g] of [G4, [0.5, 0.5, -1, 2], [-1, 0, 0.25, 1]].entries()) {
      await load(a, g);
      const r = await a.ok('Run', { durationTau: 1 + k, start: k === 0 ? 'gradient' : 'carry' });
      counters.push(r.runIndex!, (await a.ok('Status', {})).runIndex!);
    }
    expect(counters).toEqual([1, 1, 2, 2, 3, 3]);
    await load(a);
    await a.ok('StateSet', { x: f64(X0) });
    expect(await a.ok('Run', { durationTau: 2, start: 'carry' })).toMatchObject({ runId: 4, runIndex: 4 });
    const want = await resultBytes(a);

    const b = await device();
    expect(await b.ok('Configure', { ...NOISY, runIndex: 3 })).toEqual({ state: 'READY', runIndex: 3 });
    await load(b);
    await b.ok('StateSet', { x: f64(X0) });
    // runId counts this device's runs; the counter is what keys the noise
    expect(await b.ok('Run', { durationTau: 2, start: 'carry' })).toMatchObject({ runId: 1, runIndex: 4 });
    expect(await resultBytes(b)).toBe(want);

    // the counter can be set back: the same run again gives the same bytes, another index other bytes
    for (const [k, same] of [[3, true], [2, false]] as const) {
      expect((await b.ok('Configure', { ...NOISY, runIndex: k })).runIndex).toBe(k);
      await b.ok('StateSet', { x: f64(X0) });
      await b.ok('Run', { durationTau: 2, start: 'carry' });
      expect((await resultBytes(b)) === want).toBe(same);
    }
  });

  it('applies after a seed or profile change (which alone restarts the counter at 0); without either it keeps the counter', async () => {
    const h = await device();
    await h.ok('Configure', NOISY);
    await load(h);
    await h.ok('Run', { durationTau: 1, start: 'reset' });
    await h.ok('Run', { durationTau: 1, start: 'carry' });
    expect((await h.ok('Configure', { ...NOISY, kappa0: 0.01 })).runIndex).toBe(2);
    expect((await h.ok('Configure', { ...NOISY, seed: 6 })).runIndex).toBe(0);
    expect((await h.ok('Configure', { ...NOISY, seed: 7, runIndex: 40 })).runIndex).toBe(40);
    expect((await h.ok('Configure', { ...NOISY, profile: 'prototype', runIndex: 41 })).runIndex).toBe(41);
    // curvature, gradient and state survived (a run needs them)
    expect((await h.ok('Run', { durationTau: 1, start: 'carry' })).runIndex).toBe(42);
  });

  it('priming a delay and a not-positive-definite run: run id and run counter differ, as §7.3.1 says', async () => {
    const h = await device();
    await h.ok('Configure', NOISY);
    await load(h);
    // no previous run: the device primes the delay with an empty run (one more index)
    expect(await h.ok('Run', { durationTau: 1, start: 'reset', delayTau: 0.5 })).toMatchObject({ runId: 1, runIndex: 2 });
    // not positive definite: answered at once, a run id but no index
    await h.ok('Curvature', { form: 'dense', a: f64([1, 2, 0, 0, 2, 1, 0, 0, 0, 0, 1, 0, 0, 0, 0, 1], [4, 4]), lambda: 0 });
    expect(await h.ok('Run', { durationTau: 1, start: 'reset' })).toMatchObject({ runId: 2, runIndex: 2, flags: ['not-positive-definite'] });
    expect(await h.ok('Status', {})).toMatchObject({ runId: 2, runIndex: 2 });
    await h.ok('DeviceReset', {});
    expect(await h.ok('Status', {})).toMatchObject({ state: 'IDLE', runId: 0, runIndex: 0 });
  });

  it('range: at 2^32 − 1 a Run is refused OUT_OF_RANGE (reason limit) and nothing changes; 2^32 − 2 runs once', async () => {
    const h = await device();
    await h.ok('Configure', { ...NOISY, runIndex: 0xffffffff });
    await load(h);
    const e = await h.request('Run', { durationTau: 1, start: 'reset' });
    expect(e.ok ? null : [e.code, e.error.body.detail?.reason]).toEqual([ErrorCode.OUT_OF_RANGE, 'limit']);
    expect(await h.ok('Status', {})).toMatchObject({ state: 'READY', runId: 0, runIndex: 0xffffffff });
    await h.ok('Configure', { ...NOISY, runIndex: 0xfffffffe });
    // a delay with no previous run would need a priming run too: refused before priming
    expect(await h.code('Run', { durationTau: 1, start: 'reset', delayTau: 0.5 })).toBe(ErrorCode.OUT_OF_RANGE);
    expect((await h.ok('Status', {})).runIndex).toBe(0xfffffffe);
    expect((await h.ok('Run', { durationTau: 1, start: 'reset' })).runIndex).toBe(0xffffffff);
    // a value past u32 is not a run index: the schema refuses it (hand-built frame: the host codec would not send it)
    const id = h.allocId();
    const bad = await h.rawRequest(encodeRawFrame({ version: 1, flags: 0, type: OPERATIONS.Configure.type, requestId: id }, packPlain({ ...NOISY, runIndex: 2 ** 32 })), id);
    expect(bad.message.kind === 'Error' && bad.message.body.code).toBe(ErrorCode.SCHEMA_INVALID);
    expect((await h.ok('Status', {})).runIndex).toBe(0xffffffff);
  });

  it("a device without the 'emulator' feature ignores runIndex and never reports it (as hardware must)", async () => {
    const features = FEATURES.filter((f) => f !== 'emulator');
    const hw = await device({ capabilities: { features } });
    const reply = await hw.ok('Configure', { ...NOISY, runIndex: 9 });
    expect(reply).toEqual({ state: 'READY' });
    await load(hw);
    await hw.ok('StateSet', { x: f64(X0) });
    const run = await hw.ok('Run', { durationTau: 2, start: 'carry' });
    expect('runIndex' in run).toBe(false);
    expect('runIndex' in (await hw.ok('Status', {}))).toBe(false);
    // ignored, not applied: the noise is that of run 0
    const emu = await device();
    await emu.ok('Configure', NOISY);
    await load(emu);
    await emu.ok('StateSet', { x: f64(X0) });
    await emu.ok('Run', { durationTau: 2, start: 'carry' });
    expect(await resultBytes(hw)).toBe(await resultBytes(emu));
    expect(tensorToFloat64((await emu.ok('Results', { vectors: 'mean', dtype: 'f64' })).mean!).every(Number.isFinite)).toBe(true);
  });
});
