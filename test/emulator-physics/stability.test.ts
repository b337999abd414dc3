// Euler step stability (EMULATOR.md §9.1.1): a run whose step has δt·λmax(A) ≥ 1.875 (the limit 2
// less a 1/16 margin) is refused with 'unstable-step' before anything changes; stable steps run
// with unchanged numerics. λmax comes from a cheap upper bound or, when that does not clear the
// step, a power-iteration estimate; both are checked against a full eigendecomposition here.
import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { PROFILES, PhysicsError, SpuCore, type CoreSpec, type RunConfig } from '../../src/emulator/physics/index.ts';
import { DenseCoupling, FactoredCoupling } from '../../src/emulator/physics/couplings.ts';
import { symmetricEigen } from '../../src/emulator/physics/linalg.ts';
import { STEP_LIMIT, checkEulerStep, lambdaMaxOf } from '../../src/emulator/physics/stability.ts';
import { inverse, matvec, randomSpd, rng, softmaxBlocks } from './helpers.ts';

const euler = (dtTau: number, kappa0 = 0): RunConfig => ({ kappa0, integrator: { kind: 'euler', dtTau }, samplePeriodTau: dtTau, burnInTau: 0 });

function refusal(f: () => unknown): PhysicsError {
  try {
    f();
  } catch (e) {
    if (e instanceof PhysicsError) return e;
    throw e;
  }
  throw new Error('expected a PhysicsError, the call succeeded');
}

const maxEig = (a: Float64Array, n: number): number => Math.max(...symmetricEigen(a, n).values);

/** J (2×3) with orthogonal rows of squared norm 9: s·JᵀHJ has eigenvalues 9·s·eig(H). */
const J23 = new Float64Array([1, 2, 2, 2, -2, 1]);

describe('Euler step limit, dense 2×2', () => {
  // A = [[4, 1], [1, 2]]: λmax = 3 + √2 = 4.41421…; Gershgorin bound 5 is loose, so the estimate decides near the limit
  const A = new Float64Array([4, 1, 1, 2]);
  const lmax = 3 + Math.SQRT2;
  const g = new Float64Array([1, -1]);
  const dev = () => {
    const c = new SpuCore({ maxCells: 4, maxRank: 2, profile: PROFILES.ideal, seed: 9 });
    c.setCurvatureDense(2, A);
    c.setGradient(g);
    return c;
  };

  it('δt just below 1.875/λmax runs and relaxes to A⁻¹g; just above (still < 2/λmax) and past 2/λmax are refused', () => {
    const limit = STEP_LIMIT / lmax; // 0.42476…
    const c = dev();
    c.configure(euler(0.999 * limit));
    const r = c.run({ durationTau: 400 * 0.999 * limit, start: 'reset' });
    const want = matvec(inverse(A, 2), g, 2);
    for (let i = 0; i < 2; i++) expect(Math.abs(r.final[i] - want[i])).toBeLessThan(1e-12);
    for (const dt of [1.001 * limit, 1.99 / lmax, 2.001 / lmax, 1]) {
      c.configure(euler(dt));
      const e = refusal(() => c.run({ durationTau: 10 * dt }));
      expect(e.code).toBe('unstable-step');
      expect(Math.abs((e.detail?.lambdaMax as number) - lmax)).toBeLessThan(1e-3 * lmax);
      expect(Math.abs((e.detail?.maxStableDtTau as number) - limit)).toBeLessThan(1e-3 * limit);
      expect(e.detail?.segment).toBe('main');
      expect(e.message).toMatch(/exact integrator/);
    }
  });

  it('the bound decides when it clears the step (no iteration), the estimate otherwise: λ̂ within 1e−3 relative of λmax, never above it by more than rounding', () => {
    const op = new DenseCoupling(2, A);
    const cheap = checkEulerStep(op, 0.3); // 0.3·5 = 1.5 < 1.875
    expect(cheap).toMatchObject({ stable: true, source: 'bound', lambdaMax: 5, iterations: 0 });
    const near = checkEulerStep(op, 0.4); // 0.4·5 = 2 ≥ 1.875 → estimate; 0.4·4.414 = 1.77 → stable
    expect(near.source).toBe('estimate');
    expect(near.stable).toBe(true);
    expect(near.lambdaMax).toBeLessThanOrEqual(lmax * (1 + 1e-14));
    expect(lmax - near.lambdaMax).toBeLessThan(1e-3 * lmax);
  });

  it('a refused run changes nothing: state, run counter, pending uploads, configuration-independent bytes', () => {
    const c = dev();
    c.configure(euler(0.05, 0.01));
    c.run({ durationTau: 1, start: 'reset' }); // index 0: A, g live
    c.setCurvatureDense(2, new Float64Array([8, 0, 0, 1])); // pending, λmax = 8
    c.setGradient(new Float64Array([2, 0.5]));
    c.setState(new Float64Array([0.25, -0.5]));
    c.configure(euler(0.25, 0.01)); // 0.25·8 = 2: unstable for the pending A; 0.25·4.41 = 1.10 stable for the live one
    for (const start of ['carry', 'reset', 'gradient'] as const) {
      expect(refusal(() => c.run({ durationTau: 1, start, delayTau: 0.5 })).detail?.segment).toBe('main');
      expect(c.runIndex).toBe(1);
      expect(Array.from(c.getState(2))).toEqual([0.25, -0.5]);
    }
    // the same device then runs exactly like one that never saw the refusals
    c.configure(euler(0.05, 0.01));
    const a = c.run({ durationTau: 1, delayTau: 0.5 });
    const d = dev();
    d.configure(euler(0.05, 0.01));
    d.run({ durationTau: 1, start: 'reset' });
    d.setCurvatureDense(2, new Float64Array([8, 0, 0, 1]));
    d.setGradient(new Float64Array([2, 0.5]));
    d.setState(new Float64Array([0.25, -0.5]));
    const b = d.run({ durationTau: 1, delayTau: 0.5 });
    expect(a.runIndex).toBe(1);
    expect(Array.from(a.mean)).toEqual(Array.from(b.mean));
    expect(Array.from(a.final)).toEqual(Array.from(b.final));
  });

  it('a delay is checked under the previous system: stable new A, unstable old A → refused (segment delay); no delay → runs', () => {
    const c = new SpuCore({ maxCells: 4, maxRank: 2, profile: PROFILES.ideal, seed: 9 });
    c.setCurvatureDense(2, new Float64Array([8, 0, 0, 1]));
    c.setGradient(g);
    c.configure({ kappa0: 0, integrator: { kind: 'exact' }, samplePeriodTau: 0.3, burnInTau: 0 });
    c.run({ durationTau: 0.3 }); // the exact integrator has no step limit
    c.setCurvatureDense(2, new Float64Array([1, 0, 0, 1]));
    c.configure(euler(0.3)); // 0.3·8 = 2.4 old, 0.3·1 new
    const e = refusal(() => c.run({ durationTau: 3, delayTau: 0.3 }));
    expect(e.code).toBe('unstable-step');
    expect(e.detail).toMatchObject({ segment: 'delay', dtTau: 0.3 });
    expect(Math.abs((e.detail?.lambdaMax as number) - 8)).toBeLessThan(8e-3);
    expect(c.runIndex).toBe(1);
    expect(c.run({ durationTau: 3 }).runIndex).toBe(1);
  });
});

