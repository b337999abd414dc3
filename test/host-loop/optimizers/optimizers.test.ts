import { describe, expect, it } from 'vitest';
import {
  AdamRule,
  OptimizerLimitError,
  OptimizerOptionsError,
  OptimizerStateError,
  SgdRule,
  createOptimizer,
  listOptimizers,
} from '../../../src/host-loop/optimizers/index.ts';
import { WoodburySolver, formDenseCurvature, choleskyInPlace, choleskySolve } from '../../../src/host-loop/linalg/index.ts';
import type { BatchOracle, Optimizer } from '../../../src/host-loop/types.ts';
import { SoftmaxProblem, relErr } from './problems.ts';

/** An oracle that only serves a fixed gradient (enough for first-order rules). */
function gradOracle(g: number[]): BatchOracle {
  return {
    loss: 0,
    grad: Float64Array.from(g),
    batchSize: 1,
    curvature: () => {
      throw new Error('not needed');
    },
  };
}

async function run(opt: Optimizer, theta: Float64Array, grads: number[][]): Promise<void> {
  for (const g of grads) await opt.step(theta, gradOracle(g));
}

describe('SGD and Adam updates match hand-computed values', () => {
  const grads = [
    [0.5, -1],
    [0.25, 2],
  ];
  it('SGD with heavy-ball momentum (lr 0.1, μ 0.9)', async () => {
    const th = Float64Array.from([1, -2]);
    await run(createOptimizer('sgd', { lr: 0.1, momentum: 0.9 }), th, grads.slice(0, 1));
    expect(th[0]).toBeCloseTo(0.95, 15);
    expect(th[1]).toBeCloseTo(-1.9, 15);
    await run(createOptimizer('sgd', { lr: 0.1, momentum: 0.9 }), (th.set([1, -2]), th), grads);
    // buf₂ = 0.9·(0.5, −1) + (0.25, 2) = (0.7, 1.1)
    expect(th[0]).toBeCloseTo(0.88, 15);
    expect(th[1]).toBeCloseTo(-2.01, 15);
  });

  it('SGD with Nesterov momentum and with weight decay', async () => {
    const th = Float64Array.from([1, -2]);
    await run(createOptimizer('sgd', { lr: 0.1, momentum: 0.9, nesterov: true }), th, grads);
    // step 1: 1.9·g₁; step 2: g₂ + 0.9·(0.7, 1.1) = (0.88, 2.99)
    expect(th[0]).toBeCloseTo(0.817, 15);
    expect(th[1]).toBeCloseTo(-2.109, 15);
    const tw = Float64Array.from([1, -2]);
    await run(createOptimizer('sgd', { lr: 0.1, weightDecay: 0.01 }), tw, grads.slice(0, 1));
    expect(tw[0]).toBeCloseTo(0.949, 15);
    expect(tw[1]).toBeCloseTo(-1.898, 15);
  });

  it('Adam with bias correction (lr 0.1, β 0.9/0.999, ε 1e-8), three steps', async () => {
    const th = Float64Array.from([1, -2]);
    const opt = createOptimizer('adam', { lr: 0.1 });
    const seq = [
      [0.5, -1],
      [-1, 0.25],
      [0.2, 0.2],
    ];
    // reference values computed independently (Python float64)
    const want = [
      [0.900000002, -1.900000001],
      [0.9366103542405654, -1.8530531845234584],
      [0.9532121057371115, -1.8296080900401148],
    ];
    for (let k = 0; k < 3; k++) {
      await run(opt, th, [seq[k]]);
      expect(th[0]).toBeCloseTo(want[k][0], 14);
      expect(th[1]).toBeCloseTo(want[k][1], 14);
    }
  });

  it('Adam with β₁ = β₂ = 0 steps by lr·sign(direction) (the TNGD-Adam setting)', () => {
    const rule = new AdamRule({ lr: 0.01, beta1: 0, beta2: 0, eps: 1e-8, biasCorrection: true, weightDecay: 0 });
    const th = new Float64Array(3);
    rule.apply(th, Float64Array.from([3, -0.002, 40]));
    expect(Array.from(th).map((v) => v / 0.01)).toEqual([expect.closeTo(-1, 7), expect.closeTo(1, 5), expect.closeTo(-1, 9)]);
  });
});

