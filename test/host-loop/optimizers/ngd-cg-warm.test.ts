// NGD-CG's warm start with a decay: x₀ = warmDecay · (previous solution), the digital control for
// TNGD's carried device state (whose components outside the batch's curvature decay as e^{−λt}).
import { describe, expect, it } from 'vitest';
import { CgWorkspace, FactoredOperator, conjugateGradient } from '../../../src/host-loop/linalg/index.ts';
import { NgdCgDirection, OptimizerOptionsError, createOptimizer } from '../../../src/host-loop/optimizers/index.ts';
import { SoftmaxProblem } from './problems.ts';

const p = new SoftmaxProblem(7, 40, 5, 3);
const thetas = [0, 1, 2].map((s) => new Float64Array(p.n).map((_, i) => 0.2 * Math.sin(i + s)));

/** Directions of three consecutive solves (different parameters, so different systems). */
function solves(dir: NgdCgDirection): Float64Array[] {
  return thetas.map((th) => {
    const out = new Float64Array(p.n);
    dir.compute(th, p.oracle(th), out);
    return out;
  });
}

describe('ngd-cg warmDecay', () => {
  const lambda = 0.01;
  const maxIter = 3; // few iterations, so the start point shows in the result

  it('x₀ = c·x_prev: solve k equals CG started from c times solve k−1, bit for bit (c = 0.5)', () => {
    const xs = solves(new NgdCgDirection(lambda, 'ggn', 1e-12, maxIter, true, 0.5));
    for (let k = 1; k < 3; k++) {
      const o = p.oracle(thetas[k]);
      const op = new FactoredOperator(o.curvature('ggn'), lambda);
      const x = xs[k - 1].map((v) => 0.5 * v);
      conjugateGradient((v, out) => op.apply(v, out), o.grad, x, { tol: 1e-12, maxIter }, new CgWorkspace(p.n));
      expect(Array.from(xs[k])).toEqual(Array.from(x));
    }
  });

  it('c = 0 is the cold start and c = 1 the plain warm start; 0 < c < 1 lies strictly between them', () => {
    const cold = solves(new NgdCgDirection(lambda, 'ggn', 1e-12, maxIter, false));
    const zero = solves(new NgdCgDirection(lambda, 'ggn', 1e-12, maxIter, true, 0));
    const warm = solves(new NgdCgDirection(lambda, 'ggn', 1e-12, maxIter, true));
    const one = solves(new NgdCgDirection(lambda, 'ggn', 1e-12, maxIter, true, 1));
    const half = solves(new NgdCgDirection(lambda, 'ggn', 1e-12, maxIter, true, 0.5));
    expect(zero.map((x) => Array.from(x))).toEqual(cold.map((x) => Array.from(x)));
    expect(one.map((x) => Array.from(x))).toEqual(warm.map((x) => Array.from(x)));
    const dist = (a: Float64Array, b: Float64Array) => Math.hypot(...a.map((v, i) => v - b[i]));
    expect(dist(half[2], cold[2])).toBeGreaterThan(0);
    expect(dist(half[2], warm[2])).toBeGreaterThan(0);
  });

  it('option validation: warmDecay in [0, 1] and only with warmStart', () => {
    expect(() => createOptimizer('ngd-cg', { lr: 0.1, damping: 0.1, warmStart: true, warmDecay: 1.5 })).toThrow(/warmDecay must be in \[0, 1\]/);
    expect(() => createOptimizer('ngd-cg', { lr: 0.1, damping: 0.1, warmDecay: 0.5 })).toThrow(OptimizerOptionsError);
    expect(() => createOptimizer('ngd-cg', { lr: 0.1, damping: 0.1, warmDecay: 0.5 })).toThrow(/warmDecay needs warmStart: true/);
    expect(() => createOptimizer('ngd-cg', { lr: 0.1, damping: 0.1, warmStart: true, warmDecay: Math.exp(-0.01 * 10) })).not.toThrow();
  });
});
