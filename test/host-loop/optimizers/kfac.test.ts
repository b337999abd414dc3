// K-FAC: the Kronecker factors against the exact GGN, the direction against the exact damped
// natural gradient where A ⊗ G is exact, factored damping against its dense formula, sampled
// sensitivities against the GGN in expectation, the running average / inverse interval, and
// checkpoints.
import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { makeBatchOracle } from '../../../src/host-loop/batch-oracle.ts';
import { denseCurvature } from '../../../src/host-loop/curvature/factors.ts';
import { Rng } from '../../../src/host-loop/data/rng.ts';
import { choleskyInPlace, choleskySolve, formDenseCurvature } from '../../../src/host-loop/linalg/index.ts';
import { symmetricEigen } from '../../../src/host-loop/linalg/sym-eig.ts';
import { createModel, type Model } from '../../../src/host-loop/models/model.ts';
import { KfacDirection, OptimizerLimitError, OptimizerOptionsError, createOptimizer, kfacOptionsSchema, listOptimizers } from '../../../src/host-loop/optimizers/index.ts';
import { decodeF64 } from '../../../src/host-loop/linalg/f64codec.ts';
import type { BatchOracle, KroneckerLayer } from '../../../src/host-loop/types.ts';
import type { Targets } from '../../../src/host-loop/models/losses.ts';
import { relErr } from './problems.ts';

function batchOf(model: Model, seed: number, b: number, loss: 'ce' | 'mse' = 'ce', params = model.init(seed)): BatchOracle {
  const rng = new Rng(seed, 7);
  const X = Float64Array.from({ length: b * model.inputDim }, () => rng.normal());
  const y: Targets = loss === 'ce' ? Int32Array.from({ length: b }, () => rng.int(model.outputDim)) : Float64Array.from({ length: b * model.outputDim }, () => rng.normal());
  return makeBatchOracle(model, params, X, y, b, loss);
}

/** (F + λI)⁻¹ g with the dense exact GGN. */
function exactNgd(batch: BatchOracle, lambda: number): Float64Array {
  const f = batch.curvature('ggn');
  const a = formDenseCurvature(f, lambda);
  choleskyInPlace(a, f.n);
  const x = new Float64Array(f.n);
  choleskySolve(a, f.n, batch.grad, x);
  return x;
}

/** Parameter index of W̄[o, j] (j = nIn is the bias). */
const idx = (l: KroneckerLayer, o: number, j: number) => (j === l.nIn ? l.bOff + o : l.wOff + o * l.nIn + j);

function kfacDirection(batch: BatchOracle, options: Record<string, unknown>): Float64Array {
  const d = new KfacDirection(kfacOptionsSchema.parse(options));
  const out = new Float64Array(batch.grad.length);
  d.compute(new Float64Array(batch.grad.length), batch, out);
  return out;
}

describe('symmetric eigendecomposition (Jacobi)', () => {
  it('Q diag(d) Qᵀ reproduces A and Q is orthonormal, to 1e-12 relative (fast-check, n ≤ 9, PSD and indefinite)', () => {
    fc.assert(
      fc.property(fc.integer({ min: 1, max: 9 }), fc.integer({ min: 1, max: 1e6 }), fc.boolean(), (n, seed, psd) => {
        const rng = new Rng(seed);
        const B = Float64Array.from({ length: n * n }, () => rng.normal());
        const A = new Float64Array(n * n);
        for (let i = 0; i < n; i++)
          for (let j = 0; j < n; j++) {
            let s = 0;
            for (let k = 0; k < n; k++) s += psd ? B[i * n + k] * B[j * n + k] : 0;
            A[i * n + j] = psd ? s : B[i * n + j] + B[j * n + i];
          }
        const { values, vectors: Q } = symmetricEigen(A, n);
        let scale = 0;
        for (const v of A) scale = Math.max(scale, Math.abs(v));
        for (let i = 0; i < n; i++)
          for (let j = 0; j < n; j++) {
            let rec = 0;
            let dot = 0;
            for (let k = 0; k < n; k++) {
              rec += Q[i * n + k] * values[k] * Q[j * n + k];
              dot += Q[k * n + i] * Q[k * n + j];
            }
            expect(Math.abs(rec - A[i * n + j])).toBeLessThan(1e-12 * Math.max(scale, 1e-300) + 1e-300);
            expect(Math.abs(dot - (i === j ? 1 : 0))).toBeLessThan(1e-12);
          }
        for (let k = 1; k < n; k++) expect(values[k]).toBeGreaterThanOrEqual(values[k - 1]);
      }),
      { numRuns: 60, seed: 14 },
    );
  });
});