describe('NGD variants step θ ← θ − η (F + λI)⁻¹ g', () => {
  const p = new SoftmaxProblem(3, 60, 4, 3);
  it.each(['ngd-exact', 'ngd-cg', 'ngd-woodbury'])('%s matches the dense reference step to 1e-8 relative', async (name) => {
    const th = new Float64Array(p.n).map((_, i) => 0.1 * Math.sin(i));
    const o = p.oracle(th);
    const f = o.curvature('ggn');
    const a = formDenseCurvature(f, 0.05);
    choleskyInPlace(a, p.n);
    const x = new Float64Array(p.n);
    choleskySolve(a, p.n, o.grad, x);
    const before = th.slice();
    const opts = name === 'ngd-cg' ? { lr: 0.3, damping: 0.05, tol: 1e-12, maxIter: 500 } : { lr: 0.3, damping: 0.05 };
    const stats = await createOptimizer(name, opts).step(th, o);
    const step = th.map((v, i) => v - before[i]);
    expect(relErr(step, x.map((v) => -0.3 * v))).toBeLessThan(1e-8);
    expect(stats.hostSeconds).toBeGreaterThan(0);
    if (name === 'ngd-cg') expect(stats.matvecs).toBeGreaterThan(0);
  });

  it('Woodbury handles nearly one-hot softmax blocks (entries ~1e-5, rounding-level negative eigenvalue)', () => {
    const dz = 4;
    const pr = [1 - 3e-5, 1e-5, 1e-5, 1e-5];
    const blocks = new Float64Array(dz * dz);
    for (let i = 0; i < dz; i++) for (let j = 0; j < dz; j++) blocks[i * dz + j] = (i === j ? pr[i] : 0) - pr[i] * pr[j];
    const n = 6;
    const J = Float64Array.from({ length: dz * n }, (_, i) => Math.cos(1.7 * i));
    const f = { n, r: dz, J, core: { kind: 'block' as const, dz, blocks }, scale: 1 };
    const wb = new WoodburySolver();
    wb.factor(f, 1e-3);
    const g = Float64Array.from({ length: n }, (_, i) => i - 2.5);
    const xw = new Float64Array(n);
    wb.solve(g, xw);
    const a = formDenseCurvature(f, 1e-3);
    choleskyInPlace(a, n);
    const ref = new Float64Array(n);
    choleskySolve(a, n, g, ref);
    expect(relErr(xw, ref)).toBeLessThan(1e-8);
  });

  it('ngd-exact refuses N above maxParams with a clear error', async () => {
    const big = new SoftmaxProblem(4, 10, 9, 3); // N = 30
    const th = new Float64Array(big.n);
    const opt = createOptimizer('ngd-exact', { lr: 1, damping: 0.1, maxParams: 20 });
    await expect(opt.step(th, big.oracle(th))).rejects.toThrow(OptimizerLimitError);
    await expect(opt.step(th, big.oracle(th))).rejects.toThrow(/N = 30 exceeds maxParams = 20.*ngd-woodbury/);
  });
});

describe('each optimizer decreases the loss of softmax regression (seed 1, 240 samples, 7 features, 4 classes, full batch)', () => {
  const p = new SoftmaxProblem(1, 240, 6, 4);
  // L(0) = ln 4 ≈ 1.386; the minimum L* ≈ 0.4828 (60 exact Newton-like NGD steps, λ = 1e-6)
  let lStar = 0;
  it('reference optimum', async () => {
    const th = new Float64Array(p.n);
    const ref = createOptimizer('ngd-exact', { lr: 1, damping: 1e-6 });
    for (let i = 0; i < 60; i++) await ref.step(th, p.oracle(th));
    lStar = p.loss(th);
    expect(lStar).toBeGreaterThan(0.4);
    expect(lStar).toBeLessThan(0.6);
  });
  const cases: [string, object, number, number][] = [
    ['sgd', { lr: 0.5, momentum: 0.9 }, 30, 0.03],
    ['adam', { lr: 0.05 }, 30, 0.08],
    ['ngd-exact', { lr: 0.5, damping: 1e-3 }, 20, 1e-3],
    ['ngd-cg', { lr: 0.5, damping: 1e-3, tol: 1e-8, maxIter: 50, warmStart: true }, 20, 1e-3],
    ['ngd-woodbury', { lr: 0.5, damping: 1e-3 }, 20, 1e-3],
    ['ngd-woodbury', { lr: 0.5, damping: 1e-3, curvature: 'ef' }, 20, 1e-3],
    ['ngd-cg', { lr: 0.1, damping: 1e-3, inner: 'adam' }, 30, 0.02],
    ['ngd-woodbury', { lr: 0.2, damping: 1e-3, momentum: 0.5 }, 30, 1e-3],
  ];
  it.each(cases)('%s %j reaches L* + gap within its step budget (steps %d, gap %d)', async (name, opts, steps, gap) => {
    const th = new Float64Array(p.n);
    const opt = createOptimizer(name, opts);
    const l0 = p.loss(th);
    for (let i = 0; i < steps; i++) await opt.step(th, p.oracle(th));
    expect(p.loss(th)).toBeLessThan(l0);
    expect(p.loss(th) - lStar).toBeLessThan(gap);
  });
});

