// Folding the CE core into the factor keeps A = scale·JᵀHJ exactly (to rounding) with fewer rows,
// and makes reduced-precision uploads possible: the block core rounded to f32 is refused by the
// device as not positive definite, the folded factor is not.
import { describe, expect, it } from 'vitest';
import { connect } from '../../../src/connect.ts';
import { curvatureRefusalOf } from '../../../src/driver/errors.ts';
import { foldCore, psdCore } from '../../../src/host-loop/optimizers/tngd-fold.ts';
import { lossHessianBlocks } from '../../../src/host-loop/models/losses.ts';
import { createOptimizer } from '../../../src/host-loop/optimizers/index.ts';
import { TngdDeviceError } from '../../../src/host-loop/optimizers/tngd.ts';
import '../../../src/host-loop/optimizers/tngd-registry.ts';
import { factorMatvec } from '../../../src/host-loop/curvature/factors.ts';
import { loadDataset } from '../../../src/host-loop/data/load.ts';
import { Batcher, gatherBatch } from '../../../src/host-loop/data/dataset.ts';
import { createModel } from '../../../src/host-loop/models/model.ts';
import { makeBatchOracle } from '../../../src/host-loop/batch-oracle.ts';
import { Rng } from '../../../src/host-loop/data/rng.ts';

const { train } = loadDataset();
const model = createModel('mlp:196-8-10');
const B = 8;

function batch(seed: number) {
  const { x, y } = gatherBatch(train, new Batcher(train.n, B, seed).next().idx);
  return makeBatchOracle(model, model.init(seed), x, y, B, 'ce');
}

describe('folded core', () => {
  it('UᵀU equals JᵀHJ on random vectors to 1e-12 relative, with r′ ≤ b·(dz − 1) rows', () => {
    const f = batch(3).curvature('ggn');
    const g = foldCore(f);
    expect(g.core.kind).toBe('identity');
    expect(g.r).toBeLessThanOrEqual(B * 9);
    expect(g.r).toBeGreaterThan(B * 5);
    const rng = new Rng(9);
    for (let t = 0; t < 5; t++) {
      const v = Float64Array.from({ length: f.n }, () => rng.normal());
      const a = factorMatvec(f, v);
      const b = factorMatvec(g, v);
      const err = Math.hypot(...a.map((x, i) => x - b[i])) / Math.hypot(...a);
      expect(err).toBeLessThan(1e-12);
    }
  });

  it('f32 upload: the block core is refused at upload as not positive semidefinite, the folded one trains', async () => {
    const driver = await connect('emu:?profile=ideal&seed=1&maxCells=4096&maxRank=256&maxFrameBytes=65535');
    try {
      const o = { lr: 0.1, damping: 0.1, kappa0: 0, tTau: 1, dtype: 'f32' };
      const block = createOptimizer('tngd', { ...o, core: 'block' }, { driver });
      const p = model.init(4);
      await expect(block.step(p, batch(4))).rejects.toThrow(TngdDeviceError);
      await expect(block.step(p, batch(4))).rejects.toThrow(/refused the curvature at upload: not-positive-semidefinite \(core\.blocks\).*core=folded/);
      const folded = createOptimizer('tngd', o, { driver }); // core 'auto' folds for f32
      const q = model.init(4);
      const st = await folded.step(q, batch(4));
      // f32 payload: about half of the f64 block-core upload (≤ 9/10 of the rows, 4 bytes each)
      expect(st.bytesOut!).toBeLessThan(0.5 * 8 * B * 10 * model.numParams);
      expect(q.some((v, i) => v !== model.init(4)[i])).toBe(true);
    } finally {
      await driver.close();
    }
  });
});

describe('block core sanitised for the device', () => {
  it('a saturated CE block (p = one-hot in f64) is refused raw at upload and accepted as L·Lᵀ, A unchanged to 1e-12', async () => {
    // Logits met in a TNGD run gone unstable (iteration 62 of an Euler δt = 0.1τ run): p₄ rounds to
    // exactly 1, so H₄₄ = 0 while H₀₄ = −1e-307 and H₁₄ = −3e-225: not PSD by rounding.
    const dz = 10;
    const n = 6;
    const z = Float64Array.from([230.72897605497897, 420.39531593169676, -847.7728468453416, 273.3311252763723, 937.4768720310642, -8.225562961205604, -320.60128503001556, -343.38951254912234, -243.20878016953122, -106.17341326093961]);
    const blocks = lossHessianBlocks('ce', z, 1, dz);
    const rng = new Rng(2);
    const J = Float64Array.from({ length: dz * n }, () => rng.normal());
    const raw = { n, r: dz, J, core: { kind: 'block' as const, dz, blocks }, scale: 1 };
    const clean = psdCore(raw);
    for (let i = 0; i < dz; i++) for (let j = 0; j < dz; j++) expect(clean.core.kind === 'block' && clean.core.blocks[i * dz + j]).toBe(clean.core.kind === 'block' && clean.core.blocks[j * dz + i]);
    const v = Float64Array.from({ length: n }, () => rng.normal());
    const a = factorMatvec(raw, v);
    const b = factorMatvec(clean, v);
    expect(Math.hypot(...a.map((x, i) => x - b[i]))).toBeLessThan(1e-12 * Math.hypot(...v));
    const driver = await connect('emu:?profile=ideal&seed=1');
    try {
      await driver.configure({ kappa0: 0, integrator: { kind: 'euler', dtTau: 0.1 }, readout: 'mean' });
      const refused = await driver.uploadCurvature({ form: 'factored', ...raw, lambda: 0.1 }).then(
        () => null,
        (e: unknown) => curvatureRefusalOf(e),
      );
      expect(refused).toEqual({ reason: 'not-positive-semidefinite', field: 'core.blocks' });
      await driver.uploadCurvature({ form: 'factored', ...clean, lambda: 0.1 });
      await driver.uploadGradient(v);
      expect((await driver.run({ durationTau: 1, fetchResults: false }).ended).flags).toEqual([]);
    } finally {
      await driver.close();
    }
  });
});
