// The layered curvature form in the physics core (EMULATOR.md §6.1, §7.1): its products against
// the explicit J it stands for (1e−12 relative on random nets), its stationary law (same
// statistics as stats.test.ts), bit-identity with the factored form when J is one explicit
// block (same DAC, mismatch addresses and summation orders), chunk invariance, atomic uploads.
import { describe, expect, it } from 'vitest';
import { PROFILES, SpuCore, type CoreSpec, type LayerFactors, type LayeredCurvature } from '../../src/emulator/physics/index.ts';
import { FactoredCoupling } from '../../src/emulator/physics/couplings.ts';
import { LayeredCoupling, layerColumns } from '../../src/emulator/physics/layered-coupling.ts';
import { formFactored, inverse, matvec, moments, rng, softmaxBlocks } from './helpers.ts';

/** J (r×n) spelled out from the blocks, by the definition (PROTOCOL.md §7.4.2). */
function expand(f: { n: number; r: number; b: number; layers: LayerFactors[] }): Float64Array {
  const { n, r, b } = f;
  const m = r / b;
  const J = new Float64Array(r * n);
  let c0 = 0;
  for (const l of f.layers) {
    for (let p = 0; p < r; p++) {
      if (l.kind === 'explicit') for (let k = 0; k < l.cols; k++) J[p * n + c0 + k] = l.J[p * l.cols + k];
      else
        for (let j = 0; j < l.nOut; j++) {
          const d = l.D[p * l.nOut + j];
          for (let t = 0; t < l.nIn; t++) J[p * n + c0 + j * l.nIn + t] = d * l.A[Math.floor(p / m) * l.nIn + t];
          if (l.bias) J[p * n + c0 + l.nOut * l.nIn + j] = d;
        }
    }
    c0 += layerColumns(l);
  }
  return J;
}

/** A random net's factors: dense nIn→h (bias), explicit block, dense h→out (no bias). */
function randomNet(seed: number, b: number, m: number, dims = { nIn: 7, h: 5, ex: 4, out: 3 }, coreKind: CoreSpec['kind'] = 'block'): LayeredCurvature {
  const u = rng(seed);
  const r = b * m;
  const fill = (k: number, s = 1) => Float64Array.from({ length: k }, () => (u() * 2 - 1) * s);
  const layers: LayerFactors[] = [
    { kind: 'dense', nIn: dims.nIn, nOut: dims.h, bias: true, A: fill(b * dims.nIn), D: fill(r * dims.h) },
    { kind: 'explicit', cols: dims.ex, J: fill(r * dims.ex, 0.5) },
    { kind: 'dense', nIn: dims.h, nOut: dims.out, bias: false, A: fill(b * dims.h), D: fill(r * dims.out) },
  ];
  const n = layers.reduce((s, l) => s + layerColumns(l), 0);
  const core: CoreSpec =
    coreKind === 'identity' ? { kind: 'identity' }
    : coreKind === 'diagonal' ? { kind: 'diagonal', d: fill(r).map(Math.abs) }
    : coreKind === 'block' ? { kind: 'block', dz: m, blocks: softmaxBlocks(b, m, seed + 1) }
    : (() => {
        const B = fill(r * r);
        const h = new Float64Array(r * r);
        for (let i = 0; i < r; i++) for (let j = 0; j <= i; j++) {
          let s = 0;
          for (let k = 0; k < r; k++) s += B[i * r + k] * B[j * r + k];
          h[i * r + j] = h[j * r + i] = s / r;
        }
        return { kind: 'dense', h } as CoreSpec;
      })();
  return { n, r, b, layers, core, scale: 0.75, lambda: 0.3 };
}

function relErr(a: Float64Array, b: Float64Array): number {
  let num = 0;
  let den = 0;
  for (let i = 0; i < a.length; i++) {
    num = Math.max(num, Math.abs(a[i] - b[i]));
    den = Math.max(den, Math.abs(b[i]));
  }
  return num / den;
}

