// Layered curvature factors (J per layer: dense layers as inputs ⊗ sensitivities, conv layers as
// explicit column blocks) against the explicit r × N factors of the same batch: the expanded J
// equals the explicit one exactly (same products, same order), and every structured product
// (J x, Jᵀ w, scale·JᵀHJ v + λv, J Jᵀ) equals the explicit one to 1e-12 relative.
import { describe, expect, it } from 'vitest';
import { createModel } from '../../../src/host-loop/models/model.ts';
import { buildEmpiricalFisherFactors, buildGgnFactors, FactorWorkspace } from '../../../src/host-loop/curvature/factors.ts';
import { buildLayeredEmpiricalFisherFactors, buildLayeredGgnFactors } from '../../../src/host-loop/curvature/layered.ts';
import { expandLayered, layeredGram, layeredJtw, layeredJx, LayeredOperator, validateLayered } from '../../../src/host-loop/linalg/layered.ts';
import { FactoredOperator } from '../../../src/host-loop/linalg/factored.ts';
import { WoodburySolver } from '../../../src/host-loop/linalg/woodbury.ts';
import { LayeredWoodburySolver } from '../../../src/host-loop/linalg/woodbury-layered.ts';
import type { CoreMatrix } from '../../../src/host-loop/types.ts';
import { makeBatchOracle } from '../../../src/host-loop/batch-oracle.ts';
import { ShapeError } from '../../../src/host-loop/linalg/errors.ts';
import { Rng } from '../../../src/host-loop/data/rng.ts';
import type { CurvatureFactors, LayeredFactors } from '../../../src/host-loop/types.ts';
import { randomBatch, randomParams, relErr } from './helpers.ts';

const SPECS = ['softmax:7-4', 'mlp:9-6-3', 'mlp:8-5-4-3:tanh', 'mlp:12-7-6-5-4', 'conv:5x5x1-c2k3s2-4-3:relu', 'conv:6x6x2-c3k3s1-c2k2s2-5-4:tanh'];

function build(spec: string, loss: 'ce' | 'mse', kind: 'ggn' | 'ef', b: number, seed: number): { ex: CurvatureFactors; lay: LayeredFactors } {
  const m = createModel(spec);
  const p = randomParams(m, seed);
  const { X, y, T } = randomBatch(m, b, seed + 1);
  const targets = loss === 'ce' ? y : T;
  const ex = kind === 'ggn' ? buildGgnFactors(m, p, X, targets, b, loss) : buildEmpiricalFisherFactors(m, p, X, targets, b, loss);
  const lay = kind === 'ggn' ? buildLayeredGgnFactors(m, p, X, b, loss) : buildLayeredEmpiricalFisherFactors(m, p, X, targets, b, loss);
  return { ex, lay };
}

function randomVec(n: number, rng: Rng): Float64Array {
  return Float64Array.from({ length: n }, () => rng.normal());
}

function explicitJx(f: CurvatureFactors, x: Float64Array): Float64Array {
  const u = new Float64Array(f.r);
  for (let i = 0; i < f.r; i++) for (let j = 0; j < f.n; j++) u[i] += f.J[i * f.n + j] * x[j];
  return u;
}

function explicitJtw(f: CurvatureFactors, w: Float64Array): Float64Array {
  const o = new Float64Array(f.n);
  for (let i = 0; i < f.r; i++) for (let j = 0; j < f.n; j++) o[j] += f.J[i * f.n + j] * w[i];
  return o;
}