describe('saveState / loadState', () => {
  const p = new SoftmaxProblem(2, 96, 5, 3);
  const batch = (k: number) => Int32Array.from({ length: 16 }, (_, i) => (k * 16 + i) % p.m);
  const configs: [string, object][] = [
    ['sgd', { lr: 0.2, momentum: 0.9, nesterov: true, weightDecay: 1e-3 }],
    ['adam', { lr: 0.02 }],
    ['ngd-exact', { lr: 0.1, damping: 0.01, inner: 'adam' }],
    ['ngd-cg', { lr: 0.3, damping: 0.01, warmStart: true, tol: 1e-4, maxIter: 5 }],
    ['ngd-woodbury', { lr: 0.3, damping: 0.01, momentum: 0.8, curvature: 'ef' }],
  ];
  it.each(configs)('%s resumed through JSON after 5 of 10 steps ends bit-identical', async (name, opts) => {
    const a = new Float64Array(p.n);
    const optA = createOptimizer(name, opts);
    for (let k = 0; k < 10; k++) await optA.step(a, p.oracle(a, batch(k)));

    const b = new Float64Array(p.n);
    const optB1 = createOptimizer(name, opts);
    for (let k = 0; k < 5; k++) await optB1.step(b, p.oracle(b, batch(k)));
    const saved = JSON.parse(JSON.stringify(optB1.saveState())) as unknown;
    const optB2 = createOptimizer(name, opts);
    optB2.loadState(saved);
    for (let k = 5; k < 10; k++) await optB2.step(b, p.oracle(b, batch(k)));

    expect(Buffer.from(b.buffer).equals(Buffer.from(a.buffer))).toBe(true);
    // and the resumed run really depended on the state: a fresh optimizer diverges from it
    const c = new Float64Array(p.n);
    const optC = createOptimizer(name, opts);
    for (let k = 0; k < 5; k++) await optC.step(c, p.oracle(c, batch(k)));
    const optC2 = createOptimizer(name, opts);
    for (let k = 5; k < 10; k++) await optC2.step(c, p.oracle(c, batch(k)));
    expect(Buffer.from(c.buffer).equals(Buffer.from(a.buffer))).toBe(false);
  });

  it('rejects state from another optimizer or with corrupt vectors, leaving the optimizer intact', async () => {
    const adam = createOptimizer('adam', { lr: 0.1 });
    const th = Float64Array.from([1, 2]);
    await adam.step(th, gradOracle([1, 1]));
    const good = adam.saveState() as { rule: { m: string } };
    expect(() => adam.loadState(createOptimizer('sgd', { lr: 0.1 }).saveState())).toThrow(OptimizerStateError);
    expect(() => adam.loadState(createOptimizer('sgd', { lr: 0.1 }).saveState())).toThrow(/'sgd', not 'adam'/);
    const bad = JSON.parse(JSON.stringify(good)) as { rule: { m: string } };
    bad.rule.m = 'AAAA';
    expect(() => adam.loadState(bad)).toThrow(/multiple of 8/);
    expect(() => adam.loadState({ nonsense: true })).toThrow(OptimizerStateError);
    expect(adam.saveState()).toEqual(good);
  });

  it('SgdRule without momentum has nothing to carry', () => {
    const r = new SgdRule({ lr: 1, momentum: 0, nesterov: false, weightDecay: 0 });
    expect(r.saveState()).toEqual({ kind: 'sgd', buf: null });
  });
});

