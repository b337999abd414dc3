// Statistical validation of the physics against the OU laws. Every test states seed, sample
// size and a tolerance derived from the estimator's standard deviation (5σ unless noted).
import { describe, expect, it } from 'vitest';
import { PROFILES, SpuCore, type CoreSpec, type RunConfig } from '../../src/emulator/physics/index.ts';
import { expm, formFactored, inverse, matmul, matvec, moments, randomSpd, rng, softmaxBlocks } from './helpers.ts';

const Z = 5;

function dev(seed: number, maxCells = 64): SpuCore {
  return new SpuCore({ maxCells, maxRank: 16, profile: PROFILES.ideal, seed });
}

/** Collects R independent final/mean readouts (each run has its own noise index). */
function collect(core: SpuCore, cfg: RunConfig, R: number, run: { durationTau: number; x0?: Float64Array }) {
  core.configure(cfg);
  const finals: Float64Array[] = [];
  const means: Float64Array[] = [];
  for (let k = 0; k < R; k++) {
    if (run.x0) core.setState(run.x0);
    const r = core.run({ durationTau: run.durationTau, start: run.x0 ? 'carry' : 'reset', chunkSteps: 1 << 20 });
    finals.push(r.final);
    means.push(r.mean);
  }
  return { finals, means };
}

/** Max over entries of |est − truth| / sd; cov sd from Var(s_ij) ≈ (Σ_ii Σ_jj + Σ_ij²)/(R−1). */
function zMean(est: Float64Array, truth: Float64Array, cov: Float64Array, n: number, R: number): number {
  let z = 0;
  for (let i = 0; i < n; i++) z = Math.max(z, Math.abs(est[i] - truth[i]) / Math.sqrt(cov[i * n + i] / R));
  return z;
}
function zCov(est: Float64Array, truth: Float64Array, n: number, R: number): number {
  let z = 0;
  for (let i = 0; i < n; i++)
    for (let j = 0; j < n; j++) {
      const sd = Math.sqrt((truth[i * n + i] * truth[j * n + j] + truth[i * n + j] ** 2) / (R - 1));
      z = Math.max(z, Math.abs(est[i * n + j] - truth[i * n + j]) / sd);
    }
  return z;
}

const report: string[] = [];
function note(s: string): void {
  report.push(s);
  if (process.env.SPU_STATS_VERBOSE) console.log(s);
}

// Shared systems: dense 3×3 (eigenvalues ≥ 0.5) and factored n = 6, r = 3 (softmax block, λ = 0.5).
const nD = 3;
const AD = randomSpd(nD, 5, 0.5);
const gD = new Float64Array([0.4, -0.3, 0.8]);
const nF = 6, rF = 3;
const JF = new Float64Array(rF * nF).map(((u) => () => u() * 2 - 1)(rng(9)));
const coreF: CoreSpec = { kind: 'block', dz: 3, blocks: softmaxBlocks(1, 3, 4) };
const AF = formFactored(nF, rF, JF, coreF, 4, 0.5);
const gF = new Float64Array([0.3, -0.2, 0.5, 0.1, -0.4, 0.2]);

function loadDense(c: SpuCore) {
  c.setCurvatureDense(nD, AD);
  c.setGradient(gD);
}
function loadFactored(c: SpuCore) {
  c.setCurvatureFactored({ n: nF, r: rF, J: JF, core: coreF, scale: 4, lambda: 0.5 });
  c.setGradient(gF);
}

