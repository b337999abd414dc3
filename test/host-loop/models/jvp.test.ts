// Forward-mode J·v and reverse-mode Jᵀ·w against the explicit per-sample output Jacobian
// (itself checked against finite differences in autodiff.test.ts), and the product curvature
// operator against the explicit factored matvec, on conv+dense nets and MLPs.
import { describe, expect, it } from 'vitest';
import { createModel } from '../../../src/host-loop/models/model.ts';
import { buildEmpiricalFisherFactors, buildGgnFactors, factorMatvec } from '../../../src/host-loop/curvature/factors.ts';
import { buildCurvatureProducts } from '../../../src/host-loop/curvature/products.ts';
import { ProductOperator, productMatvec } from '../../../src/host-loop/linalg/products.ts';
import { Rng } from '../../../src/host-loop/data/rng.ts';
import { randomBatch, randomParams, relErr } from './helpers.ts';

const SPECS = [
  'conv:14x14x1-c2k3s2-16-10',
  'conv:6x6x2-c3k3s1p1-c2k2s2p0-5-4:tanh',
  'conv:5x5x1-c2k3s2-4-3:relu',
  'mlp:9-6-5-3:tanh',
  'mlp:10-7-4',
];

function randVec(len: number, seed: number): Float64Array {
  const rng = new Rng(seed, 3);
  return Float64Array.from({ length: len }, () => rng.normal());
}

describe('model JVP and VJP', () => {
  for (const spec of SPECS)
    it(`${spec}: J·v and Jᵀ·w equal the explicit Jacobian's products to 1e-12`, () => {
      const m = createModel(spec);
      const b = 5;
      const n = m.numParams;
      const r = b * m.outputDim;
      const p = randomParams(m, 11);
      const { X } = randomBatch(m, b, 12);
      const J = m.outputJacobian(p, X, b);
      for (let t = 0; t < 3; t++) {
        const v = randVec(n, 20 + t);
        const w = randVec(r, 40 + t);
        const jv = new Float64Array(r);
        for (let i = 0; i < r; i++) for (let j = 0; j < n; j++) jv[i] += J[i * n + j] * v[j];
        const jtw = new Float64Array(n);
        for (let i = 0; i < r; i++) for (let j = 0; j < n; j++) jtw[j] += J[i * n + j] * w[i];
        // fresh passes, then reusing the forward pass of the call before (same arrays)
        expect(relErr(m.jvp!(p, X, b, v), jv)).toBeLessThan(1e-12);
        expect(relErr(m.jvp!(p, X, b, v, undefined, true), jv)).toBeLessThan(1e-12);
        expect(relErr(m.vjp!(p, X, b, w, undefined, true), jtw)).toBeLessThan(1e-12);
        // out buffers are overwritten, not accumulated into
        expect(relErr(m.vjp!(p, X, b, w, new Float64Array(n).fill(7)), jtw)).toBeLessThan(1e-12);
        expect(relErr(m.jvp!(p, X, b, v, new Float64Array(r).fill(7)), jv)).toBeLessThan(1e-12);
      }
    });

  it('reuseForward reruns the forward pass when another batch ran in between', () => {
    const m = createModel('conv:5x5x1-c2k3s2-4-3:tanh');
    const b = 4;
    const p = randomParams(m, 1);
    const { X } = randomBatch(m, b, 2);
    const { X: X2 } = randomBatch(m, b, 3);
    const v = randVec(m.numParams, 4);
    const want = m.jvp!(p, X, b, v);
    m.forward(p, X2, b);
    expect(relErr(m.jvp!(p, X, b, v, undefined, true), want)).toBeLessThan(1e-14);
  });

  it('rejects tangents of the wrong length', () => {
    const m = createModel('mlp:4-3-2');
    const p = m.init(0);
    const X = new Float64Array(8);
    expect(() => m.jvp!(p, X, 2, new Float64Array(3))).toThrow(RangeError);
    expect(() => m.vjp!(p, X, 2, new Float64Array(3))).toThrow(RangeError);
  });
});

describe('curvature through JVP/VJP products', () => {
  for (const spec of SPECS)
    for (const loss of ['ce', 'mse'] as const)
      for (const kind of ['ggn', 'ef'] as const)
        it(`${spec} ${loss} ${kind}: scale·Jᵀ H J v + λv equals the explicit factorMatvec to 1e-12`, () => {
          const m = createModel(spec);
          const b = 4;
          const p = randomParams(m, 5);
          const { X, y, T } = randomBatch(m, b, 6);
          const targets = loss === 'ce' ? y : T;
          const f = kind === 'ggn' ? buildGgnFactors(m, p, X, targets, b, loss) : buildEmpiricalFisherFactors(m, p, X, targets, b, loss);
          const prods = buildCurvatureProducts(m, p, X, targets, b, loss, kind, { reuseForward: true });
          expect(prods.explicitLayers).toBe(m.spec.convs.length);
          const lambda = 0.03;
          const op = new ProductOperator(prods, lambda);
          for (let t = 0; t < 2; t++) {
            const v = randVec(m.numParams, 60 + t);
            const want = factorMatvec(f, v);
            expect(relErr(productMatvec(prods, v), want)).toBeLessThan(1e-12);
            for (let j = 0; j < v.length; j++) want[j] += lambda * v[j];
            const got = new Float64Array(m.numParams);
            op.apply(v, got);
            expect(relErr(got, want)).toBeLessThan(1e-12);
          }
        });
});
