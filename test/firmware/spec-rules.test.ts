// Rules an outside host implementation needed stated (issue 9), checked on the emulated device:
// exact symmetry and how a host gets it (PROTOCOL.md §7.4), the factored upload rules refused at
// upload (§7.4.1), the ResultsRead slice formula (§7.7) and the end of a sample stream (§7.8).
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { afterEach, describe, expect, it } from 'vitest';
import { ErrorCode, maxInnerBytes, tensorFromFloat64 } from '../../src/protocol/index.ts';
import type { RequestBody } from '../../src/protocol/index.ts';
import { createEmulatedDevice } from '../../src/emulator/index.ts';
import { CONFIG, TestHost, f64 } from './host.ts';

const hosts: TestHost[] = [];
afterEach(() => {
  for (const h of hosts.splice(0)) h.close();
});

async function device(maxFrameBytes = 65535, config: RequestBody<'Configure'> = CONFIG): Promise<TestHost> {
  const h = new TestHost(createEmulatedDevice({ maxCells: 512, maxRank: 16, now: () => 0 }));
  hosts.push(h);
  await h.hello(maxFrameBytes);
  await h.ok('Configure', config);
  return h;
}

/** Deterministic pseudo-random numbers in (−1, 1) (xorshift32, seed stated). */
function rand(seed: number): () => number {
  let s = seed >>> 0;
  return () => {
    s ^= s << 13;
    s >>>= 0;
    s ^= s >>> 17;
    s ^= s << 5;
    s >>>= 0;
    return s / 2 ** 31 - 1;
  };
}

describe('§7.4: dense A must be exactly symmetric; the symmetrisation the spec gives makes it so', () => {
  it('s·JᵀHJ formed as (s·JᵀH)·J is off by ulps across the diagonal and refused; 0.5·(a_ij + a_ji) is accepted, in f64 and in f32', async () => {
    const n = 12;
    const r = 5;
    const s = 0.37;
    const u = rand(20260601);
    const J = Array.from({ length: r * n }, u);
    const Hb = Array.from({ length: r * r }, u);
    const H = Hb.map((_, k) => Hb[Math.floor(k / r) * r + (k % r)] + Hb[(k % r) * r + Math.floor(k / r)] + (Math.floor(k / r) === k % r ? 2 * r : 0)); // symmetric, diagonally dominant
    // what a numpy user writes: T = s·(Jᵀ H), then A = T·J + I
    const T = Array.from({ length: n * r }, (_, k) => {
      const i = Math.floor(k / r);
      const l = k % r;
      let acc = 0;
      for (let m = 0; m < r; m++) acc += J[m * n + i] * H[m * r + l];
      return s * acc;
    });
    const A = Array.from({ length: n * n }, (_, k) => {
      const i = Math.floor(k / n);
      const j = k % n;
      let acc = 0;
      for (let l = 0; l < r; l++) acc += T[i * r + l] * J[l * n + j];
      return acc + (i === j ? 1 : 0);
    });
    const asym = A.filter((v, k) => v !== A[(k % n) * n + Math.floor(k / n)]).length;
    expect(asym).toBeGreaterThan(0); // the premise: rounding broke symmetry
    const h = await device();
    const refused = await h.request('Curvature', { form: 'dense', a: f64(A, [n, n]), lambda: 0 });
    expect(refused.ok).toBe(false);
    if (!refused.ok) {
      expect(refused.code).toBe(ErrorCode.OUT_OF_RANGE);
      expect(refused.error.body.detail).toMatchObject({ reason: 'not-symmetric', field: 'a' });
    }
    const sym = A.map((v, k) => {
      const i = Math.floor(k / n);
      const j = k % n;
      return i === j ? v : 0.5 * (A[i * n + j] + A[j * n + i]);
    });
    expect(sym.every((v, k) => v === sym[(k % n) * n + Math.floor(k / n)])).toBe(true);
    expect((await h.ok('Curvature', { form: 'dense', a: f64(sym, [n, n]), lambda: 0 })).n).toBe(n);
    expect((await h.ok('Curvature', { form: 'dense', a: tensorFromFloat64(sym, [n, n], 'f32'), lambda: 0 })).n).toBe(n);
  });
});