describe('stationary law x ~ N(A⁻¹g, κ₀A⁻¹)', () => {
  const kappa = 0.2;
  const R = 4000;
  for (const [label, n, A, g, load, seed] of [
    ['dense', nD, AD, gD, loadDense, 11],
    ['factored', nF, AF, gF, loadFactored, 12],
  ] as const) {
    it(`${label}, exact integrator: seed ${seed}, R = ${R} runs of 40τ, 5σ`, () => {
      const c = dev(seed);
      load(c);
      const { finals } = collect(c, { kappa0: kappa, integrator: { kind: 'exact' }, samplePeriodTau: 1, burnInTau: 0 }, R, { durationTau: 40 });
      const Ainv = inverse(A, n);
      const mu = matvec(Ainv, g, n);
      const Sigma = Ainv.map((v) => v * kappa);
      const m = moments(finals, n);
      const zm = zMean(m.mean, mu, Sigma, n, R);
      const zc = zCov(m.cov, Sigma, n, R);
      note(`stationary ${label} exact: mean z=${zm.toFixed(2)}, cov z=${zc.toFixed(2)} (tol ${Z})`);
      expect(zm).toBeLessThan(Z);
      expect(zc).toBeLessThan(Z);
    });
  }

  for (const [label, n, A, g, load, seed] of [
    ['dense', nD, AD, gD, loadDense, 13],
    ['factored', nF, AF, gF, loadFactored, 14],
  ] as const) {
    it(`${label}, Euler δt = 0.05: mean A⁻¹g, covariance of the Euler chain κ(A − δtA²/2)⁻¹; seed ${seed}, R = 3000, 5σ`, () => {
      const c = dev(seed);
      load(c);
      const dt = 0.05;
      const R = 3000;
      const { finals } = collect(c, { kappa0: kappa, integrator: { kind: 'euler', dtTau: dt }, samplePeriodTau: 0.1, burnInTau: 0 }, R, { durationTau: 30 });
      const Ainv = inverse(A, n);
      const mu = matvec(Ainv, g, n);
      const A2 = matmul(A, A, n);
      const SigmaE = inverse(A.map((v, i) => v - (dt / 2) * A2[i]), n).map((v) => v * kappa);
      const m = moments(finals, n);
      const zm = zMean(m.mean, mu, SigmaE, n, R);
      const zc = zCov(m.cov, SigmaE, n, R);
      note(`stationary ${label} euler: mean z=${zm.toFixed(2)}, cov z=${zc.toFixed(2)} (tol ${Z})`);
      expect(zm).toBeLessThan(Z);
      expect(zc).toBeLessThan(Z);
    });
  }
});

describe('transition law from x₀ after t (Eq. 19)', () => {
  const kappa = 0.1;
  const t = 0.7;
  const R = 4000;
  for (const [label, n, A, g, load, seed] of [
    ['dense', nD, AD, gD, loadDense, 21],
    ['factored', nF, AF, gF, loadFactored, 22],
  ] as const) {
    it(`${label}: mean e^{−At}(x₀ − A⁻¹g) + A⁻¹g, cov κA⁻¹(I − e^{−2At}); seed ${seed}, R = ${R}, 5σ`, () => {
      const c = dev(seed);
      load(c);
      const x0 = new Float64Array(n).map((_, i) => (i % 2 ? -1.5 : 2) + 0.1 * i);
      const { finals } = collect(c, { kappa0: kappa, integrator: { kind: 'exact' }, samplePeriodTau: t, burnInTau: 0 }, R, { durationTau: t, x0 });
      const Ainv = inverse(A, n);
      const m0 = matvec(Ainv, g, n);
      const E = expm(A, n, -t);
      const dx = x0.map((v, i) => v - m0[i]);
      const mu = matvec(E, dx, n).map((v, i) => v + m0[i]);
      const E2 = expm(A, n, -2 * t);
      const I_E2 = E2.map((v, i) => (i % (n + 1) === 0 ? 1 : 0) - v);
      const Sigma = matmul(Ainv, I_E2, n).map((v) => v * kappa);
      const m = moments(finals, n);
      const zm = zMean(m.mean, mu, Sigma, n, R);
      const zc = zCov(m.cov, Sigma, n, R);
      note(`transition ${label}: mean z=${zm.toFixed(2)}, cov z=${zc.toFixed(2)} (tol ${Z})`);
      expect(zm).toBeLessThan(Z);
      expect(zc).toBeLessThan(Z);
    });
  }
});