describe('Kronecker factors', () => {
  it('b = 1: A ⊗ G equals each layer block of the exact GGN (mlp:5-4-3:tanh, CE) to 1e-12', () => {
    const model = createModel('mlp:5-4-3:tanh');
    const batch = batchOf(model, 3, 1);
    const F = denseCurvature(batch.curvature('ggn'));
    const n = model.numParams;
    const layers = batch.kronecker!('ggn', new Rng(0));
    expect(layers.map((l) => [l.nIn, l.nOut])).toEqual([[5, 4], [4, 3]]);
    let fmax = 0;
    for (const v of F) fmax = Math.max(fmax, Math.abs(v));
    for (const l of layers) {
      const na = l.nIn + 1;
      for (let o = 0; o < l.nOut; o++)
        for (let j = 0; j < na; j++)
          for (let o2 = 0; o2 < l.nOut; o2++)
            for (let j2 = 0; j2 < na; j2++) {
              const kron = l.A[j * na + j2] * l.G[o * l.nOut + o2];
              expect(Math.abs(kron - F[idx(l, o, j) * n + idx(l, o2, j2)])).toBeLessThan(1e-12 * fmax);
            }
    }
  });

  it('b = 8, CE: A ⊗ G is an approximation (block error > 1 %), so the exactness tests below can fail', () => {
    const model = createModel('softmax:5-3');
    const batch = batchOf(model, 4, 8);
    const F = denseCurvature(batch.curvature('ggn'));
    const [l] = batch.kronecker!('ggn', new Rng(0));
    const n = model.numParams;
    let num = 0;
    let den = 0;
    for (let p = 0; p < n; p++)
      for (let q = 0; q < n; q++) {
        const [o, j] = p < l.bOff ? [Math.floor(p / l.nIn), p % l.nIn] : [p - l.bOff, l.nIn];
        const [o2, j2] = q < l.bOff ? [Math.floor(q / l.nIn), q % l.nIn] : [q - l.bOff, l.nIn];
        num += (l.A[j * (l.nIn + 1) + j2] * l.G[o * l.nOut + o2] - F[p * n + q]) ** 2;
        den += F[p * n + q] ** 2;
      }
    expect(Math.sqrt(num / den)).toBeGreaterThan(0.01);
  });

  it("'sampled' G averages to the 'ggn' G: 4000 draws (seed 11), relative error < 5 % (Monte-Carlo sd ≈ 1.6 %)", () => {
    const model = createModel('mlp:4-3-3');
    const batch = batchOf(model, 5, 4);
    const ref = batch.kronecker!('ggn', new Rng(0));
    const rng = new Rng(11);
    const draws = 4000;
    const mean = ref.map((l) => new Float64Array(l.G.length));
    for (let d = 0; d < draws; d++) batch.kronecker!('sampled', rng).forEach((l, i) => l.G.forEach((v, k) => (mean[i][k] += v / draws)));
    ref.forEach((l, i) => {
      expect(relErr(mean[i], l.G)).toBeLessThan(0.05);
      // A does not depend on the sensitivities
      expect(Array.from(batch.kronecker!('sampled', rng)[i].A)).toEqual(Array.from(l.A));
    });
  });
});

