// Curvature factors per layer, straight from one reverse pass (no r × N Jacobian is written):
//   GGN:              seeds e_k per sample (r = b·dz rows), core H = blockdiag(H_i) (identity for 'mse'),
//                     scale 1/b — the same matrix as buildGgnFactors
//   empirical Fisher: seeds dℓ_i/dz_i (r = b rows), identity core, scale 1/b — as buildEmpiricalFisherFactors
// Dense layers come out as inputs A (b × nIn) and sensitivities D (r × nOut); conv layers as
// explicit r × cols blocks of their own columns only. All arrays live in the workspace.
// GGN with the core folded in (coreForm 'folded', for uploads): H_i = L_i L_iᵀ (pivoted Cholesky,
// rank-cut as psdCore and NGD-Woodbury do), and the reverse pass is seeded with the columns of
// L_i instead of e_k — D is then L_iᵀ D_i directly, the core is the identity and each sample has
// m′ = max rank rows (b·(d_z − 1) for CE; lower-rank samples padded with zero rows): the fold
// costs nothing beyond a smaller reverse pass.
import type { BufferPool, LayeredFactors } from '../types.ts';
import type { Model } from '../models/model.ts';
import { lossForward, lossHessianBlocks, type LossKind, type Targets } from '../models/losses.ts';
import { pivotedCholesky } from '../linalg/psd.ts';
import { FactorWorkspace } from './factors.ts';

/** True when the model can emit layered factors. */
export function supportsLayered(model: Model): boolean {
  return typeof model.layerBlocks === 'function';
}

function blocksOf(model: Model): NonNullable<Model['layerBlocks']> {
  if (!model.layerBlocks) throw new RangeError(`${model.name}: this model does not emit per-layer curvature factors`);
  return model.layerBlocks.bind(model);
}

export interface LayeredBuildOptions {
  /** model outputs at these parameters (b × dz): saves a forward pass */
  z?: Float64Array;
  /** params and X are unchanged since the model's last forward pass on them (see Model.layerBlocks) */
  reuseForward?: boolean;
  /** GGN core: 'block' as the H_i blocks, 'folded' into D (identity core) */
  coreForm?: 'block' | 'folded';
}

/** GGN in layered form. */
export function buildLayeredGgnFactors(
  model: Model,
  params: Float64Array,
  X: Float64Array,
  b: number,
  loss: LossKind = 'ce',
  ws: BufferPool = new FactorWorkspace(),
  opts: LayeredBuildOptions = {},
): LayeredFactors {
  const layerBlocks = blocksOf(model);
  const dz = model.outputDim;
  const n = model.numParams;
  const reuse = opts.reuseForward ?? false;
  if (loss !== 'mse' && opts.coreForm === 'folded') {
    const z = opts.z ?? model.forward(params, X, b);
    const H = lossHessianBlocks(loss, z, b, dz);
    const work = new Float64Array(dz * dz);
    const Ls = ws.take('lgf:L', b * dz * dz);
    const ranks = new Int32Array(b);
    const used = new Uint8Array(dz);
    let m = 1;
    for (let s = 0; s < b; s++) {
      ranks[s] = pivotedCholesky(H, dz, s * dz * dz, undefined, undefined, work, Ls.subarray(s * dz * dz, (s + 1) * dz * dz), used).rank;
      m = Math.max(m, ranks[s]);
    }
    const seeds = ws.take('lgf:seeds', b * m * dz);
    seeds.fill(0);
    for (let s = 0; s < b; s++) seeds.set(Ls.subarray(s * dz * dz, s * dz * dz + ranks[s] * dz), s * m * dz);
    const layers = layerBlocks(params, X, b, seeds, m, ws, 'lgf', reuse);
    return { n, r: b * m, b, layers, core: { kind: 'identity' }, scale: 1 / b };
  }
  const r = b * dz;
  const seeds = ws.take('lg:seeds', r * dz);
  seeds.fill(0);
  for (let i = 0; i < r; i++) seeds[i * dz + (i % dz)] = 1;
  // the forward pass is reused only if nothing ran in between (lossHessianBlocks needs z only)
  const layers = layerBlocks(params, X, b, seeds, dz, ws, 'lg', reuse);
  if (loss === 'mse') return { n, r, b, layers, core: { kind: 'identity' }, scale: 1 / b };
  const z = opts.z ?? model.forward(params, X, b);
  return { n, r, b, layers, core: { kind: 'block', dz, blocks: lossHessianBlocks(loss, z, b, dz) }, scale: 1 / b };
}

/** Empirical Fisher in layered form: one row per sample, D = that sample's loss sensitivities. */
export function buildLayeredEmpiricalFisherFactors(
  model: Model,
  params: Float64Array,
  X: Float64Array,
  y: Targets,
  b: number,
  loss: LossKind = 'ce',
  ws: BufferPool = new FactorWorkspace(),
  opts: Omit<LayeredBuildOptions, 'coreForm'> = {},
): LayeredFactors {
  const layerBlocks = blocksOf(model);
  const dz = model.outputDim;
  const out = opts.z ?? model.forward(params, X, b);
  const seeds = ws.take('lf:seeds', b * dz);
  lossForward(loss, out, y, b, dz, seeds, 1);
  const layers = layerBlocks(params, X, b, seeds, 1, ws, 'lf', opts.reuseForward ?? false);
  return { n: model.numParams, r: b, b, layers, core: { kind: 'identity' }, scale: 1 / b };
}