describe('§7.4.1: factored upload rules are refused at upload and change nothing', () => {
  const J = f64([1, 0, 0.5, 0, 1, -0.5], [2, 3]);
  const cases: [string, RequestBody<'Curvature'>, Record<string, unknown>][] = [
    ['lambda 0', { form: 'factored', j: J, core: { kind: 'identity' }, scale: 1, lambda: 0 }, { reason: 'lambda-not-positive', field: 'lambda' }],
    ['d with a negative entry', { form: 'factored', j: J, core: { kind: 'diagonal', d: f64([0.5, -1e-300]) }, scale: 1, lambda: 0.1 }, { reason: 'negative-diagonal', field: 'core.d', index: 1 }],
    ['indefinite dense H', { form: 'factored', j: J, core: { kind: 'dense', h: f64([1, 1.5, 1.5, 1], [2, 2]) }, scale: 1, lambda: 0.1 }, { reason: 'not-positive-semidefinite', field: 'core.h' }],
    ['an indefinite second block', { form: 'factored', j: J, core: { kind: 'block', dz: 1, blocks: f64([1, -0.25], [2, 1, 1]) }, scale: 1, lambda: 0.1 }, { reason: 'not-positive-semidefinite', field: 'core.blocks', block: 1 }],
  ];
  for (const [what, body, detail] of cases)
    it(`${what}: OUT_OF_RANGE with detail ${JSON.stringify(detail)}; curvatureId and Status unchanged`, async () => {
      const h = await device();
      const first = await h.ok('Curvature', { form: 'factored', j: J, core: { kind: 'identity' }, scale: 1, lambda: 0.5 });
      const a = await h.request('Curvature', body);
      expect(a.ok).toBe(false);
      if (!a.ok) {
        expect(a.code).toBe(ErrorCode.OUT_OF_RANGE);
        expect(a.error.body.detail).toMatchObject(detail);
      }
      expect(await h.ok('Status', {})).toMatchObject({ n: 3, hasCurvature: true });
      // the next successful upload is the second one: nothing was committed in between
      expect((await h.ok('Curvature', { form: 'factored', j: J, core: { kind: 'identity' }, scale: 1, lambda: 0.5 })).curvatureId).toBe(first.curvatureId + 1);
    });

  it('a PSD H at the edge of the test (a rank-1 block, d = 0) is accepted and runs without a flag', async () => {
    const h = await device();
    await h.ok('Curvature', { form: 'factored', j: J, core: { kind: 'dense', h: f64([1, 1, 1, 1], [2, 2]) }, scale: 1, lambda: 0.1 });
    await h.ok('Gradient', { g: f64([1, 0, -1]) });
    expect((await h.ok('Run', { durationTau: 1, start: 'reset' })).flags).toEqual([]);
    await h.ok('Curvature', { form: 'factored', j: J, core: { kind: 'diagonal', d: f64([0, 2]) }, scale: 1, lambda: 0.1 });
    expect((await h.ok('Run', { durationTau: 1, start: 'reset' })).flags).toEqual([]);
  });
});

describe('§7.7: ResultsRead slices', () => {
  for (const M of [1024, 4096, 65535])
    it(`host limit ${M}: a slice of ⌊(maxInner − 12 − 160)/itemsize⌋ elements fits, in f64 and f32; twice the frame's bytes is REPLY_TOO_LARGE`, async () => {
      const n = 500; // f32 uploads: each fits the device's 4096-byte receive limit
      const h = await device(M);
      await h.ok('Curvature', { form: 'factored', j: tensorFromFloat64(new Array<number>(n).fill(0.01), [1, n], 'f32'), core: { kind: 'identity' }, scale: 1, lambda: 1 });
      await h.ok('Gradient', { g: tensorFromFloat64(Array.from({ length: n }, (_, i) => Math.sin(i)), [n], 'f32') });
      await h.ok('Run', { durationTau: 1, start: 'reset' });
      for (const [dtype, size] of [['f64', 8], ['f32', 4]] as const) {
        const per = Math.floor((maxInnerBytes(M) - 12 - 160) / size);
        const count = Math.min(per, n);
        const r = await h.ok('ResultsRead', { field: 'final', dtype, offset: n - count, count });
        expect(r.data.shape).toEqual([count]);
        if (per < n) expect(await h.code('ResultsRead', { field: 'final', dtype, offset: 0, count: Math.min(n, 2 * per) })).toBe(ErrorCode.REPLY_TOO_LARGE);
      }
      expect(await h.code('ResultsRead', { field: 'mean', dtype: 'f64', offset: n - 1, count: 2 })).toBe(ErrorCode.OUT_OF_RANGE);
    });
});