describe('layered curvature factors', () => {
  for (const spec of SPECS)
    for (const loss of ['ce', 'mse'] as const)
      for (const kind of ['ggn', 'ef'] as const)
        it(`${spec}, ${loss}, ${kind}: same J, and J x, Jᵀ w, (scale·JᵀHJ + λI) v, J Jᵀ equal the explicit ones to 1e-12`, () => {
          const b = 5;
          const { ex, lay } = build(spec, loss, kind, b, spec.length + (loss === 'ce' ? 0 : 10) + (kind === 'ggn' ? 0 : 20));
          validateLayered(lay);
          expect([lay.n, lay.r, lay.b, lay.scale, lay.core.kind]).toEqual([ex.n, ex.r, b, ex.scale, ex.core.kind]);
          if (ex.core.kind === 'block' && lay.core.kind === 'block') expect(lay.core.blocks).toEqual(ex.core.blocks);
          expect(lay.layers.some((l) => l.kind === 'dense')).toBe(true);
          expect(lay.layers.some((l) => l.kind === 'explicit')).toBe(spec.startsWith('conv'));
          expect(relErr(expandLayered(lay).J, ex.J, 1e-300)).toBeLessThan(1e-15);
          const rng = new Rng(7, 1);
          for (let t = 0; t < 3; t++) {
            const x = randomVec(ex.n, rng);
            const w = randomVec(ex.r, rng);
            expect(relErr(layeredJx(lay, x, new Float64Array(ex.r)), explicitJx(ex, x))).toBeLessThan(1e-12);
            expect(relErr(layeredJtw(lay, w, new Float64Array(ex.n)), explicitJtw(ex, w))).toBeLessThan(1e-12);
            const a = new Float64Array(ex.n);
            const e = new Float64Array(ex.n);
            new LayeredOperator(lay, 0.03).apply(x, a);
            new FactoredOperator(ex, 0.03).apply(x, e);
            expect(relErr(a, e)).toBeLessThan(1e-12);
          }
          const G = new Float64Array(ex.r * ex.r);
          for (let i = 0; i < ex.r; i++)
            for (let k = 0; k < ex.r; k++) for (let j = 0; j < ex.n; j++) G[i * ex.r + k] += ex.J[i * ex.n + j] * ex.J[k * ex.n + j];
          expect(relErr(layeredGram(lay), G)).toBeLessThan(1e-12);
        });

  it('the batch oracle offers the layered form and never builds the explicit J for it', () => {
    const m = createModel('mlp:6-5-3');
    const p = randomParams(m, 1);
    const { X, y } = randomBatch(m, 4, 2);
    const ws = new FactorWorkspace();
    const taken: string[] = [];
    const spy = { take: (k: string, len: number) => (taken.push(k), ws.take(k, len)) };
    const o = makeBatchOracle(m, p, X, y, 4, 'ce', spy as unknown as FactorWorkspace);
    const lay = o.layered!('ggn');
    expect(taken.some((k) => k === 'ggn' || k === 'ef')).toBe(false); // no r × N buffer
    expect(o.layered!('ggn')).toBe(lay); // cached per batch
    expect(relErr(expandLayered(lay).J, o.curvature('ggn').J, 1e-300)).toBeLessThan(1e-15);
  });

  it.each(SPECS)('%s: the GGN folded in the reverse pass (seeds = columns of L_i) gives the same A to 1e-12, identity core, r = b·(d_z − 1) for CE', (spec) => {
    const m = createModel(spec);
    const b = 4;
    const p = randomParams(m, 3);
    const { X } = randomBatch(m, b, 4);
    const block = buildLayeredGgnFactors(m, p, X, b, 'ce');
    const folded = buildLayeredGgnFactors(m, p, X, b, 'ce', new FactorWorkspace(), { coreForm: 'folded' });
    expect(folded.core.kind).toBe('identity');
    expect(folded.r).toBe(b * (m.outputDim - 1));
    const rng = new Rng(3, 3);
    for (let t = 0; t < 3; t++) {
      const v = randomVec(m.numParams, rng);
      const a = new Float64Array(m.numParams);
      const e = new Float64Array(m.numParams);
      new LayeredOperator(folded, 0).apply(v, a);
      new LayeredOperator(block, 0).apply(v, e);
      expect(relErr(a, e)).toBeLessThan(1e-12);
    }
  });

  it('the oracle reuses its forward pass only when nothing ran since: a forward on other inputs in between changes nothing', () => {
    const m = createModel('mlp:6-5-4:tanh');
    const p = randomParams(m, 1);
    const { X, y } = randomBatch(m, 4, 2);
    const other = randomBatch(m, 4, 9);
    const ref = buildGgnFactors(m, p, X, y, 4, 'ce');
    const o = makeBatchOracle(m, p, X, y, 4, 'ce');
    m.forward(randomParams(m, 5), other.X, 4); // overwrites the model's activations
    expect(relErr(expandLayered(o.layered!('ggn')).J, ref.J, 1e-300)).toBeLessThan(1e-15);
    const o2 = makeBatchOracle(m, p, X, y, 4, 'ce'); // nothing in between: reused
    expect(relErr(expandLayered(o2.layered!('ggn')).J, ref.J, 1e-300)).toBeLessThan(1e-15);
    expect(relErr(expandLayered(o2.layered!('ef')).J, buildEmpiricalFisherFactors(m, p, X, y, 4, 'ce').J, 1e-300)).toBeLessThan(1e-15);
  });

  it('factors built into a workspace reuse its buffers (no allocation per iteration)', () => {
    const m = createModel('mlp:6-5-3');
    const p = randomParams(m, 1);
    const { X } = randomBatch(m, 4, 2);
    const ws = new FactorWorkspace();
    const a = buildLayeredGgnFactors(m, p, X, 4, 'ce', ws);
    const da = a.layers.map((l) => (l.kind === 'dense' ? l.D : l.J));
    const b = buildLayeredGgnFactors(m, p, X, 4, 'ce', ws);
    b.layers.forEach((l, i) => expect(l.kind === 'dense' ? l.D : l.J).toBe(da[i]));
  });

  it('layered Woodbury solves equal the explicit ones (1e-10) for identity, diagonal (one zero entry), block and dense cores', () => {
    const { lay } = build('conv:5x5x1-c2k3s2-4-3:relu', 'ce', 'ggn', 4, 2);
    const r = lay.r;
    const rng = new Rng(5, 5);
    const d = Float64Array.from({ length: r }, (_, i) => (i === 3 ? 0 : rng.uniform()));
    const B = Float64Array.from({ length: r * r }, () => rng.normal());
    const h = new Float64Array(r * r); // B Bᵀ / r, rank ≤ r
    for (let i = 0; i < r; i++) for (let j = 0; j < r; j++) for (let k = 0; k < r; k++) h[i * r + j] += (B[i * r + k] * B[j * r + k]) / r;
    const cores: CoreMatrix[] = [{ kind: 'identity' }, { kind: 'diagonal', d }, lay.core, { kind: 'dense', h }];
    for (const core of cores) {
      const f = { ...lay, core };
      const v = randomVec(f.n, rng);
      const ls = new LayeredWoodburySolver();
      ls.factor(f, 0.07);
      const es = new WoodburySolver();
      es.factor(expandLayered(f), 0.07);
      expect(ls.rank, core.kind).toBe(es.rank);
      const a = new Float64Array(f.n);
      const e = new Float64Array(f.n);
      ls.solve(v, a);
      es.solve(v, e);
      expect(relErr(a, e), core.kind).toBeLessThan(1e-10);
    }
  });

  it('validation names the inconsistent field', () => {
    const { lay } = build('mlp:4-3-2', 'ce', 'ggn', 3, 1);
    expect(() => validateLayered({ ...lay, n: lay.n + 1 })).toThrow(ShapeError);
    expect(() => validateLayered({ ...lay, r: lay.r + 1 })).toThrow(/multiple of b/);
    const l0 = lay.layers[0];
    if (l0.kind !== 'dense') throw new Error('expected a dense layer');
    expect(() => validateLayered({ ...lay, layers: [{ ...l0, A: l0.A.subarray(1) }, lay.layers[1]] })).toThrow(/layer 0: A has/);
  });
});