describe('Euler step limit, factored A = λI + s·JᵀHJ', () => {
  const cases: { label: string; core: CoreSpec; lmax: number }[] = [
    // diagonal H = (1, ½): eigenvalues λ + 9s·(1, ½); bound λ + 9s·1.5 is loose
    { label: 'diagonal core', core: { kind: 'diagonal', d: new Float64Array([1, 0.5]) }, lmax: 0.5 + 9 },
    // one 2×2 block [[2, 1], [1, 2]] (eigenvalues 3, 1): λmax = λ + 27, bound λ + 9·2·3
    { label: '2×2 block core', core: { kind: 'block', dz: 2, blocks: new Float64Array([2, 1, 1, 2]) }, lmax: 0.5 + 27 },
  ];
  for (const { label, core, lmax } of cases) {
    it(`${label}: λmax = ${lmax}; δt = 0.99·1.875/λmax runs to A⁻¹g, 1.01·1.875/λmax is refused with the counter unchanged`, () => {
      const c = new SpuCore({ maxCells: 3, maxRank: 2, profile: PROFILES.ideal, seed: 4 });
      c.setCurvatureFactored({ n: 3, r: 2, J: J23, core, scale: 1, lambda: 0.5 });
      const g = new Float64Array([1, 0, -1]);
      c.setGradient(g);
      const limit = STEP_LIMIT / lmax;
      c.configure(euler(1.01 * limit));
      const e = refusal(() => c.run({ durationTau: 100 * 1.01 * limit, start: 'reset' }));
      expect(e.code).toBe('unstable-step');
      expect(Math.abs((e.detail?.lambdaMax as number) - lmax)).toBeLessThan(1e-3 * lmax);
      expect(c.runIndex).toBe(0);
      c.configure(euler(0.99 * limit));
      // the slowest mode is λ = 0.5 (complement of span Jᵀ): 0.5·δt per step, so run long enough
      const r = c.run({ durationTau: 3000 * 0.99 * limit, start: 'reset' });
      expect(r.runIndex).toBe(0);
      // A⁻¹g by hand: dense A = λI + JᵀCJ
      const C = core.kind === 'diagonal' ? [core.d[0], 0, 0, core.d[1]] : [2, 1, 1, 2];
      const Ad = new Float64Array(9);
      for (let i = 0; i < 3; i++) for (let j = 0; j < 3; j++) {
        let s = i === j ? 0.5 : 0;
        for (let a = 0; a < 2; a++) for (let b = 0; b < 2; b++) s += J23[a * 3 + i] * C[a * 2 + b] * J23[b * 3 + j];
        Ad[i * 3 + j] = s;
      }
      expect(maxEig(Ad, 3)).toBeCloseTo(lmax, 10);
      const want = matvec(inverse(Ad, 3), g, 3);
      for (let i = 0; i < 3; i++) expect(Math.abs(r.final[i] - want[i])).toBeLessThan(1e-9);
    });
  }
});