describe('§7.8: MORE marks "more blocks of this run follow"', () => {
  it('a sample split over several blocks by cellOffset: only the last cell range of the last sample lacks MORE', async () => {
    const n = 300; // 2400 bytes per sample: more than a 1024-byte host frame holds
    const h = await device(1024, { ...CONFIG, samplePeriodTau: 0.5 });
    await h.ok('Curvature', { form: 'factored', j: f64(new Array<number>(n).fill(0.01), [1, n]), core: { kind: 'identity' }, scale: 1, lambda: 1 });
    await h.ok('Gradient', { g: f64(new Array<number>(n).fill(0.5)) });
    const run = h.send('Run', { durationTau: 2, start: 'reset', streamSamples: true });
    const reply = await run.answer;
    expect(reply.ok && reply.body.sampleCount).toBe(4);
    const events = h.frames.filter((f) => f.message.kind === 'SampleBlockEvent');
    const bodies = events.map((e) => (e.message as { body: { firstSample: number; cellOffset: number; data: { shape: number[] } } }).body);
    expect(new Set(bodies.map((b) => b.cellOffset)).size).toBeGreaterThan(1);
    const last = bodies[bodies.length - 1];
    expect(last.firstSample + last.data.shape[0] - 1).toBe(4);
    expect(last.cellOffset + last.data.shape[1]).toBe(n);
    expect(events.map((e) => e.header.flags & 0x10)).toEqual(events.map((_, i) => (i < events.length - 1 ? 0x10 : 0)));
  });

  it('an aborted streamed run: at most its final event lacks MORE, and every event precedes the ABORTED error', async () => {
    const h = await device(65535, { ...CONFIG, samplePeriodTau: 0.05 });
    await h.ok('Curvature', { form: 'dense', a: f64([2, 0, 0, 1], [2, 2]), lambda: 0 });
    await h.ok('Gradient', { g: f64([1, 1]) });
    const run = h.send('Run', { durationTau: 1e6, start: 'reset', streamSamples: true });
    while (!h.frames.some((f) => f.message.kind === 'SampleBlockEvent')) await new Promise((r) => setTimeout(r, 5));
    await h.ok('Abort', {});
    const a = await run.answer;
    expect(!a.ok && a.code).toBe(ErrorCode.ABORTED);
    const events = h.frames.filter((f) => f.message.kind === 'SampleBlockEvent' && f.header.requestId === run.id);
    expect(events.slice(0, -1).every((e) => e.header.flags & 0x10)).toBe(true);
    const errorAt = h.frames.findIndex((f) => f.message.kind === 'Error' && f.header.requestId === run.id);
    expect(h.frames.indexOf(events[events.length - 1])).toBeLessThan(errorAt);
  });
});

describe('§7.6 flags on the wire; §14 vector notes', () => {
  it("a run that hits the rails and clips the ADC reports 'saturated' and 'clipped' (the physics' adc-clipped), every flag from the §7.6 table", async () => {
    const h = new TestHost(createEmulatedDevice({ profile: 'prototype', now: () => 0 }));
    hosts.push(h);
    await h.hello();
    await h.ok('Configure', { ...CONFIG, integrator: { kind: 'exact' } });
    await h.ok('Curvature', { form: 'dense', a: f64([1, 0, 0, 1], [2, 2]), lambda: 0 });
    await h.ok('Gradient', { g: f64([20, -20]) }); // A⁻¹g = ±20, beyond the ±8 rails
    const run = await h.ok('Run', { durationTau: 20, start: 'reset' });
    const res = await h.ok('Results', { vectors: 'none', dtype: 'f64' });
    expect(res.clipCount).toBeGreaterThan(0);
    expect(res.saturationCount).toBeGreaterThan(0);
    expect([...run.flags].sort()).toEqual(['clipped', 'saturated']);
    expect(res.flags).toEqual(run.flags);
    const spec = readFileSync(join(import.meta.dirname, '..', '..', 'firmware-spec', 'PROTOCOL.md'), 'utf8');
    const table = spec.slice(spec.indexOf('| flag | meaning |'), spec.indexOf('An emulator refuses a Run whose Euler step'));
    for (const f of run.flags) expect(table).toContain(`| \`${f}\` |`);
  });

  it('the HelloReply vector names, in its note, every capability it sets unlike the emulated device', async () => {
    const v = JSON.parse(readFileSync(join(import.meta.dirname, '..', '..', 'firmware-spec', 'vectors', 'protocol', 'messages', 'HelloReply.json'), 'utf8')) as {
      note?: string;
      message: { body: { capabilities: Record<string, unknown> } };
    };
    const h = new TestHost(createEmulatedDevice({ now: () => 0 }));
    hosts.push(h);
    const caps = (await h.hello()).capabilities as Record<string, unknown>;
    const differing = Object.keys(caps).filter((k) => JSON.stringify(caps[k]) !== JSON.stringify(v.message.body.capabilities[k]));
    expect(differing.length).toBeGreaterThan(0);
    for (const k of differing) expect(v.note ?? '', k).toContain(k);
  });
});