describe('option validation', () => {
  it('lists the built-in optimizers', () => {
    expect(listOptimizers().map((o) => o.name)).toEqual(expect.arrayContaining(['sgd', 'adam', 'ngd-exact', 'ngd-cg', 'ngd-woodbury']));
  });
  const bad: [string, unknown, RegExp][] = [
    ['adam', { lr: -1 }, /lr \(learning rate η\) must be > 0/],
    ['adam', {}, /lr: lr must be a number/],
    ['adam', { lr: 0.1, beta1: 1 }, /beta1 must be < 1/],
    ['sgd', { lr: 0.1, nesterov: true }, /nesterov needs momentum > 0/],
    ['sgd', { lr: 0.1, momentm: 0.9 }, /unknown option 'momentm'/],
    ['ngd-woodbury', { lr: 0.1 }, /damping: damping must be a number/],
    ['ngd-woodbury', { lr: 0.1, damping: 0 }, /damping λ must be > 0/],
    ['ngd-cg', { lr: 0.1, damping: 1, maxIter: 2.5 }, /maxIter must be an integer/],
    ['ngd-cg', { lr: 0.1, damping: 1, curvature: 'fisher' }, /curvature must be 'ggn' or 'ef'/],
    ['ngd-exact', { lr: 0.1, damping: 1, maxParams: 100000 }, /maxParams must be ≤ 8192/],
    ['ngd-exact', { lr: 0.1, damping: 1, inner: 'rmsprop' }, /inner/],
    ['lbfgs', { lr: 1 }, /unknown optimizer; available: sgd, adam/],
  ];
  it.each(bad)('%s %j → %s', (name, opts, msg) => {
    expect(() => createOptimizer(name, opts)).toThrow(OptimizerOptionsError);
    expect(() => createOptimizer(name, opts)).toThrow(msg);
  });
  it('reports every problem at once', () => {
    try {
      createOptimizer('ngd-cg', { lr: 0, damping: -1, tol: 2 });
      expect.unreachable();
    } catch (e) {
      expect((e as OptimizerOptionsError).problems).toHaveLength(3);
    }
  });
});

describe('registry extension (how TNGD plugs in)', () => {
  it('registers a direction optimizer that reuses the shared options and update rules, with a run-time context', async () => {
    const { z } = await import('zod');
    const { registerOptimizer, DirectionOptimizer, createUpdateRule, directionOptimizerBaseShape } = await import(
      '../../../src/host-loop/optimizers/index.ts'
    );
    // A stand-in "device" direction: the gradient scaled by a factor taken from the context,
    // which reports 1 ms of its own host time (the rest being time spent waiting).
    registerOptimizer({
      name: 'scaled-test',
      description: 'test only',
      schema: z.strictObject({ ...directionOptimizerBaseShape }),
      create: (o, ctx) =>
        new DirectionOptimizer(
          'scaled-test',
          {
            compute: (_p, batch, out) => {
              const k = ctx.factor as number;
              for (let i = 0; i < out.length; i++) out[i] = k * batch.grad[i];
              return { hostSeconds: 1e-3, deviceTau: 5 };
            },
            saveState: () => null,
            loadState: () => undefined,
          },
          createUpdateRule(o.inner, o),
        ),
    });
    expect(() => registerOptimizer({ name: 'scaled-test', description: '', schema: z.object({}), create: () => createOptimizer('sgd', { lr: 1 }) })).toThrow(
      /already registered/,
    );
    const opt = createOptimizer('scaled-test', { lr: 0.5 }, { factor: 2 });
    const th = Float64Array.from([1, 1]);
    const stats = await opt.step(th, gradOracle([0.25, -0.5]));
    expect(Array.from(th)).toEqual([0.75, 1.5]);
    expect(stats.deviceTau).toBe(5);
    expect(stats.hostSeconds).toBeGreaterThanOrEqual(1e-3);
    expect(stats.hostSeconds).toBeLessThan(0.5);
    expect(() => createOptimizer('scaled-test', { lr: 0.5, eps: 0 })).toThrow(/eps must be > 0/);
  });
});
