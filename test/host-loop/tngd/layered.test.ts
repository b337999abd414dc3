// TNGD uploading layered curvature (J per layer; the host never writes the r × N Jacobian: the
// batches here throw if asked for it), through the in-process emulator (ideal profile):
//  - κ₀ = 0, exact integrator, t = 300τ: the step equals NGD-Woodbury's to 1e-6 (TNGD and TNGD-Adam);
//  - κ₀ = 0, Euler: the same trajectory as the explicit upload (1e-9: the same A, whichever way
//    the device or the driver's fallback expands it);
//  - folded cores (for f32/i16 uploads): the layered fold gives the same A as the explicit fold;
//  - a device without the layered form gets the explicit J (auto: built by the host; forced
//    'layered': expanded by the driver) and steps the same.
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { connect } from '../../../src/connect.ts';
import type { SpuDriver } from '../../../src/driver/driver.ts';
import { createOptimizer } from '../../../src/host-loop/optimizers/index.ts';
import '../../../src/host-loop/optimizers/tngd-registry.ts';
import { loadDataset } from '../../../src/host-loop/data/load.ts';
import { Batcher, gatherBatch } from '../../../src/host-loop/data/dataset.ts';
import { createModel } from '../../../src/host-loop/models/model.ts';
import { makeBatchOracle } from '../../../src/host-loop/batch-oracle.ts';
import { FactorWorkspace, factorMatvec } from '../../../src/host-loop/curvature/factors.ts';
import { buildLayeredGgnFactors } from '../../../src/host-loop/curvature/layered.ts';
import { expandLayered, layeredMatvec } from '../../../src/host-loop/linalg/layered.ts';
import { foldCore, foldLayered } from '../../../src/host-loop/optimizers/tngd-fold.ts';
import { OptimizerLimitError } from '../../../src/host-loop/optimizers/errors.ts';
import { Rng } from '../../../src/host-loop/data/rng.ts';
import type { BatchOracle } from '../../../src/host-loop/types.ts';

const SPEC = 'mlp:196-8-10'; // N = 1666
const B = 8; // r = 80
const { train } = loadDataset();
const model = createModel(SPEC);
const ws = new FactorWorkspace();

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

/** The batch with its explicit J disabled. */
function layeredOnly(p: Float64Array, x: Float64Array, y: Int32Array): BatchOracle {
  const o = makeBatchOracle(model, p, x, y, B, 'ce', ws);
  return {
    ...o,
    curvature: () => {
      throw new Error('the explicit J was requested on the layered path');
    },
  };
}

let driver: SpuDriver;
beforeAll(async () => {
  driver = await connect('emu:?profile=ideal&seed=3&maxCells=4096&maxRank=256&maxFrameBytes=65535');
});
afterAll(async () => {
  await driver.close();
});

