// The transformer encoder, its LoRA span model and their curvature factors against finite
// differences and dense references. Small sizes (V = 11, L = 6, d = 8, 2 heads, 2 layers) with
// unequal lengths so the padding mask is exercised; seeds fixed per test.
import { describe, expect, it } from 'vitest';
import { Rng } from '../../../src/host-loop/data/rng.ts';
import { denseCurvature, factorMatvec } from '../../../src/host-loop/curvature/factors.ts';
import type { EncoderConfig } from '../../../src/host-loop/models/transformer/config.ts';
import { TransformerEncoder, type EncoderBatch } from '../../../src/host-loop/models/transformer/encoder.ts';
import { mlmLossAndGrad } from '../../../src/host-loop/models/transformer/mlm.ts';
import { spanLoss, type SpanTargets } from '../../../src/host-loop/models/transformer/span-loss.ts';
import { SpanLoraModel } from '../../../src/host-loop/models/transformer/span-model.ts';
import { buildSpanEfFactors, buildSpanGgnFactors, spanProbs } from '../../../src/host-loop/models/transformer/span-factors.ts';
import { fdJacobian, relErr } from './helpers.ts';

const CFG: EncoderConfig = { vocab: 11, maxLen: 6, dModel: 8, heads: 2, dFF: 12, layers: 2 };
const LORA = { rank: 2, alpha: 4 };

function randomBatch(seed: number, b: number, lengths: number[]): EncoderBatch {
  const rng = new Rng(seed, 3);
  const tokens = new Int32Array(b * CFG.maxLen);
  for (let i = 0; i < tokens.length; i++) tokens[i] = 1 + rng.int(CFG.vocab - 1);
  return { tokens, lengths: Int32Array.from(lengths), b };
}

function randomBase(seed: number): Float64Array {
  const enc = new TransformerEncoder(CFG);
  const p = enc.initBase(seed);
  const rng = new Rng(seed, 5);
  // perturb γ, β and biases away from 1 / 0 so every path carries signal
  for (let i = 0; i < p.length; i++) p[i] += 0.2 * rng.normal();
  return p;
}

/** θ with B ≠ 0 (LoRA starts at B = 0, where the gradient w.r.t. A vanishes). */
function randomTheta(model: SpanLoraModel, seed: number): Float64Array {
  const t = model.init(seed);
  const rng = new Rng(seed, 9);
  for (let i = 0; i < t.length; i++) t[i] += 0.3 * rng.normal();
  return t;
}

const targets: SpanTargets = { start: Int32Array.from([1, 0, 2]), end: Int32Array.from([3, 0, 3]) };

describe('transformer encoder', () => {
  it('MLM gradient w.r.t. every base weight matches central differences (rel. err < 1e-6)', () => {
    const enc = new TransformerEncoder(CFG);
    const base = randomBase(1);
    const batch = randomBatch(2, 3, [6, 4, 5]);
    const labels = new Int32Array(3 * CFG.maxLen).fill(-1);
    labels[1] = 3;
    labels[4] = 7;
    labels[CFG.maxLen + 0] = 2;
    labels[2 * CFG.maxLen + 4] = 9;
    const { grad } = mlmLossAndGrad(enc, base, batch, { labels });
    const fd = fdJacobian((p) => Float64Array.of(mlmLossAndGrad(enc, p, batch, { labels }, false).loss), base, 1e-5);
    expect(relErr(grad, fd)).toBeLessThan(1e-6);
  });

  it('padding mask: tokens past a sample’s length change nothing at its real positions', () => {
    const enc = new TransformerEncoder(CFG);
    const base = randomBase(3);
    const a = randomBatch(4, 2, [3, 6]);
    const hA = enc.forward(base, null, a).slice();
    const b2 = { ...a, tokens: a.tokens.slice() };
    for (let t = 3; t < CFG.maxLen; t++) b2.tokens[t] = 10;
    const hB = enc.forward(base, null, b2).slice();
    const d = CFG.dModel;
    expect(Array.from(hB.subarray(0, 3 * d))).toEqual(Array.from(hA.subarray(0, 3 * d)));
    // while a longer length (the same tokens now unmasked) does change them
    const c = { ...b2, lengths: Int32Array.from([5, 6]) };
    const hC = enc.forward(base, null, c).slice();
    expect(relErr(hC.subarray(0, 3 * d), hA.subarray(0, 3 * d))).toBeGreaterThan(1e-3);
  });

  it('LoRA: B = 0 gives the base model; otherwise Wq, Wv act as W + (α/ρ)·B·A', () => {
    const base = randomBase(5);
    const batch = randomBatch(6, 2, [6, 5]);
    const plain = new TransformerEncoder(CFG);
    const withLora = new TransformerEncoder(CFG, LORA);
    const h0 = plain.forward(base, null, batch).slice();
    const zeroB = withLora.initLora(1);
    expect(Array.from(withLora.forward(base, zeroB, batch))).toEqual(Array.from(h0));
    const rng = new Rng(7, 1);
    const lora = zeroB.map(() => rng.normal());
    const hL = withLora.forward(base, lora, batch).slice();
    const merged = base.slice();
    const { dModel: d } = CFG;
    const sc = LORA.alpha / LORA.rank;
    withLora.lora!.layers.forEach((lo, l) => {
      const o = withLora.base.layers[l];
      for (let i = 0; i < d; i++)
        for (let j = 0; j < d; j++)
          for (let k = 0; k < LORA.rank; k++) {
            merged[o.wq + i * d + j] += sc * lora[lo.bq + i * LORA.rank + k] * lora[lo.aq + k * d + j];
            merged[o.wv + i * d + j] += sc * lora[lo.bv + i * LORA.rank + k] * lora[lo.av + k * d + j];
          }
    });
    expect(relErr(hL, plain.forward(merged, null, batch))).toBeLessThan(1e-12);
  });
});

