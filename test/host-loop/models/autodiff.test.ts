// Hand-written reverse mode against central finite differences (h = 1e-5, so the truncation
// error is O(h²)·|f'''| ≈ 1e-10 and the rounding error ≈ 1e-16/h ≈ 1e-11 relative).
// Tolerance 1e-6 relative to the largest entry; measured errors are 6e-12 … 3e-10.
import { describe, expect, it } from 'vitest';
import { createModel } from '../../../src/host-loop/models/model.ts';
import type { LossKind } from '../../../src/host-loop/models/losses.ts';
import { fdJacobian, randomBatch, randomParams, relErr } from './helpers.ts';

const SPECS = [
  'softmax:6-3',
  'mlp:6-5-4-3:tanh',
  'mlp:6-7-3:relu',
  'conv:5x5x2-c3k3s2-4-3:tanh',
  'conv:6x6x1-c2k3s1p0-c2k2s2p0-3:relu',
];
const LOSSES: LossKind[] = ['ce', 'mse'];
const TOL = 1e-6;
const B = 4;

describe.each(SPECS)('%s', (spec) => {
  const model = createModel(spec);
  const params = randomParams(model, 11);
  const { X, y, T } = randomBatch(model, B, 3);

  it.each(LOSSES)('gradient of the mean %s loss matches finite differences', (loss) => {
    const { grad } = model.lossAndGrad(params, X, y, B, loss);
    const fd = fdJacobian((p) => Float64Array.of(model.lossAndGrad(p, X, y, B, loss).loss), params);
    expect(relErr(grad, fd)).toBeLessThan(TOL);
  });

  it('gradient of MSE with real-valued targets matches finite differences', () => {
    const { grad } = model.lossAndGrad(params, X, T, B, 'mse');
    const fd = fdJacobian((p) => Float64Array.of(model.lossAndGrad(p, X, T, B, 'mse').loss), params);
    expect(relErr(grad, fd)).toBeLessThan(TOL);
  });

  it('output Jacobian (b·dz × N) matches finite differences of forward', () => {
    const J = model.outputJacobian(params, X, B);
    expect(J.length).toBe(B * model.outputDim * model.numParams);
    const fd = fdJacobian((p) => model.forward(p, X, B), params);
    expect(relErr(J, fd)).toBeLessThan(TOL);
  });

  it.each(LOSSES)('per-sample %s gradients: rows match single-sample gradients and average to the batch gradient', (loss) => {
    const G = model.perSampleGrads(params, X, y, B, loss);
    const n = model.numParams;
    const mean = new Float64Array(n);
    for (let i = 0; i < B; i++) {
      const xi = X.slice(i * model.inputDim, (i + 1) * model.inputDim);
      const gi = model.lossAndGrad(params, xi, y.slice(i, i + 1), 1, loss).grad;
      expect(relErr(G.subarray(i * n, (i + 1) * n), gi)).toBeLessThan(1e-13);
      for (let j = 0; j < n; j++) mean[j] += G[i * n + j] / B;
    }
    expect(relErr(mean, model.lossAndGrad(params, X, y, B, loss).grad)).toBeLessThan(1e-13);
  });

  it('reusing an out buffer gives the same Jacobian as a fresh one', () => {
    const J1 = model.outputJacobian(params, X, B);
    const buf = new Float64Array(J1.length).fill(123);
    const J2 = model.outputJacobian(params, X, B, buf);
    expect(J2).toBe(buf);
    expect(Array.from(J2)).toEqual(Array.from(J1));
  });
});

describe('scratch buffers', () => {
  it('alternating batch sizes do not leak state between calls', () => {
    const model = createModel('conv:6x6x1-c2k3s2-5-3:relu');
    const params = randomParams(model, 5);
    const big = randomBatch(model, 9, 1);
    const small = randomBatch(model, 2, 2);
    const a = model.lossAndGrad(params, small.X, small.y, 2, 'ce');
    model.outputJacobian(params, big.X, 9);
    model.lossAndGrad(params, big.X, big.y, 9, 'mse');
    const b = model.lossAndGrad(params, small.X, small.y, 2, 'ce');
    expect(b.loss).toBe(a.loss);
    expect(Array.from(b.grad)).toEqual(Array.from(a.grad));
  });
});