describe('time average over a long window: Cov ≈ 2κ₀A⁻²/T', () => {
  it('dense and factored, exact integrator, T = 200τ (2000 samples, Δ = 0.1τ), seed 31/32, R = 2000; tol 5σ + 3% (finite-T and sampling corrections ≤ 1/(a_min T) + a_max Δ²/12)', () => {
    const kappa = 0.3;
    const T = 200;
    const R = 2000;
    for (const [label, n, A, g, load, seed] of [
      ['dense', nD, AD, gD, loadDense, 31],
      ['factored', nF, AF, gF, loadFactored, 32],
    ] as const) {
      const c = dev(seed);
      load(c);
      const { means } = collect(c, { kappa0: kappa, integrator: { kind: 'exact' }, samplePeriodTau: 0.1, burnInTau: 30 }, R, { durationTau: 30 + T });
      const Ainv = inverse(A, n);
      const target = matmul(Ainv, Ainv, n).map((v) => (2 * kappa * v) / T);
      const mu = matvec(Ainv, g, n);
      const m = moments(means, n);
      let worst = 0;
      for (let i = 0; i < n; i++) {
        const sd = Math.sqrt(2 / (R - 1)) * target[i * n + i];
        const tol = Z * sd + 0.03 * target[i * n + i];
        worst = Math.max(worst, Math.abs(m.cov[i * n + i] - target[i * n + i]) / tol);
      }
      const zm = zMean(m.mean, mu, target, n, R);
      note(`time-average ${label}: worst |Δvar|/tol = ${worst.toFixed(3)}, mean z=${zm.toFixed(2)}`);
      expect(worst).toBeLessThan(1);
      expect(zm).toBeLessThan(Z);
    }
  });
});

describe('Euler with small δt agrees with the exact integrator in distribution', () => {
  it('dense 3×3 from x₀ after t = 1: means, variances, covariances (two-sample 5σ + O(δt) bias ≤ δt·a_max·var); seeds 41/42, R = 3000, δt = 0.005', () => {
    const kappa = 0.2;
    const R = 3000;
    const x0 = new Float64Array([1.5, -1, 0.5]);
    const run = (seed: number, integrator: RunConfig['integrator']) => {
      const c = dev(seed);
      loadDense(c);
      return moments(collect(c, { kappa0: kappa, integrator, samplePeriodTau: 0.5, burnInTau: 0 }, R, { durationTau: 1, x0 }).finals, nD);
    };
    const e = run(41, { kind: 'euler', dtTau: 0.005 });
    const x = run(42, { kind: 'exact' });
    let amax = 0;
    for (let i = 0; i < nD; i++) amax = Math.max(amax, AD.reduce((s, v, k) => (Math.floor(k / nD) === i ? s + Math.abs(v) : s), 0));
    let worst = 0;
    for (let i = 0; i < nD; i++) {
      const zmean = Math.abs(e.mean[i] - x.mean[i]) / Math.sqrt((e.cov[i * nD + i] + x.cov[i * nD + i]) / R);
      worst = Math.max(worst, zmean / Z);
      for (let j = 0; j < nD; j++) {
        const s = x.cov;
        const sd = Math.sqrt((2 * (s[i * nD + i] * s[j * nD + j] + s[i * nD + j] ** 2)) / (R - 1));
        const tol = Z * sd + 0.005 * amax * Math.sqrt(s[i * nD + i] * s[j * nD + j]);
        worst = Math.max(worst, Math.abs(e.cov[i * nD + j] - x.cov[i * nD + j]) / tol);
      }
    }
    note(`euler vs exact: worst |Δ|/tol = ${worst.toFixed(3)}`);
    expect(worst).toBeLessThan(1);
  });
});

describe('κ₀ = 0 and long t: the readout is the direct solve A⁻¹g to 1e−9 relative', () => {
  const n = 8;
  const A = randomSpd(n, 77, 0.5);
  const g = new Float64Array(n).map((_, i) => Math.cos(i + 1));
  const nf = 40, rf = 6;
  const u = rng(78);
  const J = new Float64Array(rf * nf).map(() => u() * 2 - 1);
  const core: CoreSpec = { kind: 'block', dz: 3, blocks: softmaxBlocks(2, 3, 79) };
  const Af = formFactored(nf, rf, J, core, 0.5, 0.5);
  const gf = new Float64Array(nf).map((_, i) => Math.sin(0.3 * i + 0.2));
  const cases = [
    { label: 'dense', setup: (c: SpuCore) => (c.setCurvatureDense(n, A), c.setGradient(g)), x: matvec(inverse(A, n), g, n) },
    { label: 'factored', setup: (c: SpuCore) => (c.setCurvatureFactored({ n: nf, r: rf, J, core, scale: 0.5, lambda: 0.5 }), c.setGradient(gf)), x: matvec(inverse(Af, nf), gf, nf) },
  ];
  for (const cs of cases)
    for (const integrator of [{ kind: 'exact' }, { kind: 'euler', dtTau: 0.1 }] as const) {
      it(`${cs.label}, ${integrator.kind}: t = 80τ, burn-in 60τ`, () => {
        const c = dev(5);
        cs.setup(c);
        c.configure({ kappa0: 0, integrator, samplePeriodTau: 0.1, burnInTau: 60 });
        const r = c.run({ durationTau: 80, start: 'gradient' });
        const scale = Math.max(...cs.x.map(Math.abs));
        const errF = Math.max(...r.final.map((v, i) => Math.abs(v - cs.x[i]))) / scale;
        const errM = Math.max(...r.mean.map((v, i) => Math.abs(v - cs.x[i]))) / scale;
        note(`κ0=0 ${cs.label} ${integrator.kind}: final rel err ${errF.toExponential(2)}, mean rel err ${errM.toExponential(2)} (tol 1e-9)`);
        expect(errF).toBeLessThan(1e-9);
        expect(errM).toBeLessThan(1e-9);
      });
    }
});