describe('K-FAC direction', () => {
  it.each([1e-3, 0.1])("exact damping, softmax regression, b = 1 (A ⊗ G exact): equals (F + λI)⁻¹g to 1e-9, λ = %s", (lambda) => {
    const model = createModel('softmax:6-4');
    const batch = batchOf(model, 8, 1);
    expect(relErr(kfacDirection(batch, { damping: lambda, dampingMode: 'exact' }), exactNgd(batch, lambda))).toBeLessThan(1e-9);
  });

  it('exact damping, linear model under MSE, b = 16 (every S_i = I, so A ⊗ G exact at any b): equals (F + λI)⁻¹g to 1e-9', () => {
    const model = createModel('softmax:5-3');
    const batch = batchOf(model, 9, 16, 'mse');
    expect(relErr(kfacDirection(batch, { damping: 0.01, dampingMode: 'exact' }), exactNgd(batch, 0.01))).toBeLessThan(1e-9);
  });

  it('exact damping on a two-layer MLP, b = 1: equals the block-diagonal exact solve (each layer its own GGN block) to 1e-9', () => {
    const model = createModel('mlp:4-3-3:tanh');
    const batch = batchOf(model, 10, 1);
    const F = denseCurvature(batch.curvature('ggn'));
    const n = model.numParams;
    const layers = batch.kronecker!('ggn', new Rng(0));
    const ref = new Float64Array(n);
    const lambda = 0.05;
    for (const l of layers) {
      const ids: number[] = [];
      for (let o = 0; o < l.nOut; o++) for (let j = 0; j <= l.nIn; j++) ids.push(idx(l, o, j));
      const m = ids.length;
      const blk = new Float64Array(m * m);
      ids.forEach((p, a) => ids.forEach((q, c) => (blk[a * m + c] = F[p * n + q] + (a === c ? lambda : 0))));
      choleskyInPlace(blk, m);
      const x = Float64Array.from(ids, (p) => batch.grad[p]);
      choleskySolve(blk, m, x, x);
      ids.forEach((p, a) => (ref[p] = x[a]));
    }
    expect(relErr(kfacDirection(batch, { damping: lambda, dampingMode: 'exact' }), ref)).toBeLessThan(1e-9);
  });

  it('factored damping equals ((A + πγI) ⊗ (G + γ/π I))⁻¹ g formed densely, γ = √λ, π = √((tr A/(nIn+1))/(tr G/nOut)), to 1e-10', () => {
    const model = createModel('softmax:4-3');
    const batch = batchOf(model, 12, 6);
    const lambda = 0.02;
    const [l] = batch.kronecker!('ggn', new Rng(0));
    const na = l.nIn + 1;
    const trA = l.A.reduce((s, _, i) => s + (i % (na + 1) === 0 ? l.A[i] : 0), 0) / na;
    const trG = l.G.reduce((s, _, i) => s + (i % (l.nOut + 1) === 0 ? l.G[i] : 0), 0) / l.nOut;
    const pi = Math.sqrt(trA / trG);
    const gamma = Math.sqrt(lambda);
    const n = model.numParams;
    const M = new Float64Array(n * n);
    for (let o = 0; o < l.nOut; o++)
      for (let j = 0; j < na; j++)
        for (let o2 = 0; o2 < l.nOut; o2++)
          for (let j2 = 0; j2 < na; j2++)
            M[idx(l, o, j) * n + idx(l, o2, j2)] = (l.A[j * na + j2] + (j === j2 ? pi * gamma : 0)) * (l.G[o * l.nOut + o2] + (o === o2 ? gamma / pi : 0));
    choleskyInPlace(M, n);
    const ref = new Float64Array(n);
    choleskySolve(M, n, batch.grad, ref);
    expect(relErr(kfacDirection(batch, { damping: lambda }), ref)).toBeLessThan(1e-10);
  });

  it('factors are averaged with weight min(1 − 1/k, ρ) on the past; inverses are refreshed every invInterval steps', () => {
    const model = createModel('mlp:4-3-3');
    const b1 = batchOf(model, 20, 5);
    const b2 = batchOf(model, 21, 5);
    const o = kfacOptionsSchema.parse({ damping: 0.1, invInterval: 1000, factorDecay: 0.95 });
    const d = new KfacDirection(o);
    const n = model.numParams;
    const out2 = new Float64Array(n);
    d.compute(new Float64Array(n), b1, new Float64Array(n));
    d.compute(new Float64Array(n), b2, out2);
    // the running A after step 2 is the plain mean (weight 1/2), G likewise
    const st = d.saveState() as { layers: { A: string; G: string }[] };
    const f1 = b1.kronecker!('ggn', new Rng(0));
    const f2 = b2.kronecker!('ggn', new Rng(0));
    st.layers.forEach((l, i) => {
      expect(relErr(decodeF64(l.A), f1[i].A.map((v, k) => 0.5 * v + 0.5 * f2[i].A[k]))).toBeLessThan(1e-15);
      expect(relErr(decodeF64(l.G), f1[i].G.map((v, k) => 0.5 * v + 0.5 * f2[i].G[k]))).toBeLessThan(1e-15);
    });
    // step 2 still used step 1's inverse: batch 1's factors applied to batch 2's gradient
    const mixed: BatchOracle = { ...b2, kronecker: b1.kronecker };
    expect(Array.from(out2)).toEqual(Array.from(kfacDirection(mixed, { damping: 0.1 })));
    // with a refresh every step the direction changes
    const e = new KfacDirection(kfacOptionsSchema.parse({ damping: 0.1, invInterval: 1 }));
    const out2b = new Float64Array(n);
    e.compute(new Float64Array(n), b1, new Float64Array(n));
    e.compute(new Float64Array(n), b2, out2b);
    expect(relErr(out2b, out2)).toBeGreaterThan(1e-3);
  });

  it('saveState/loadState: a restored sampled K-FAC continues bit-identically (running factors, refresh factors, label RNG)', async () => {
    const model = createModel('mlp:4-3-3');
    const batches = [30, 31, 32, 33, 34].map((s) => batchOf(model, s, 4));
    const opts = { lr: 0.1, damping: 0.1, sensitivities: 'sampled', invInterval: 2, sampleSeed: 5 };
    const a = createOptimizer('kfac', opts);
    const th = model.init(1);
    for (const bt of batches.slice(0, 3)) await a.step(th, bt);
    const b = createOptimizer('kfac', opts);
    b.loadState(JSON.parse(JSON.stringify(a.saveState())));
    const thB = th.slice();
    for (const bt of batches.slice(3)) {
      await a.step(th, bt);
      await b.step(thB, bt);
    }
    expect(Array.from(thB)).toEqual(Array.from(th));
  });
});

