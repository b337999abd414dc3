// GGN and empirical-Fisher factors against quantities computed without outputJacobian or
// perSampleGrads: finite-difference Hessians, jvp by finite differences of forward, and vjp
// through the batch-gradient path.
import { describe, expect, it } from 'vitest';
import { createModel } from '../../../src/host-loop/models/model.ts';
import { buildEmpiricalFisherFactors, buildGgnFactors, denseCurvature, factorMatvec, FactorWorkspace } from '../../../src/host-loop/curvature/factors.ts';
import { makeBatchOracle } from '../../../src/host-loop/batch-oracle.ts';
import { lossHessianBlocks } from '../../../src/host-loop/models/losses.ts';
import { Rng } from '../../../src/host-loop/data/rng.ts';
import { fdJacobian, randomBatch, randomParams, relErr } from './helpers.ts';

describe('GGN factors', () => {
  it.each(['ce', 'mse'] as const)('softmax regression (linear in θ): (1/b)JᵀHJ equals the FD Hessian of the %s loss', (loss) => {
    const m = createModel('softmax:5-3');
    const p = randomParams(m, 2);
    const { X, y } = randomBatch(m, 6, 4);
    const f = buildGgnFactors(m, p, X, y, 6, loss);
    expect([f.n, f.r, f.scale]).toEqual([m.numParams, 18, 1 / 6]);
    expect(f.core.kind).toBe(loss === 'ce' ? 'block' : 'identity');
    const G = denseCurvature(f);
    const Hfd = fdJacobian((q) => m.lossAndGrad(q, X, y, 6, loss).grad, p, 1e-4);
    expect(relErr(G, Hfd)).toBeLessThan(1e-7);
  });

  it.each(['mlp:5-4-3:tanh', 'conv:4x4x1-c2k3s2-3:tanh'])('%s: G v equals vjp(H · jvp(v)) built from forward FD and the gradient path', (spec) => {
    const m = createModel(spec);
    const b = 5;
    const p = randomParams(m, 3);
    const { X, y } = randomBatch(m, b, 5);
    const f = buildGgnFactors(m, p, X, y, b, 'ce');
    const G = denseCurvature(f);
    const rng = new Rng(9);
    for (let t = 0; t < 3; t++) {
      const v = Float64Array.from({ length: m.numParams }, () => rng.normal());
      // jvp: (f(θ + hv) − f(θ − hv)) / 2h
      const h = 1e-5;
      const fp = m.forward(p.map((x, j) => x + h * v[j]), X, b);
      const fm = m.forward(p.map((x, j) => x - h * v[j]), X, b);
      const jv = fp.map((x, i) => (x - fm[i]) / (2 * h));
      // H_i (J v)_i
      const z = m.forward(p, X, b);
      const Hb = lossHessianBlocks('ce', z, b, m.outputDim);
      const dz = m.outputDim;
      const u = new Float64Array(b * dz);
      for (let i = 0; i < b; i++) for (let k = 0; k < dz; k++) for (let l = 0; l < dz; l++) u[i * dz + k] += Hb[i * dz * dz + k * dz + l] * jv[i * dz + l];
      // vjp: the MSE gradient with targets z − u is (1/b) Σ J_iᵀ u_i
      const T = z.map((x, i) => x - u[i]);
      const gv = m.lossAndGrad(p, X, T, b, 'mse').grad;
      const Gv = new Float64Array(m.numParams);
      for (let a = 0; a < m.numParams; a++) for (let c = 0; c < m.numParams; c++) Gv[a] += G[a * m.numParams + c] * v[c];
      expect(relErr(Gv, gv)).toBeLessThan(1e-7);
      expect(relErr(factorMatvec(f, v), gv)).toBeLessThan(1e-7);
    }
  });

  it('GGN is symmetric PSD (CE, relu conv net)', () => {
    const m = createModel('conv:5x5x1-c2k3s2-4-3:relu');
    const p = randomParams(m, 1);
    const { X, y } = randomBatch(m, 4, 2);
    const G = denseCurvature(buildGgnFactors(m, p, X, y, 4, 'ce'));
    const n = m.numParams;
    for (let a = 0; a < n; a++) for (let c = 0; c < a; c++) expect(Math.abs(G[a * n + c] - G[c * n + a])).toBeLessThan(1e-14);
    const rng = new Rng(3);
    for (let t = 0; t < 20; t++) {
      const v = Float64Array.from({ length: n }, () => rng.normal());
      const Gv = factorMatvec(buildGgnFactors(m, p, X, y, 4, 'ce'), v);
      expect(Gv.reduce((s, x, i) => s + x * v[i], 0)).toBeGreaterThanOrEqual(-1e-12);
    }
  });
});

describe('empirical Fisher factors', () => {
  it('(1/b) Σ g_i g_iᵀ from single-sample gradients equals (1/b) JᵀJ', () => {
    const m = createModel('mlp:4-5-3:relu');
    const b = 6;
    const p = randomParams(m, 8);
    const { X, y } = randomBatch(m, b, 8);
    const f = buildEmpiricalFisherFactors(m, p, X, y, b, 'ce');
    expect([f.r, f.scale, f.core.kind]).toEqual([b, 1 / b, 'identity']);
    const n = m.numParams;
    const F = new Float64Array(n * n);
    for (let i = 0; i < b; i++) {
      const g = m.lossAndGrad(p, X.slice(i * 4, i * 4 + 4), y.slice(i, i + 1), 1, 'ce').grad;
      for (let a = 0; a < n; a++) for (let c = 0; c < n; c++) F[a * n + c] += (g[a] * g[c]) / b;
    }
    expect(relErr(denseCurvature(f), F)).toBeLessThan(1e-13);
  });
});

describe('batch oracle', () => {
  it('matches lossAndGrad, caches curvature per kind, and is immune to later in-place updates', () => {
    const m = createModel('mlp:4-5-3:tanh');
    const b = 4;
    const p = randomParams(m, 1);
    const { X, y } = randomBatch(m, b, 1);
    const ref = m.lossAndGrad(p, X, y, b, 'ce');
    const ggnRef = buildGgnFactors(m, p, X, y, b, 'ce');
    const o = makeBatchOracle(m, p, X, y, b, 'ce');
    expect(o.loss).toBe(ref.loss);
    expect(Array.from(o.grad)).toEqual(Array.from(ref.grad));
    expect(o.batchSize).toBe(b);
    p.fill(0.3); // an optimizer stepping before asking for curvature
    X.fill(0); // a training loop refilling its batch buffer
    const g1 = o.curvature('ggn');
    expect(o.curvature('ggn')).toBe(g1);
    expect(Array.from(g1.J)).toEqual(Array.from(ggnRef.J));
    expect(o.curvature('ef').r).toBe(b);
    expect(() => o.curvature('fim' as never)).toThrow(/unknown curvature kind 'fim'/);
  });

  it('a FactorWorkspace reuses the J buffer across batches with identical results', () => {
    const m = createModel('mlp:4-5-3:relu');
    const ws = new FactorWorkspace();
    const p = randomParams(m, 1);
    const a = randomBatch(m, 4, 1);
    const c = randomBatch(m, 4, 2);
    const f1 = makeBatchOracle(m, p, a.X, a.y, 4, 'ce', ws).curvature('ggn');
    const f2 = makeBatchOracle(m, p, c.X, c.y, 4, 'ce', ws).curvature('ggn');
    expect(f2.J).toBe(f1.J);
    expect(Array.from(f2.J)).toEqual(Array.from(buildGgnFactors(m, p, c.X, c.y, 4, 'ce').J));
  });
});