describe('thermox-style 2×2 cases (dt = 0.1, 10,000 samples, tolerance 0.1)', () => {
  const A = new Float64Array([3, 2, 2, 4]);
  const b = new Float64Array([1, 2]);
  const Ainv = inverse(A, 2);
  it('solve: time average of 10,000 samples ≈ A⁻¹b (abs tol 0.1); seed 51, κ₀ = 1', () => {
    const c = dev(51);
    c.setCurvatureDense(2, A);
    c.setGradient(b);
    c.configure({ kappa0: 1, integrator: { kind: 'exact' }, samplePeriodTau: 0.1, burnInTau: 0 });
    const r = c.run({ durationTau: 1000, start: 'gradient' });
    const x = matvec(Ainv, b, 2);
    const err = Math.max(...r.mean.map((v, i) => Math.abs(v - x[i])));
    note(`thermox solve: max abs err ${err.toFixed(4)} (tol 0.1), samples ${r.sampleCount}`);
    expect(r.sampleCount).toBe(10000);
    expect(err).toBeLessThan(0.1);
  });
  it('inverse: sample covariance of 10,000 streamed samples / κ₀ ≈ A⁻¹ (abs tol 0.1); seed 52, κ₀ = 1, g = 0', () => {
    const c = dev(52);
    c.setCurvatureDense(2, A);
    c.setGradient(new Float64Array(2));
    c.configure({ kappa0: 1, integrator: { kind: 'exact' }, samplePeriodTau: 0.1, burnInTau: 0 });
    const rows: Float64Array[] = [];
    c.run({ durationTau: 1000, start: 'reset', onSampleBlock: (blk) => {
      for (let k = 0; k < blk.count; k++) rows.push(blk.values.slice(k * 2, k * 2 + 2));
    } });
    const m = moments(rows, 2);
    const err = Math.max(...m.cov.map((v, i) => Math.abs(v - Ainv[i])));
    note(`thermox inverse: max abs err ${err.toFixed(4)} (tol 0.1), samples ${rows.length}`);
    expect(rows.length).toBe(10000);
    expect(err).toBeLessThan(0.1);
  });
  it('same two cases with Euler δt = 0.01 sampled every 0.1τ (seed 53)', () => {
    const c = dev(53);
    c.setCurvatureDense(2, A);
    c.setGradient(b);
    c.configure({ kappa0: 1, integrator: { kind: 'euler', dtTau: 0.01 }, samplePeriodTau: 0.1, burnInTau: 0 });
    const rows: Float64Array[] = [];
    const r = c.run({ durationTau: 1000, start: 'gradient', onSampleBlock: (blk) => {
      for (let k = 0; k < blk.count; k++) rows.push(blk.values.slice(k * 2, k * 2 + 2));
    } });
    const x = matvec(Ainv, b, 2);
    const m = moments(rows, 2);
    const errS = Math.max(...r.mean.map((v, i) => Math.abs(v - x[i])));
    const errI = Math.max(...m.cov.map((v, i) => Math.abs(v - Ainv[i])));
    note(`thermox euler: solve err ${errS.toFixed(4)}, inverse err ${errI.toFixed(4)} (tol 0.1)`);
    expect(errS).toBeLessThan(0.1);
    expect(errI).toBeLessThan(0.1);
  });
});
