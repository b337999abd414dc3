// NGD-CG through JVP/VJP products against the explicit path on the same batches: at CG tol
// 1e-12 both converge to the same direction (1e-8). Conv models take the products under 'auto'
// and 'layered' (no explicit J, no conv column blocks: the oracle throws if either is asked for);
// dense-only models stay layered unless 'jvp' is asked for.
import { describe, expect, it } from 'vitest';
import { createModel } from '../../../src/host-loop/models/model.ts';
import { makeBatchOracle } from '../../../src/host-loop/batch-oracle.ts';
import { createOptimizer } from '../../../src/host-loop/optimizers/index.ts';
import { OptimizerLimitError } from '../../../src/host-loop/optimizers/errors.ts';
import type { BatchOracle } from '../../../src/host-loop/types.ts';
import { randomBatch, randomParams, relErr } from '../models/helpers.ts';

const fail = (what: string) => () => {
  throw new Error(`${what} requested on the products path`);
};
/** The oracle with explicit and layered curvature disabled. */
function productsOnly(o: BatchOracle): BatchOracle {
  return { ...o, curvature: fail('explicit J'), layered: fail('layered factors') };
}

describe('NGD-CG through JVP/VJP products', () => {
  const cases: [string, 'auto' | 'layered' | 'jvp'][] = [
    ['conv:14x14x1-c2k3s2-16-10', 'auto'],
    ['conv:6x6x2-c3k3s1p1-c2k2s2p0-5-4:tanh', 'layered'],
    ['conv:5x5x1-c2k3s2-4-3:relu', 'jvp'],
    ['mlp:9-6-5-3:tanh', 'jvp'],
  ];
  for (const [spec, form] of cases)
    for (const loss of ['ce', 'mse'] as const)
      for (const curvature of ['ggn', 'ef'] as const)
        it(`${spec} '${form}' ${loss} ${curvature}: the same step as explicit J`, async () => {
          const m = createModel(spec);
          const b = 6;
          const p0 = randomParams(m, 4);
          const { X, y, T } = randomBatch(m, b, 5);
          const targets = loss === 'ce' ? y : T;
          const opts = { lr: 0.1, damping: 0.05, curvature, tol: 1e-12, maxIter: 2000 };
          const pe = p0.slice();
          const pj = p0.slice();
          await createOptimizer('ngd-cg', { ...opts, curvatureForm: 'explicit' }).step(pe, makeBatchOracle(m, pe, X, targets, b, loss));
          await createOptimizer('ngd-cg', { ...opts, curvatureForm: form }).step(pj, productsOnly(makeBatchOracle(m, pj, X, targets, b, loss)));
          const de = pe.map((v, i) => v - p0[i]);
          const dj = pj.map((v, i) => v - p0[i]);
          expect(relErr(dj, de)).toBeLessThan(1e-8);
        });

  it("dense-only models stay on the layered path under 'auto'", async () => {
    const m = createModel('mlp:10-7-4');
    const b = 5;
    const p = randomParams(m, 1);
    const { X, y } = randomBatch(m, b, 2);
    const o = makeBatchOracle(m, p, X, y, b, 'ce');
    // the products object may be looked at (it says there are no explicit layers), never applied
    const noProducts: BatchOracle = { ...o, curvature: fail('explicit J'), products: (k) => ({ ...o.products!(k), jvp: fail('jvp'), vjp: fail('vjp') }) };
    await expect(createOptimizer('ngd-cg', { lr: 0.1, damping: 0.05, curvatureForm: 'auto' }).step(p, noProducts)).resolves.toBeDefined();
  });

  it("'jvp' on a batch without products is refused", async () => {
    const m = createModel('mlp:4-3-2');
    const p = randomParams(m, 1);
    const { X, y } = randomBatch(m, 3, 2);
    const o = makeBatchOracle(m, p, X, y, 3, 'ce');
    const { products: _drop, ...bare } = o;
    await expect(createOptimizer('ngd-cg', { lr: 0.1, damping: 0.05, curvatureForm: 'jvp' }).step(p, bare)).rejects.toThrow(OptimizerLimitError);
  });
});