describe('layered products equal those of the explicit J (random nets, 1e−12 relative)', () => {
  for (const coreKind of ['identity', 'diagonal', 'block', 'dense'] as const)
    for (const seed of [1, 2, 3])
      it(`core ${coreKind}, seed ${seed}: J·x, Jᵀ·w, A·x, the Gram, row squares`, () => {
        const f = randomNet(seed, 4, 3, undefined, coreKind);
        const { n, r } = f;
        const J = expand(f);
        const lay = new LayeredCoupling(n, r, f.b, f.layers, f.core, f.scale, f.lambda);
        const fac = new FactoredCoupling(n, r, J, f.core, f.scale, f.lambda);
        const u = rng(100 + seed);
        const x = Float64Array.from({ length: n }, () => u() * 2 - 1);
        const w = Float64Array.from({ length: r }, () => u() * 2 - 1);
        const [y1, y2] = [new Float64Array(r), new Float64Array(r)];
        lay.applyJ(x, y1);
        fac.applyJ(x, y2);
        expect(relErr(y1, y2)).toBeLessThan(1e-12);
        const [o1, o2] = [new Float64Array(n), new Float64Array(n)];
        lay.applyJT(w, o1);
        fac.applyJT(w, o2);
        expect(relErr(o1, o2)).toBeLessThan(1e-12);
        lay.apply(x, o1);
        fac.apply(x, o2);
        expect(relErr(o1, o2)).toBeLessThan(1e-12);
        // and against the dense reference s·JᵀHJ + λI
        expect(relErr(o1, matvec(formFactored(n, r, J, f.core, f.scale, f.lambda), x, n))).toBeLessThan(1e-12);
        const K = lay.gram();
        const Kref = new Float64Array(r * r);
        for (let p = 0; p < r; p++) for (let q = 0; q < r; q++) for (let i = 0; i < n; i++) Kref[p * r + q] += J[p * n + i] * J[q * n + i];
        expect(relErr(K, Kref)).toBeLessThan(1e-12);
        for (let p = 0; p < r; p++) for (let q = 0; q < r; q++) expect(K[p * r + q]).toBe(K[q * r + p]);
        const rs = lay.rowSquares();
        for (let p = 0; p < r; p++) expect(rs[p]).toBe(K[p * r + p]);
      });
});

function core(seed: number, profile = PROFILES.ideal): SpuCore {
  return new SpuCore({ maxCells: 256, maxRank: 64, profile, seed });
}

describe('one explicit block covering J: the same device as the factored upload, bit for bit', () => {
  for (const profile of ['ideal', 'prototype'] as const)
    for (const integrator of [{ kind: 'exact' as const }, { kind: 'euler' as const, dtTau: 0.02 }])
      it(`${profile}, ${integrator.kind}: mean and final bits equal (DAC full scale, mismatch addresses and sums coincide)`, () => {
        const f = randomNet(4, 3, 2);
        const J = expand(f);
        const g = Float64Array.from({ length: f.n }, (_, i) => Math.sin(i + 1) * 0.5);
        const out = [];
        for (const form of ['layered', 'factored'] as const) {
          const c = core(77, PROFILES[profile]);
          c.configure({ kappa0: 0.05, integrator, samplePeriodTau: 0.1, burnInTau: 0.5 });
          if (form === 'layered') c.setCurvatureLayered({ ...f, layers: [{ kind: 'explicit', cols: f.n, J }] });
          else c.setCurvatureFactored({ n: f.n, r: f.r, J, core: f.core, scale: f.scale, lambda: f.lambda });
          c.setGradient(g);
          out.push(c.run({ durationTau: 2, start: 'gradient' }), c.run({ durationTau: 1.5, start: 'carry' }));
        }
        for (let k = 0; k < 2; k++) {
          expect(Buffer.from(out[k].mean.buffer).equals(Buffer.from(out[k + 2].mean.buffer))).toBe(true);
          expect(Buffer.from(out[k].final.buffer).equals(Buffer.from(out[k + 2].final.buffer))).toBe(true);
        }
      });
});

