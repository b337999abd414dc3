// Bit-identical resume through the emulator (ideal profile, noise on, fixed seed): the device
// state (carried x, the noise counter, and with a delay the previous system) is checkpointed and
// put back on a fresh emulator, so 2k iterations = k, stop, resume to 2k — same parameter bytes,
// same metric lines apart from timings.
import { describe, expect, it } from 'vitest';
import { join } from 'node:path';
import { train, type ProgressSink } from '../../../src/host-loop/train/index.ts';
import { readCheckpoint } from '../../../src/host-loop/run/index.ts';
import { sameBytes, tempDir, untimed } from '../train/helpers.ts';

const dir = tempDir('tngd-resume');
const base = { model: 'mlp:196-8-10', batch: 8, evalEvery: 3, checkpointEvery: 3, seed: 21, device: 'emu:?profile=ideal' };

describe('TNGD resume through the emulator', () => {
  it('carry, κ₀ = 0.05, Euler: 12 iterations = 6, stop, resume to 12', async () => {
    const cfg = { ...base, optimizer: 'tngd', optimizerOptions: { lr: 0.1, damping: 0.1, kappa0: 0.05, tTau: 2, integrator: 'euler', dt: 0.1, start: 'carry' } };
    const full = await train({ ...cfg, iters: 12 }, { out: join(dir, 'carry-full'), report: false });
    const half = await train({ ...cfg, iters: 6 }, { out: join(dir, 'carry-half'), report: false });
    const ck = readCheckpoint(half.checkpointPath!);
    expect(ck.device).toMatchObject({ version: 1, coreRuns: 6, hasRun: true });
    const resumed = await train(undefined, { resume: join(dir, 'carry-half'), overrides: { iters: 12 }, report: false });
    expect(sameBytes(resumed.params, full.params)).toBe(true);
    expect(resumed.records.map(untimed)).toEqual(full.records.map(untimed));
    // the device did work: analog time and bytes on every line
    expect(full.records.every((r) => r.deviceTau === 2 && (r.bytesOut ?? 0) > 0 && (r.bytesIn ?? 0) > 0)).toBe(true);
  });

  it('the device noise reaches the parameters (another emulator seed, other bytes), so resume must restore the noise counter', async () => {
    const cfg = { ...base, optimizer: 'tngd', optimizerOptions: { lr: 0.1, damping: 0.1, kappa0: 0.05, tTau: 2, dt: 0.1 }, iters: 4 };
    const a = await train(cfg, { out: join(dir, 'seed-a'), report: false });
    const b = await train({ ...cfg, device: 'emu:?profile=ideal&seed=999' }, { out: join(dir, 'seed-b'), report: false });
    expect(sameBytes(a.params, b.params)).toBe(false);
  });

  it('TNGD-Adam, pipelined, exact integrator, delay 0.5τ: abort at 5, resume to 10', async () => {
    const cfg = {
      ...base,
      optimizer: 'tngd-adam',
      optimizerOptions: { lr: 3e-3, damping: 0.1, kappa0: 0.02, tTau: 1, dt: 0.1, delay: 0.5, pipelined: true },
      iters: 10,
    };
    const full = await train(cfg, { out: join(dir, 'pipe-full'), report: false });
    const ac = new AbortController();
    const progress: ProgressSink = { start() {}, update: (it) => (it === 5 ? ac.abort() : undefined), stop() {} };
    const cut = await train(cfg, { out: join(dir, 'pipe-cut'), report: false, signal: ac.signal, progress });
    expect(cut.interrupted).toBe(true);
    expect(cut.iterations).toBe(5);
    const ck = readCheckpoint(cut.checkpointPath!);
    // 5 runs + the device's priming run before the first delayed run; the readout of run 5 is
    // pending (pipelined) and the parameters of the last system are kept for the delay
    expect(ck.device).toMatchObject({ coreRuns: 6, hasRun: true });
    expect((ck.optimizer.state as { direction: { pending: string | null } }).direction.pending).not.toBeNull();
    const resumed = await train(undefined, { resume: join(dir, 'pipe-cut'), report: false });
    expect(sameBytes(resumed.params, full.params)).toBe(true);
    expect(resumed.records.map(untimed)).toEqual(full.records.map(untimed));
  });
});
