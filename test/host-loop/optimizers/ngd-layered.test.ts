// NGD-CG and NGD-Woodbury through the layered factors against the explicit path on the same
// batches: Woodbury is a direct solve (equal to 1e-10 relative: the same A, different rounding
// order); CG at tol 1e-12 converges to the same solution (1e-8) with the same number of products
// (±1), and the layered batches never build the r × N Jacobian.
import { describe, expect, it } from 'vitest';
import { createModel } from '../../../src/host-loop/models/model.ts';
import { makeBatchOracle } from '../../../src/host-loop/batch-oracle.ts';
import { createOptimizer } from '../../../src/host-loop/optimizers/index.ts';
import { OptimizerLimitError } from '../../../src/host-loop/optimizers/errors.ts';
import { FactorWorkspace } from '../../../src/host-loop/curvature/factors.ts';
import type { BatchOracle } from '../../../src/host-loop/types.ts';
import { randomBatch, randomParams, relErr } from '../models/helpers.ts';

/** The oracle with its explicit curvature disabled: a layered path that asked for J would throw. */
function layeredOnly(o: BatchOracle): BatchOracle {
  return { ...o, curvature: () => { throw new Error('explicit J requested on the layered path'); } };
}

describe('NGD through layered factors', () => {
  for (const spec of ['mlp:10-7-4', 'mlp:9-6-5-3:tanh', 'conv:5x5x1-c2k3s2-4-3:relu'])
    for (const loss of ['ce', 'mse'] as const)
      for (const curvature of ['ggn', 'ef'] as const)
        it(`${spec} ${loss} ${curvature}: Woodbury and CG directions equal the explicit ones`, async () => {
          const m = createModel(spec);
          const b = 6;
          const p0 = randomParams(m, 4);
          const { X, y, T } = randomBatch(m, b, 5);
          const targets = loss === 'ce' ? y : T;
          for (const [name, extra] of [['ngd-woodbury', {}], ['ngd-cg', { tol: 1e-12, maxIter: 500 }]] as const) {
            const opts = { lr: 0.1, damping: 0.05, curvature, ...extra };
            const pe = p0.slice();
            const pl = p0.slice();
            const se = await createOptimizer(name, { ...opts, curvatureForm: 'explicit' }).step(pe, makeBatchOracle(m, pe, X, targets, b, loss));
            const sl = await createOptimizer(name, { ...opts, curvatureForm: 'layered' }).step(pl, layeredOnly(makeBatchOracle(m, pl, X, targets, b, loss, new FactorWorkspace())));
            const de = pe.map((v, i) => v - p0[i]);
            const dl = pl.map((v, i) => v - p0[i]);
            expect(relErr(dl, de)).toBeLessThan(name === 'ngd-woodbury' ? 1e-10 : 1e-8);
            if (name === 'ngd-cg') expect(Math.abs(sl.matvecs! - se.matvecs!)).toBeLessThanOrEqual(1);
          }
        });

  it("curvatureForm 'layered' without per-layer factors is refused; a bad form is rejected by the schema", async () => {
    const m = createModel('mlp:4-3-2');
    const p = m.init(1);
    const { X, y } = randomBatch(m, 2, 1);
    const o = makeBatchOracle(m, p, X, y, 2, 'ce');
    const bare: BatchOracle = { loss: o.loss, grad: o.grad, batchSize: 2, curvature: o.curvature };
    await expect(createOptimizer('ngd-cg', { lr: 0.1, damping: 0.1, curvatureForm: 'layered' }).step(p, bare)).rejects.toThrow(OptimizerLimitError);
    await createOptimizer('ngd-cg', { lr: 0.1, damping: 0.1, curvatureForm: 'auto' }).step(p, bare); // auto falls back to explicit
    expect(() => createOptimizer('ngd-woodbury', { lr: 0.1, damping: 0.1, curvatureForm: 'kronecker' })).toThrow(/curvatureForm must be/);
  });
});
