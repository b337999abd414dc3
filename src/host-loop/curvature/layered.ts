// Curvature factors per layer, straight from one reverse pass (no r × N Jacobian is written):
//   GGN:              seeds e_k per sample (r = b·dz rows), core H = blockdiag(H_i) (identity for 'mse'),
//                     scale 1/b — the same matrix as buildGgnFactors
//   empirical Fisher: seeds dℓ_i/dz_i (r = b rows), identity core, scale 1/b — as buildEmpiricalFisherFactors
// Dense layers come out as inputs A (b × nIn) and sensitivities D (r × nOut); conv layers as
// explicit r × cols blocks of their own columns only. All arrays live in the workspace.
import type { BufferPool, LayeredFactors } from '../types.ts';
import type { Model } from '../models/model.ts';
import { lossForward, lossHessianBlocks, type LossKind, type Targets } from '../models/losses.ts';
import { FactorWorkspace } from './factors.ts';

/** True when the model can emit layered factors. */
export function supportsLayered(model: Model): boolean {
  return typeof model.layerBlocks === 'function';
}

function blocksOf(model: Model): NonNullable<Model['layerBlocks']> {
  if (!model.layerBlocks) throw new RangeError(`${model.name}: this model does not emit per-layer curvature factors`);
  return model.layerBlocks.bind(model);
}

/**
 * GGN in layered form. `z` (the model outputs at these parameters, b × dz) saves a forward pass
 * when the caller has them (the batch oracle does).
 */
export function buildLayeredGgnFactors(
  model: Model,
  params: Float64Array,
  X: Float64Array,
  b: number,
  loss: LossKind = 'ce',
  ws: BufferPool = new FactorWorkspace(),
  z?: Float64Array,
): LayeredFactors {
  const layerBlocks = blocksOf(model);
  const dz = model.outputDim;
  const r = b * dz;
  const seeds = ws.take('lg:seeds', r * dz);
  seeds.fill(0);
  for (let i = 0; i < r; i++) seeds[i * dz + (i % dz)] = 1;
  const layers = layerBlocks(params, X, b, seeds, dz, ws, 'lg');
  const n = model.numParams;
  if (loss === 'mse') return { n, r, b, layers, core: { kind: 'identity' }, scale: 1 / b };
  const out = z ?? model.forward(params, X, b);
  return { n, r, b, layers, core: { kind: 'block', dz, blocks: lossHessianBlocks(loss, out, b, dz) }, scale: 1 / b };
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
  z?: Float64Array,
): LayeredFactors {
  const layerBlocks = blocksOf(model);
  const dz = model.outputDim;
  const out = z ?? model.forward(params, X, b);
  const seeds = ws.take('lf:seeds', b * dz);
  lossForward(loss, out, y, b, dz, seeds, 1);
  const layers = layerBlocks(params, X, b, seeds, 1, ws, 'lf');
  return { n: model.numParams, r: b, b, layers, core: { kind: 'identity' }, scale: 1 / b };
}