describe('LoRA span model', () => {
  const model = new SpanLoraModel(CFG, LORA, randomBase(11));
  const theta = randomTheta(model, 12);
  const batch = randomBatch(13, 3, [6, 4, 5]);

  it('has N = adapters (2 layers × 2 projections × 2ρd) + head (2d + 2)', () => {
    expect(model.numAdapterParams).toBe(2 * 2 * 2 * LORA.rank * CFG.dModel);
    expect(model.numParams).toBe(model.numAdapterParams + 2 * CFG.dModel + 2);
  });

  it('loss gradient w.r.t. adapters and head matches central differences (rel. err < 1e-6)', () => {
    const { grad, loss } = model.lossAndGrad(theta, batch, targets);
    expect(loss).toBeGreaterThan(0);
    const fd = fdJacobian((p) => Float64Array.of(model.lossAndGrad(p, batch, targets).loss), theta, 1e-5);
    expect(relErr(grad, fd)).toBeLessThan(1e-6);
  });

  it('output Jacobian (b·2L × N) matches central differences; padded rows are zero', () => {
    const J = model.outputJacobian(theta, batch);
    const fd = fdJacobian((p) => model.forward(p, batch), theta, 1e-5);
    expect(relErr(J, fd)).toBeLessThan(1e-6);
    const N = model.numParams;
    const L = CFG.maxLen;
    // sample 1 has length 4: its start rows 4, 5 and end rows 4, 5 are zero
    for (const k of [4, 5, L + 4, L + 5]) expect(J.subarray((2 * L + k) * N, (2 * L + k + 1) * N).every((v) => v === 0)).toBe(true);
  });

  it('per-sample gradients average to the batch gradient and equal Jᵀ dℓ_i/dz_i', () => {
    const G = model.perSampleGrads(theta, batch, targets);
    const { grad } = model.lossAndGrad(theta, batch, targets);
    const N = model.numParams;
    const mean = new Float64Array(N);
    for (let s = 0; s < 3; s++) for (let j = 0; j < N; j++) mean[j] += G[s * N + j] / 3;
    expect(relErr(mean, grad)).toBeLessThan(1e-12);
  });

  it('truncated GGN with rowsPerBlock = L is the exact GGN Jᵀ blockdiag(½(diag p − ppᵀ)) J / b', () => {
    const L = CFG.maxLen;
    const N = model.numParams;
    const f = buildSpanGgnFactors(model, theta, batch, L);
    expect(f.r).toBe(3 * 2 * L);
    const G = denseCurvature(f);
    // reference from the full Jacobian and the loss Hessian by finite differences of the gradient in z
    const J = model.outputJacobian(theta, batch);
    const z = model.forward(theta, batch);
    const Hz = fdJacobian((zz) => {
      const g = new Float64Array(3 * 2 * L);
      spanLoss(zz, batch.lengths, targets, 3, L, g, 1);
      return g;
    }, z, 1e-5);
    const R = 3 * 2 * L;
    const ref = new Float64Array(N * N);
    for (let a = 0; a < R; a++)
      for (let c = 0; c < R; c++) {
        const h = Hz[a * R + c];
        if (Math.abs(h) < 1e-9) continue;
        for (let i = 0; i < N; i++) {
          const ji = J[a * N + i] * h / 3;
          if (ji === 0) continue;
          for (let j = 0; j < N; j++) ref[i * N + j] += ji * J[c * N + j];
        }
      }
    expect(relErr(G, ref)).toBeLessThan(1e-6);
  });

  it('truncated GGN (k < L) is PSD, keeps the k most probable positions, and its error shrinks as k grows', () => {
    const L = CFG.maxLen;
    const exact = denseCurvature(buildSpanGgnFactors(model, theta, batch, L));
    const errs: number[] = [];
    for (const k of [1, 2, 4]) {
      const f = buildSpanGgnFactors(model, theta, batch, k);
      expect(f.r).toBe(3 * 2 * k);
      const rng = new Rng(k, 2);
      for (let trial = 0; trial < 5; trial++) {
        const v = new Float64Array(f.n).map(() => rng.normal());
        const Gv = factorMatvec(f, v);
        let q = 0;
        for (let i = 0; i < f.n; i++) q += v[i] * Gv[i];
        expect(q).toBeGreaterThanOrEqual(-1e-12);
      }
      errs.push(relErr(denseCurvature(f), exact));
    }
    expect(errs[1]).toBeLessThan(errs[0]);
    expect(errs[2]).toBeLessThan(errs[1]);
    // k = 1: a single position per head gives p(1−p)/2, i.e. the kept row of the top position
    const p = spanProbs(model.forward(theta, batch), batch.lengths, 3, L);
    const f1 = buildSpanGgnFactors(model, theta, batch, 1);
    const top = Math.max(...Array.from(p.subarray(0, L)));
    if (f1.core.kind !== 'block') throw new Error('expected a block core');
    expect(f1.core.blocks[0]).toBeCloseTo(0.5 * top * (1 - top), 14);
  });

  it('empirical Fisher: r = b, rows are the per-sample gradients', () => {
    const f = buildSpanEfFactors(model, theta, batch, targets);
    expect(f.r).toBe(3);
    expect(Array.from(f.J)).toEqual(Array.from(model.perSampleGrads(theta, batch, targets)));
  });
});