describe('layered runs do not depend on chunking', () => {
  for (const integrator of [{ kind: 'exact' as const }, { kind: 'euler' as const, dtTau: 0.05 }])
    it(`${integrator.kind}, prototype profile, with a sample stream: 1, 3, 17 and all steps per call give the same bytes`, () => {
      const f = randomNet(5, 4, 2);
      const g = Float64Array.from({ length: f.n }, (_, i) => Math.cos(i) * 0.3);
      const digests = [1, 3, 17, 1 << 20].map((chunk) => {
        const c = core(9, PROFILES.prototype);
        c.configure({ kappa0: 0.02, integrator, samplePeriodTau: 0.1, burnInTau: 0.2 });
        c.setCurvatureLayered(f);
        c.setGradient(g);
        const rows: number[] = [];
        const h = c.startRun({ durationTau: 1, start: 'gradient', onSampleBlock: (b) => rows.push(...b.values.subarray(0, b.count * b.n)), blockSamples: 4 });
        while (!h.done) h.advance(chunk);
        const r = h.result();
        return Buffer.concat([Buffer.from(r.mean.buffer), Buffer.from(r.final.buffer), Buffer.from(Float64Array.from(rows).buffer)]).toString('hex');
      });
      expect(new Set(digests).size).toBe(1);
    });
});

describe('κ₀ = 0, long t: the layered readout is the direct solve A⁻¹g', () => {
  for (const integrator of [{ kind: 'exact' as const }, { kind: 'euler' as const, dtTau: 0.05 }])
    it(`${integrator.kind}: t = 80τ, 1e−9 relative`, () => {
      const f = randomNet(6, 3, 2);
      const A = formFactored(f.n, f.r, expand(f), f.core, f.scale, f.lambda);
      const g = Float64Array.from({ length: f.n }, (_, i) => ((i * 7) % 5) / 5 - 0.4);
      const c = core(3);
      c.configure({ kappa0: 0, integrator, samplePeriodTau: 0.5, burnInTau: 60 });
      c.setCurvatureLayered(f);
      c.setGradient(g);
      const r = c.run({ durationTau: 80, start: 'reset' });
      expect(relErr(r.final, matvec(inverse(A, f.n), g, f.n))).toBeLessThan(1e-9);
    });
});

describe('stationary law of a layered A: x ~ N(A⁻¹g, κ₀A⁻¹)', () => {
  it('exact integrator: seed 12, R = 4000 runs of 40τ, mean and covariance within 5σ', () => {
    // small net (n = 2·2+2 + 2 + 2·2 = 12 cells, r = 4) so the 12×12 covariance is estimable
    const f = randomNet(7, 2, 2, { nIn: 2, h: 2, ex: 2, out: 2 });
    const { n } = f;
    const A = formFactored(n, f.r, expand(f), f.core, f.scale, f.lambda);
    const g = Float64Array.from({ length: n }, (_, i) => ((i * 3) % 7) / 7 - 0.4);
    const kappa = 0.2;
    const R = 4000;
    const c = core(12);
    c.configure({ kappa0: kappa, integrator: { kind: 'exact' }, samplePeriodTau: 1, burnInTau: 0 });
    c.setCurvatureLayered(f);
    c.setGradient(g);
    const finals: Float64Array[] = [];
    for (let k = 0; k < R; k++) finals.push(c.run({ durationTau: 40, start: 'reset', chunkSteps: 1 << 20 }).final);
    const Ainv = inverse(A, n);
    const mu = matvec(Ainv, g, n);
    const m = moments(finals, n);
    let zm = 0;
    let zc = 0;
    for (let i = 0; i < n; i++) {
      zm = Math.max(zm, Math.abs(m.mean[i] - mu[i]) / Math.sqrt((kappa * Ainv[i * n + i]) / R));
      for (let j = 0; j < n; j++) {
        const S = (p: number, q: number) => kappa * Ainv[p * n + q];
        const sd = Math.sqrt((S(i, i) * S(j, j) + S(i, j) ** 2) / (R - 1));
        zc = Math.max(zc, Math.abs(m.cov[i * n + j] - S(i, j)) / sd);
      }
    }
    expect(zm).toBeLessThan(5);
    expect(zc).toBeLessThan(5);
  });
});

