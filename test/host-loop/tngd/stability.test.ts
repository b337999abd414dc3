// TNGD with the emulator's Euler integrator at the paper's δt = 0.1τ on a curvature with λmax > 20:
// the device refuses the run (EMULATOR.md §9.1.1, δt·λmax ≥ 1.875) and training stops with a
// message naming the fix, instead of applying a direction computed by an unstable recursion.
import { spawnSync } from 'node:child_process';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { connect } from '../../../src/connect.ts';
import type { SpuDriver } from '../../../src/driver/driver.ts';
import { DeviceError, unstableStepOf } from '../../../src/driver/errors.ts';
import { ErrorCode } from '../../../src/protocol/index.ts';
import { createOptimizer } from '../../../src/host-loop/optimizers/index.ts';
import '../../../src/host-loop/optimizers/tngd-registry.ts';
import { loadDataset } from '../../../src/host-loop/data/load.ts';
import { Batcher, gatherBatch } from '../../../src/host-loop/data/dataset.ts';
import { createModel } from '../../../src/host-loop/models/model.ts';
import { makeBatchOracle } from '../../../src/host-loop/batch-oracle.ts';
import { factorMatvec } from '../../../src/host-loop/curvature/factors.ts';
import { TngdDeviceError } from '../../../src/host-loop/optimizers/tngd.ts';
import { tempDir } from '../train/helpers.ts';

const SPEC = 'mlp:196-8-10'; // N = 1666
const B = 8; // r = 80
const { train } = loadDataset();
const model = createModel(SPEC);
// A = F + λI with λ = 20: λmax(A) = 20 + λmax(F) > 20, as the GGN reaches late in training
const LAMBDA = 20;

let driver: SpuDriver;
beforeAll(async () => {
  driver = await connect('emu:?profile=ideal&seed=3&maxCells=4096&maxRank=256&maxFrameBytes=65535');
});
afterAll(async () => {
  await driver.close();
});

function batch(seed: number) {
  const { x, y } = gatherBatch(train, new Batcher(train.n, B, seed).next().idx);
  const theta = model.init(7);
  return { theta, oracle: makeBatchOracle(model, theta, x, y, B, 'ce') };
}

/** λmax(F) of the batch's GGN by 100 power iterations (host side, independent of the device). */
function lambdaMaxF(oracle: ReturnType<typeof batch>['oracle']): number {
  let v = Float64Array.from({ length: model.numParams }, (_, i) => Math.cos(3 * i + 1));
  let l = 0;
  for (let k = 0; k < 100; k++) {
    const w = factorMatvec(oracle.curvature('ggn'), v);
    l = Math.hypot(...w) / Math.hypot(...v);
    v = w.map((t) => t / l);
  }
  return l;
}

const common = { lr: 0.1, damping: LAMBDA, kappa0: 1e-3, tTau: 5, start: 'carry', integrator: 'euler' } as const;

describe('TNGD, Euler δt = 0.1τ, λmax(A) > 20', () => {
  it('the step fails with a TngdDeviceError naming --integrator exact and the largest --dt; nothing applied; the suggested --dt then works', async () => {
    const { theta, oracle } = batch(21);
    const lmax = LAMBDA + lambdaMaxF(oracle);
    expect(lmax).toBeGreaterThan(20);
    const p = theta.slice();
    const euler = createOptimizer('tngd', { ...common, dt: 0.1 }, { driver });
    const err = await euler.step(p, oracle).then(() => null, (e: unknown) => e);
    expect(err).toBeInstanceOf(TngdDeviceError);
    const msg = (err as Error).message;
    expect(msg).toMatch(/Euler step dt = 0\.1 is unstable for this curvature/);
    expect(msg).toMatch(/use --integrator exact, or --dt below /);
    // the device's λ̂ is within 1e−3 of λmax (a lower bound), and the limit is 1.875/λ̂
    const lam = Number(/λmax\(A\) ≈ ([0-9.]+)/.exec(msg)![1]);
    expect(Math.abs(lam - lmax) / lmax).toBeLessThan(5e-3);
    const below = Number(/--dt below ([0-9.]+)/.exec(msg)![1]);
    expect(Math.abs(below - 1.875 / lmax) / (1.875 / lmax)).toBeLessThan(0.05);
    expect(Array.from(p)).toEqual(Array.from(theta)); // nothing applied
    // the example step it suggests (half the limit, 1 digit) runs on the same batch
    const eg = Number(/\(e\.g\. ([0-9.]+):/.exec(msg)![1]);
    expect(eg).toBeLessThan(below);
    const ok = createOptimizer('tngd', { ...common, dt: eg, tTau: eg * 50 }, { driver });
    await ok.step(p, oracle);
    expect(p.some((q, i) => q !== theta[i])).toBe(true);
  });

  it('the driver surfaces the refusal as DeviceError OUT_OF_RANGE with the detail; pipelined TNGD fails at the step that awaits the run', async () => {
    const { oracle } = batch(22);
    const pipe = createOptimizer('tngd', { ...common, dt: 0.1, pipelined: true }, { driver });
    const p = model.init(7);
    await pipe.step(p, oracle); // applies g, starts run 1 in the background
    const err = await pipe.step(p, oracle).then(() => null, (e: unknown) => e);
    expect(err).toBeInstanceOf(TngdDeviceError);
    expect((err as Error).message).toMatch(/--integrator exact/);
    // the same refusal seen at the driver: code and detail
    await driver.configure({ kappa0: 0, readout: 'mean', samplePeriodTau: 0.1, windowTau: 0, burnInTau: 0, integrator: { kind: 'euler', dtTau: 0.1 } });
    const st = await driver.status();
    const derr = await driver.run({ durationTau: 1 }).ended.then(() => null, (e: unknown) => e);
    expect(derr).toBeInstanceOf(DeviceError);
    expect((derr as DeviceError).code).toBe(ErrorCode.OUT_OF_RANGE);
    const u = unstableStepOf(derr)!;
    expect(u.segment).toBe('main');
    expect(u.dtTau).toBe(0.1);
    expect(u.lambdaMax).toBeGreaterThan(20);
    expect(u.maxStableDtTau * u.lambdaMax).toBeCloseTo(1.875, 12);
    expect(await driver.status()).toMatchObject({ state: 'READY', runId: st.runId });
  });
});

describe('tngd train on the command line', () => {
  it('--integrator euler --dt 0.1 on λmax > 20: exit 1 with a one-line message naming the fix', () => {
    const bin = fileURLToPath(new URL('../../../bin/tngd.js', import.meta.url));
    const out = join(tempDir('tngd-unstable'), 'run');
    const r = spawnSync(
      process.execPath,
      [bin, 'train', '--optimizer', 'tngd', '--model', SPEC, '--batch', String(B), '--iters', '3', '--integrator', 'euler', '--dt', '0.1', '--lambda', String(LAMBDA), '--out', out],
      { encoding: 'utf8', timeout: 60_000 },
    );
    expect(r.status).toBe(1);
    const lines = r.stderr.trim().split('\n');
    expect(lines).toHaveLength(1);
    expect(lines[0]).toMatch(/^tngd train: error: device: the Euler step dt = 0\.1 is unstable for this curvature: λmax\(A\) ≈ 2\d\.\d, .*use --integrator exact, or --dt below 0\.0\d+/);
  });
});
