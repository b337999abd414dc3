// State traces of TNGD runs (the live page's SPU panel): recording them streams sample blocks on
// some runs, which must not change training by a bit; and what they record is right — the host's
// target A⁻¹g is where a noiseless run ends, the cells are the ones named, the spread is √(κ₀(A⁻¹)ᵢᵢ).
import { describe, expect, it } from 'vitest';
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { train } from '../../src/host-loop/train/index.ts';
import { LiveRecorder } from '../../src/host-loop/run/live/recorder.ts';
import { DeviceRecordSchema, StateRecordSchema } from '../../src/host-loop/run/live/records.ts';
import { activeCells } from '../../src/host-loop/optimizers/tngd-trace.ts';
import { sameBytes, tempDir, untimed } from '../host-loop/train/helpers.ts';

const dir = tempDir('live-traces');
const base = { model: 'mlp:196-8-10', batch: 8, evalEvery: 4, checkpointEvery: 100, seed: 5, device: 'emu:?profile=ideal' };
/** a recorder that traces every run (no time budget) */
const everyRun = (root: string): LiveRecorder => new LiveRecorder({ root, title: 't', traceEveryMs: 0, traceShare: 1, reportEveryMs: 0 });

describe('state traces', () => {
  it('tracing every run leaves training bit-identical (κ₀ = 0.05, Euler, carry; 6 iterations)', async () => {
    const cfg = { ...base, iters: 6, optimizer: 'tngd', optimizerOptions: { lr: 0.1, damping: 0.1, kappa0: 0.05, tTau: 2, integrator: 'euler', dt: 0.1 } };
    const plain = await train(cfg, { out: join(dir, 'plain'), report: false });
    const traced = await train(cfg, { out: join(dir, 'traced'), report: false, observer: everyRun(join(dir, 'traced')) });
    expect(sameBytes(plain.params, traced.params)).toBe(true);
    expect(traced.records.map(untimed)).toEqual(plain.records.map(untimed));
    const state = StateRecordSchema.parse(JSON.parse(readFileSync(join(dir, 'traced', 'state.json'), 'utf8')));
    expect(state.traced).toBe(6);
    expect(state.traces.map((t) => t.iter)).toEqual([1, 2, 3, 4, 5, 6]);
    for (const t of state.traces) {
      expect(t.cells).toHaveLength(4);
      expect(t.tTau).toHaveLength(20); // t = 2τ sampled every Δ = δt = 0.1τ
      expect(t.tTau[0]).toBeCloseTo(0.1, 12);
      expect(t.x.every((col) => col.length === 20 && col.every((v) => v !== null && Number.isFinite(v)))).toBe(true);
      // σᵢ = √(κ₀ (A⁻¹)ᵢᵢ) with A ⪰ λI: at most √(κ₀/λ)
      for (const s of t.sd!) {
        expect(s).toBeGreaterThan(0);
        expect(s).toBeLessThanOrEqual(Math.sqrt(0.05 / 0.1) + 1e-12);
      }
    }
    expect(state.traces.every((t) => JSON.stringify(t.cells) === JSON.stringify(state.traces[0].cells))).toBe(true);
    const dev = DeviceRecordSchema.parse(JSON.parse(readFileSync(join(dir, 'traced', 'device.json'), 'utf8')));
    expect(dev.identity.model).toBe('spu-emulator');
    expect(dev.profile).toBe('ideal');
    expect(dev.linkSamples.at(-1)!.bytesOut).toBeGreaterThan(0);
  });

  it('with κ₀ = 0 a long run ends at the host-solved target A⁻¹g in every traced cell (λ = 1, t = 40τ, exact, reset)', async () => {
    const cfg = { ...base, iters: 2, optimizer: 'tngd', optimizerOptions: { lr: 0.1, damping: 1, kappa0: 0, tTau: 40, samplePeriod: 0.5, start: 'reset' } };
    await train(cfg, { out: join(dir, 'k0'), report: false, observer: everyRun(join(dir, 'k0')) });
    const state = StateRecordSchema.parse(JSON.parse(readFileSync(join(dir, 'k0', 'state.json'), 'utf8')));
    expect(state.traces).toHaveLength(2);
    for (const t of state.traces) {
      expect(t.tTau.at(-1)).toBeCloseTo(40, 9);
      t.cells.forEach((_, c) => {
        const target = t.target![c];
        const last = t.x[c].at(-1)!;
        // relaxation at rate ≥ λ = 1 for 40τ: e^{-40} ≈ 4e-18 of the start left
        expect(Math.abs(last - target)).toBeLessThanOrEqual(1e-9 * Math.max(1e-6, Math.abs(target)) + 1e-14);
        expect(t.x[c][0]).not.toBeCloseTo(target, 6); // and it did move there (x(0) = 0)
      });
      expect(t.sd).toEqual([0, 0, 0, 0]);
    }
  });

  it('exact integrator with κ₀ > 0: not traced by default (it would change the noise draws), and state.json says why; traced on request', async () => {
    const cfg = { ...base, iters: 3, optimizer: 'tngd', optimizerOptions: { lr: 0.1, damping: 0.1, kappa0: 1e-3, tTau: 2 } };
    const plain = await train(cfg, { out: join(dir, 'ex-plain'), report: false });
    const watched = await train(cfg, { out: join(dir, 'ex-watched'), report: false, observer: everyRun(join(dir, 'ex-watched')) });
    expect(sameBytes(plain.params, watched.params)).toBe(true);
    const state = StateRecordSchema.parse(JSON.parse(readFileSync(join(dir, 'ex-watched', 'state.json'), 'utf8')));
    expect(state.traced).toBe(0);
    expect(state.note).toMatch(/exact integrator and κ₀ > 0/);
    const anyRun = new LiveRecorder({ root: join(dir, 'ex-any'), title: 't', traceEveryMs: 0, traceShare: 1, reportEveryMs: 0, traceAnyRun: true });
    await train(cfg, { out: join(dir, 'ex-any'), report: false, observer: anyRun });
    expect(StateRecordSchema.parse(JSON.parse(readFileSync(join(dir, 'ex-any', 'state.json'), 'utf8'))).traced).toBe(3);
  });

  it('picks the cells with the largest |g| (a dark pixel’s weight has g = 0)', () => {
    expect(activeCells(Float64Array.from([0, -3, 0.5, 2, 0, 1]), 3)).toEqual([1, 3, 5]);
    expect(activeCells(new Float64Array(5), 2)).toEqual([0, 1]);
  });
});