describe('layered uploads are atomic and validated', () => {
  const bad: [string, (f: LayeredCurvature) => LayeredCurvature, string][] = [
    ['Σ cols ≠ n', (f) => ({ ...f, n: f.n + 1 }), 'shape'],
    ['r not a multiple of b', (f) => ({ ...f, b: 5 }), 'shape'],
    ['A_l of the wrong length', (f) => ({ ...f, layers: [{ ...(f.layers[0] as Extract<LayerFactors, { kind: 'dense' }>), A: new Float64Array(3) }, ...f.layers.slice(1)] }), 'shape'],
    ['a NaN in D_l', (f) => ({ ...f, layers: [...f.layers.slice(0, 2), { ...(f.layers[2] as Extract<LayerFactors, { kind: 'dense' }>), D: new Float64Array(f.r * 3).fill(NaN) }] }), 'non-finite'],
    ['λ = 0', (f) => ({ ...f, lambda: 0 }), 'not-positive-definite'],
  ];
  for (const [what, spoil, code] of bad)
    it(`${what}: PhysicsError '${code}', and the previous curvature still runs to the same bits`, () => {
      const good = randomNet(8, 2, 2);
      const g = Float64Array.from({ length: good.n }, () => 0.1);
      const run = (c: SpuCore) => c.run({ durationTau: 1, start: 'reset' }).final;
      const ref = core(5);
      ref.configure({ kappa0: 0.01, integrator: { kind: 'exact' }, samplePeriodTau: 0.5, burnInTau: 0 });
      ref.setCurvatureLayered(good);
      ref.setGradient(g);
      const expected = run(ref);
      const c = core(5);
      c.configure({ kappa0: 0.01, integrator: { kind: 'exact' }, samplePeriodTau: 0.5, burnInTau: 0 });
      c.setCurvatureLayered(good);
      c.setGradient(g);
      expect(() => c.setCurvatureLayered(spoil(randomNet(8, 2, 2)))).toThrow(expect.objectContaining({ code }));
      expect(Buffer.from(run(c).buffer).equals(Buffer.from(expected.buffer))).toBe(true);
    });
});

describe('layered runs: WASM kernels and the scalar reference give the same bits', () => {
  for (const integrator of [{ kind: 'exact' as const }, { kind: 'euler' as const, dtTau: 0.05 }])
    it(`${integrator.kind}, prototype profile, κ₀ = 0.05 (noise and update in the kernel deck)`, () => {
      const f = randomNet(10, 4, 3);
      const g = Float64Array.from({ length: f.n }, (_, i) => Math.sin(2 * i) * 0.3);
      const out = [false, true].map((scalarKernels) => {
        const c = new SpuCore({ maxCells: 256, maxRank: 64, profile: PROFILES.prototype, seed: 21, scalarKernels });
        c.configure({ kappa0: 0.05, integrator, samplePeriodTau: 0.1, burnInTau: 0.2 });
        c.setCurvatureLayered(f);
        c.setGradient(g);
        const r = c.run({ durationTau: 2, start: 'gradient' });
        return Buffer.concat([Buffer.from(r.mean.buffer), Buffer.from(r.final.buffer)]).toString('hex');
      });
      expect(out[0]).toBe(out[1]);
    });
});