describe('λmax estimate accuracy (power iteration, tolerance 2⁻¹⁰, cap 64) against symmetricEigen', () => {
  it('dense SPD n = 40 and a GGN-like factored A (n = 300, r = 40, softmax blocks): λ̂ ≤ λmax and within 1 %; the bound ≥ λmax', () => {
    const n = 40;
    const A = randomSpd(n, 7, 0.1);
    const d = lambdaMaxOf(new DenseCoupling(n, A));
    const ld = maxEig(A, n);
    expect(d.estimate).toBeLessThanOrEqual(ld * (1 + 1e-12));
    expect(d.estimate).toBeGreaterThan(0.99 * ld);
    expect(d.bound).toBeGreaterThanOrEqual(ld);

    const N = 300, r = 40, dz = 10;
    const u = rng(11);
    // rows with decaying scale, as output Jacobians of a trained net
    const J = new Float64Array(r * N);
    for (let k = 0; k < r; k++) for (let j = 0; j < N; j++) J[k * N + j] = (u() - 0.5) * (1 + 3 * Math.exp(-k / 5));
    const blocks = softmaxBlocks(r / dz, dz, 12);
    const op = new FactoredCoupling(N, r, J, { kind: 'block', dz, blocks }, 1 / 4, 0.1);
    const f = lambdaMaxOf(op);
    const spec = op.getSpectral();
    const lf = Math.max(0.1, ...spec.a);
    expect(f.estimate).toBeLessThanOrEqual(lf * (1 + 1e-12));
    expect(f.estimate).toBeGreaterThan(0.99 * lf);
    expect(f.bound).toBeGreaterThanOrEqual(lf);
    expect(f.iterations).toBeLessThanOrEqual(64);
  });

  it('never refuses a step with δt·λmax < 1.875·(1 − 1e−3), always refuses δt·λmax ≥ 2 (fast-check, 150 random SPD matrices n ≤ 8)', () => {
    fc.assert(
      fc.property(fc.integer({ min: 1, max: 8 }), fc.integer({ min: 1, max: 1e6 }), fc.double({ min: 0.01, max: 0.999, noNaN: true }), (n, seed, frac) => {
        const A = randomSpd(n, seed, 0.05);
        const l = maxEig(A, n);
        const ok = checkEulerStep(new DenseCoupling(n, A), (frac * STEP_LIMIT) / l);
        const bad = checkEulerStep(new DenseCoupling(n, A), 2 / l);
        return ok.stable && !bad.stable;
      }),
      { numRuns: 150, seed: 20261128 },
    );
  });
});

describe('λ̂ is not recomputed for an A seen before (EMULATOR.md §9.1.1, non-normative cache)', () => {
  it('a second upload of the same factored A (a new device, as after a resume) reuses λ̂ bit for bit; a changed entry recomputes it', async () => {
    const { lambdaEstimateUncached, estimatesRun } = await import('../../src/emulator/physics/stability.ts');
    const n = 200, r = 20;
    const u = rng(77);
    const J = new Float64Array(r * n).map(() => u() - 0.5);
    const core: CoreSpec = { kind: 'block', dz: 10, blocks: softmaxBlocks(2, 10, 5) };
    const device = () => new SpuCore({ maxCells: n, maxRank: r, profile: PROFILES.ideal, seed: 3 });
    const upload = (c: SpuCore, j: Float64Array) => c.setCurvatureFactored({ n, r, J: j, core, scale: 0.5, lambda: 0.01 });
    const a = device();
    upload(a, J);
    const before = estimatesRun();
    const first = a.lambdaMax();
    expect(estimatesRun()).toBe(before + 1);
    const b = device();
    upload(b, J);
    const again = b.lambdaMax();
    expect(estimatesRun()).toBe(before + 1); // served from the cache
    expect(again).toEqual(first);
    // the cached value is exactly what the iteration computes
    const fresh = lambdaEstimateUncached(new FactoredCoupling(n, r, J, core, 0.5, 0.01));
    expect(fresh.estimate).toBe(first.estimate);
    expect(fresh.iterations).toBe(first.iterations);
    const J2 = Float64Array.from(J);
    J2[7] = J2[7] * 2;
    const c = device();
    upload(c, J2);
    const changed = c.lambdaMax();
    expect(estimatesRun()).toBe(before + 2);
    expect(changed.estimate).toBe(lambdaEstimateUncached(new FactoredCoupling(n, r, J2, core, 0.5, 0.01)).estimate);
    expect(changed.estimate).not.toBe(first.estimate);
  });
});