describe('TNGD with layered curvature uploads', () => {
  it.each(['tngd', 'tngd-adam'] as const)('%s, κ₀ = 0, exact, t = 300τ, λ = 0.1: three steps equal NGD-Woodbury to 1e-6', async (name) => {
    const common = name === 'tngd' ? { lr: 0.1, damping: 0.1, momentum: 0.5 } : { lr: 3e-3, damping: 0.1, inner: 'adam' as const, beta1: 0, beta2: 0 };
    const tngd = createOptimizer(name, { ...common, kappa0: 0, integrator: 'exact', tTau: 300, samplePeriod: 0.5, start: 'reset', readout: 'final', curvatureForm: 'layered' }, { driver });
    const wood = createOptimizer('ngd-woodbury', { ...common, curvatureForm: 'explicit' });
    const pt = model.init(5);
    const pw = pt.slice();
    const p0 = pt.slice();
    for (const { x, y } of batches(3, 11)) {
      const before = pw.slice();
      await wood.step(pw, makeBatchOracle(model, pw, x, y, B, 'ce'));
      const st = await tngd.step(pt, layeredOnly(pt, x, y));
      expect(st.deviceTau).toBe(300);
      const dw = pw.map((v, i) => v - before[i]);
      const dt = pt.map((v, i) => v - before[i]);
      expect(relDiff(dt, dw)).toBeLessThan(1e-6);
    }
    expect(relDiff(pt, p0)).toBeGreaterThan(1e-3);
  });

  it('κ₀ = 0, Euler, carried state: four steps follow the explicit upload to 1e-9', async () => {
    const opts = { lr: 0.1, damping: 0.1, kappa0: 0, integrator: 'euler', dt: 0.05, tTau: 2, start: 'carry' };
    const run = async (form: 'explicit' | 'layered'): Promise<Float64Array> => {
      const d = await connect('emu:?profile=ideal&seed=4&maxCells=4096&maxRank=256&maxFrameBytes=65535');
      const opt = createOptimizer('tngd', { ...opts, curvatureForm: form }, { driver: d });
      const p = model.init(7);
      for (const { x, y } of batches(4, 13)) await opt.step(p, form === 'layered' ? layeredOnly(p, x, y) : makeBatchOracle(model, p, x, y, B, 'ce'));
      await d.close();
      return p;
    };
    const pe = await run('explicit');
    const pl = await run('layered');
    expect(relDiff(pl, pe)).toBeLessThan(1e-9);
    expect(relDiff(pe, model.init(7))).toBeGreaterThan(1e-4);
  });

  it("a device without 'layered-curvature': auto uploads the explicit J, 'layered' goes through the driver's expansion; both step as the native layered upload (1e-9) with ≥ 15× the bytes", async () => {
    const url = 'emu:?profile=ideal&seed=6&maxCells=4096&maxRank=256&maxFrameBytes=65535';
    const features = driver.capabilities.features.filter((f) => f !== 'layered-curvature');
    expect(driver.capabilities.features).toContain('layered-curvature');
    const opts = { lr: 0.1, damping: 0.1, kappa0: 0, integrator: 'exact', tTau: 5, samplePeriod: 0.5, start: 'reset' };
    const { x, y } = batches(1, 21)[0];
    const step = async (form: 'auto' | 'layered', legacy: boolean): Promise<{ p: Float64Array; bytes: number }> => {
      const d = await connect(url, legacy ? { emulator: { capabilities: { features } } } : {});
      expect(d.capabilities.features.includes('layered-curvature')).toBe(!legacy);
      const p = model.init(8);
      const s = await createOptimizer('tngd', { ...opts, curvatureForm: form }, { driver: d }).step(p, makeBatchOracle(model, p, x, y, B, 'ce', ws));
      await d.close();
      return { p, bytes: s.bytesOut! };
    };
    const native = await step('auto', false);
    const autoLegacy = await step('auto', true);
    const forcedLegacy = await step('layered', true);
    expect(native.bytes * 15).toBeLessThan(autoLegacy.bytes);
    // forced: the folded layered factors (r′ = b·9 rows, no core) expanded to an explicit J
    expect(native.bytes * 15).toBeLessThan(forcedLegacy.bytes);
    expect(forcedLegacy.bytes).toBeGreaterThan(72 * 1666 * 8);
    expect(relDiff(autoLegacy.p, native.p)).toBeLessThan(1e-9);
    expect(relDiff(forcedLegacy.p, native.p)).toBeLessThan(1e-9);
  });

  it("'layered' on a batch without per-layer factors is refused; 'auto' uploads explicit J then", async () => {
    const { x, y } = batches(1, 2)[0];
    const p = model.init(1);
    const o = makeBatchOracle(model, p, x, y, B, 'ce');
    const bare: BatchOracle = { loss: o.loss, grad: o.grad, batchSize: B, curvature: o.curvature };
    const opts = { lr: 0.1, damping: 0.1, kappa0: 0, tTau: 1 };
    await expect(createOptimizer('tngd', { ...opts, curvatureForm: 'layered' }, { driver }).step(p.slice(), bare)).rejects.toThrow(OptimizerLimitError);
    const s = await createOptimizer('tngd', { ...opts, curvatureForm: 'auto' }, { driver }).step(p.slice(), bare);
    expect(s.bytesOut!).toBeGreaterThan(80 * 1666 * 8);
  });

  it('the layered fold (each sample’s rows combined by Lᵀ, zero-padded to the largest rank) gives the explicit fold’s A to 1e-12', () => {
    const { x } = batches(1, 5)[0];
    const p = model.init(3);
    const lf = buildLayeredGgnFactors(model, p, x, B, 'ce');
    const folded = foldLayered(lf, new FactorWorkspace())!;
    expect(folded.core.kind).toBe('identity');
    expect(folded.r).toBe(B * 9); // softmax CE blocks have rank d_z − 1
    const ref = foldCore(expandLayered(lf));
    const rng = new Rng(1, 2);
    for (let t = 0; t < 3; t++) {
      const v = Float64Array.from({ length: model.numParams }, () => rng.normal());
      const a = layeredMatvec(folded, v);
      expect(relDiff(a, factorMatvec(ref, v))).toBeLessThan(1e-12);
      expect(relDiff(a, layeredMatvec(lf, v))).toBeLessThan(1e-12);
    }
  });

  it('f32 uploads with a folded layered core: a step within f32 rounding of NGD-Woodbury', async () => {
    const { x, y } = batches(1, 8)[0];
    const common = { lr: 0.1, damping: 0.1 };
    const pt = model.init(9);
    const pw = pt.slice();
    await createOptimizer('ngd-woodbury', common).step(pw, makeBatchOracle(model, pw, x, y, B, 'ce'));
    const tngd = createOptimizer('tngd', { ...common, kappa0: 0, integrator: 'exact', tTau: 300, start: 'reset', readout: 'final', dtype: 'f32', curvatureForm: 'layered' }, { driver });
    const before = model.init(9);
    await tngd.step(pt, layeredOnly(pt, x, y));
    const dw = pw.map((v, i) => v - before[i]);
    const dt = pt.map((v, i) => v - before[i]);
    expect(relDiff(dt, dw)).toBeLessThan(1e-5);
  });
});
