// TNGD against its two limits, through the in-process emulator (ideal profile, κ₀ = 0):
//  - long t with the exact integrator: the device's x(t) = (I − e^{−At})A⁻¹g → A⁻¹g, so the step
//    equals NGD-Woodbury's to 1e-6 relative (the transient is e^{−λt} ≤ e^{−30} here);
//  - start = gradient (x₀ = g) and t → 0: one Euler step gives x = g − t(Ag − g), i.e. the SGD step
//    plus a deviation that is exactly t·(Ag − g)·η, so ‖Δθ − Δθ_SGD‖/‖Δθ_SGD‖ = t‖(A − I)g‖/‖g‖.
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { connect } from '../../../src/connect.ts';
import type { SpuDriver } from '../../../src/driver/driver.ts';
import { createOptimizer } from '../../../src/host-loop/optimizers/index.ts';
import '../../../src/host-loop/optimizers/tngd-registry.ts';
import { loadDataset } from '../../../src/host-loop/data/load.ts';
import { Batcher, gatherBatch } from '../../../src/host-loop/data/dataset.ts';
import { createModel } from '../../../src/host-loop/models/model.ts';
import { makeBatchOracle } from '../../../src/host-loop/batch-oracle.ts';
import { factorMatvec } from '../../../src/host-loop/curvature/factors.ts';
import { TngdDeviceError } from '../../../src/host-loop/optimizers/tngd.ts';

const SPEC = 'mlp:196-8-10'; // N = 1666
const B = 8; // r = 80
const { train } = loadDataset();
const model = createModel(SPEC);

function batches(k: number, seed: number): { x: Float64Array; y: Int32Array }[] {
  const bt = new Batcher(train.n, B, seed);
  return Array.from({ length: k }, () => gatherBatch(train, bt.next().idx));
}

function relDiff(a: Float64Array, b: Float64Array): number {
  let d = 0;
  let n = 0;
  for (let i = 0; i < a.length; i++) {
    d += (a[i] - b[i]) ** 2;
    n += b[i] ** 2;
  }
  return Math.sqrt(d / n);
}

let driver: SpuDriver;
beforeAll(async () => {
  driver = await connect('emu:?profile=ideal&seed=3&maxCells=4096&maxRank=256&maxFrameBytes=65535');
});
afterAll(async () => {
  await driver.close();
});

describe('TNGD limits on the emulator', () => {
  it('κ₀ = 0, exact integrator, t = 300τ, λ = 0.1: three steps equal NGD-Woodbury to 1e-6', async () => {
    const common = { lr: 0.1, damping: 0.1, momentum: 0.5 };
    const tngd = createOptimizer('tngd', { ...common, kappa0: 0, integrator: 'exact', tTau: 300, samplePeriod: 0.5, start: 'reset', readout: 'final', curvatureForm: 'explicit' }, { driver });
    const wood = createOptimizer('ngd-woodbury', common);
    const pt = model.init(5);
    const pw = pt.slice();
    const p0 = pt.slice();
    for (const { x, y } of batches(3, 11)) {
      const before = pw.slice();
      const sw = await wood.step(pw, makeBatchOracle(model, pw, x, y, B, 'ce'));
      const st = await tngd.step(pt, makeBatchOracle(model, pt, x, y, B, 'ce'));
      expect(st.deviceTau).toBe(300);
      expect(st.bytesOut!).toBeGreaterThan(80 * 1666 * 8); // J went over the link in f64
      expect(sw.deviceTau ?? 0).toBe(0);
      const dw = pw.map((v, i) => v - before[i]);
      const dt = pt.map((v, i) => v - before[i]);
      expect(relDiff(dt, dw)).toBeLessThan(1e-6);
    }
    expect(relDiff(pt, p0)).toBeGreaterThan(1e-3); // the parameters did move
  });

  it('x₀ = g, t → 0 (one Euler step, κ₀ = 0): the SGD step, off by exactly t(Ag − g)', async () => {
    const { x, y } = batches(1, 12)[0];
    const theta = model.init(6);
    const lambda = 0.1;
    const batch = makeBatchOracle(model, theta, x, y, B, 'ce');
    const g = batch.grad;
    const Ag = factorMatvec(batch.curvature('ggn'), g).map((v, i) => v + lambda * g[i]);
    const gNorm = Math.hypot(...g);
    const devNorm = Math.hypot(...Ag.map((v, i) => v - g[i]));
    const sgd = theta.slice();
    await createOptimizer('sgd', { lr: 0.1 }).step(sgd, batch);
    for (const t of [1e-2, 1e-3]) {
      const opt = createOptimizer('tngd', { lr: 0.1, damping: lambda, kappa0: 0, integrator: 'euler', dt: t, tTau: t, start: 'gradient', readout: 'final' }, { driver });
      const p = theta.slice();
      await opt.step(p, makeBatchOracle(model, theta, x, y, B, 'ce'));
      // ‖Δθ − Δθ_SGD‖ / ‖Δθ_SGD‖ = t‖(A − I)g‖/‖g‖ up to rounding
      const rel = relDiff(p.map((v, i) => v - theta[i]), sgd.map((v, i) => v - theta[i]));
      const bound = (t * devNorm) / gNorm;
      expect(rel).toBeLessThanOrEqual(bound * (1 + 1e-6));
      expect(rel).toBeGreaterThan(bound * (1 - 1e-6));
      // and the deviation is the Euler term itself: p − sgd = 0.1·t·(Ag − g)
      const dev = p.map((v, i) => v - sgd[i]);
      const expected = Ag.map((v, i) => 0.1 * t * (v - g[i]));
      expect(relDiff(dev, expected)).toBeLessThan(1e-6);
    }
  });
});

describe('Euler stability', () => {
  it('δt beyond 2/λmax(A) is reported as an unstable run, never applied; the exact integrator steps on the same batch', async () => {
    const { x, y } = batches(1, 13)[0];
    const theta = model.init(7);
    const batch = makeBatchOracle(model, theta, x, y, B, 'ce');
    // λmax of this batch's GGN by power iteration (4.47): δt = 1 is well beyond 2/λmax, the top mode
    // grows by |1 − δt·λmax| ≈ 3.6 per step
    let v = Float64Array.from({ length: model.numParams }, (_, i) => Math.sin(i + 1));
    let lmax = 0;
    for (let k = 0; k < 60; k++) {
      const w = factorMatvec(batch.curvature('ggn'), v);
      lmax = Math.hypot(...w) / Math.hypot(...v);
      v = w.map((t) => t / lmax);
    }
    expect(1 * (lmax + 0.1)).toBeGreaterThan(3);
    const common = { lr: 0.1, damping: 0.1, kappa0: 0, tTau: 10, start: 'reset' };
    const p = theta.slice();
    const euler = createOptimizer('tngd', { ...common, integrator: 'euler', dt: 1 }, { driver });
    await expect(euler.step(p, batch)).rejects.toThrow(TngdDeviceError);
    expect(Array.from(p)).toEqual(Array.from(theta)); // nothing applied
    await expect(euler.step(p, batch)).rejects.toThrow(/Euler step dt = 1 is unstable/);
    const exact = createOptimizer('tngd', { ...common, integrator: 'exact', samplePeriod: 1 }, { driver });
    await exact.step(p, batch);
    expect(p.some((q, i) => q !== theta[i])).toBe(true);
  });
});