describe('kfac in the registry', () => {
  it('is listed, runs with its defaults (lr 0.1, λ 0.1, GGN, factored damping) and fits a teacher-labelled batch (loss halves in 30 steps)', async () => {
    expect(listOptimizers().map((o) => o.name)).toContain('kfac');
    const model = createModel('mlp:6-5-3');
    const rng = new Rng(41);
    const b = 64;
    const X = Float64Array.from({ length: b * 6 }, () => rng.normal());
    // labels: arg-max of a fixed linear teacher, so the batch is learnable
    const T = Float64Array.from({ length: 18 }, () => rng.normal());
    const y = Int32Array.from({ length: b }, (_, i) => {
      const s = [0, 1, 2].map((k) => T.subarray(k * 6, k * 6 + 6).reduce((a, w, j) => a + w * X[i * 6 + j], 0));
      return s.indexOf(Math.max(...s));
    });
    const opt = createOptimizer('kfac', {});
    const th = model.init(2);
    const loss0 = makeBatchOracle(model, th, X, y, b, 'ce').loss;
    for (let i = 0; i < 30; i++) await opt.step(th, makeBatchOracle(model, th, X, y, b, 'ce'));
    expect(makeBatchOracle(model, th, X, y, b, 'ce').loss).toBeLessThan(0.5 * loss0);
  });

  it('refuses conv models with an OptimizerLimitError and bad options with every problem named', async () => {
    const model = createModel('conv:4x4x1-c2k3s2-3');
    const opt = createOptimizer('kfac', {});
    const th = model.init(1);
    await expect(opt.step(th, batchOf(model, 1, 2, 'ce', th))).rejects.toThrow(OptimizerLimitError);
    expect(() => createOptimizer('kfac', { dampingMode: 'tikhonov', invInterval: 0, factorDecay: 1 })).toThrow(OptimizerOptionsError);
    expect(() => createOptimizer('kfac', { dampingMode: 'tikhonov', invInterval: 0, factorDecay: 1 })).toThrow(/dampingMode.*\n.*factorDecay.*\n.*invInterval/s);
  });
});
