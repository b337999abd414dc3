// A factor J uploaded by bulk transfer is received straight into kernel memory and the core adopts
// it (one copy of J on the device). What that must not change: the result bytes (against a J the
// core copied), a new seed realising the committed J again, a recycled memory, and a transfer
// named twice in one request.
import { createHash } from 'node:crypto';
import { afterEach, describe, expect, it } from 'vitest';
import { createEmulatedDevice } from '../../src/emulator/index.ts';
import { adoptedBy } from '../../src/emulator/physics/kernels/store.ts';
import { TestHost, f64 } from './host.ts';

const hosts: TestHost[] = [];
afterEach(() => {
  for (const h of hosts.splice(0)) h.close();
});

// r·n·8 = 72 000 bytes: large enough for kernel memory (≥ 64 KiB); r odd (a half pair)
const N = 1000;
const R = 9;
const J = Float64Array.from({ length: R * N }, (_, i) => (i % 7 === 3 ? 0 : Math.sin(i * 0.37) * 0.2));
const D = Float64Array.from({ length: R }, (_, k) => 1 + k / 4);
const G = Float64Array.from({ length: N }, (_, i) => Math.cos(i * 0.11));

async function device(seed: number, opts: { maxCells?: number; maxRank?: number } = {}): Promise<TestHost> {
  const h = new TestHost(createEmulatedDevice({ maxCells: opts.maxCells ?? N, maxRank: opts.maxRank ?? 16, seed }));
  hosts.push(h);
  await h.hello();
  await configure(h, seed);
  return h;
}

async function configure(h: TestHost, seed: number): Promise<void> {
  await h.ok('Configure', { kappa0: 0.5, readout: 'both', samplePeriodTau: 0.5, windowTau: 0, burnInTau: 0, integrator: { kind: 'exact' }, seed });
}

async function runBytes(h: TestHost): Promise<string> {
  await h.ok('Run', { durationTau: 3, start: 'reset' });
  const r = await h.ok('Results', { vectors: 'both', dtype: 'f64' });
  return createHash('sha256').update(r.mean!.data).update(r.final!.data).digest('hex');
}

async function loadBulkJ(h: TestHost, values: Float64Array = J): Promise<void> {
  const ref = await h.bulk(values, [R, N]);
  await h.ok('Curvature', { form: 'factored', j: { ref }, core: { kind: 'diagonal', d: f64(D) }, scale: 0.5, lambda: 0.25 });
  await h.ok('Gradient', { g: { ref: await h.bulk(G, [N]) } });
}

describe('a J staged in kernel memory', () => {
  it('is adopted by the core, and a new seed realises the committed J again bit for bit', async () => {
    // A: seed 1, J adopted; then seed 2 (the committed J read back from the core's store)
    const a = await device(1);
    await loadBulkJ(a);
    await configure(a, 2);
    const viaReRealise = await runBytes(a);
    // B: seed 2 from the start (J adopted by that core)
    const b = await device(2);
    await loadBulkJ(b);
    const direct = await runBytes(b);
    expect(viaReRealise).toBe(direct);
  });

  it('a recycled staging memory (an aborted transfer full of other values) changes nothing', async () => {
    // A and B do the same (same run indices, so the same noise), but A first stages and aborts
    // another J, whose memory the pool then hands to the next J
    const other = Float64Array.from(J, (v) => -3 * v + 1);
    const second: string[] = [];
    for (const recycle of [true, false]) {
      const h = await device(3);
      await loadBulkJ(h);
      await runBytes(h);
      if (recycle) await h.ok('BulkAbort', { transferId: await h.bulk(other, [R, N]) });
      await loadBulkJ(h);
      second.push(await runBytes(h));
    }
    expect(second[0]).toBe(second[1]);
  });

  it('a transfer named as both J and core H gives what two transfers give', async () => {
    // r = N = 91: J [91, 91] = 66 248 bytes (kernel memory), symmetric positive definite so it can be H too
    const n = 91;
    const S = new Float64Array(n * n);
    for (let i = 0; i < n; i++)
      for (let j = 0; j < n; j++) S[i * n + j] = i === j ? 2 + (i % 3) : Math.exp(-Math.abs(i - j)) * 0.1;
    const g = Float64Array.from({ length: n }, (_, i) => Math.sin(i));
    const results: string[] = [];
    for (const shared of [true, false]) {
      const h = await device(5, { maxCells: n, maxRank: n });
      const jRef = await h.bulk(S, [n, n]);
      const hRef = shared ? jRef : await h.bulk(S, [n, n]);
      await h.ok('Curvature', { form: 'factored', j: { ref: jRef }, core: { kind: 'dense', h: { ref: hRef } }, scale: 0.01, lambda: 0.5 });
      await h.ok('Gradient', { g: f64(g) });
      results.push(await runBytes(h));
    }
    expect(results[0]).toBe(results[1]);
  });

  it('the staged array is the store\'s memory (one copy of J on the device)', async () => {
    // white-box: the board's core holds a store whose memory is the staging buffer
    const h = await device(7);
    const ref = await h.bulk(J, [R, N]);
    const board = (await import('../../src/emulator/index.ts')).boardOf(h.device as never);
    const staging = (board!.firmware as unknown as { dev: { staging: { tensor(id: number): { data: Buffer } } } }).dev.staging;
    const data = staging.tensor(ref).data;
    await h.ok('Curvature', { form: 'factored', j: { ref }, core: { kind: 'identity' }, scale: 1, lambda: 0.25 });
    const store = adoptedBy(new Float64Array(data.buffer, 0, R * N));
    expect(store).not.toBeNull();
    expect(store!.m.buffer).toBe(data.buffer);
    expect(Buffer.from(store!.rowMajor().buffer).equals(Buffer.from(J.buffer))).toBe(true);
  });
});
