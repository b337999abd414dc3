// Curvature as JVP/VJP products (CurvatureProducts): the GGN's J is the per-sample output
// Jacobian, applied through the model's forward-mode (jvp) and reverse-mode (vjp) passes, so
// conv layers never become explicit column blocks. H is kept per sample in output space:
//   GGN:              H_i = ∂²ℓ_i/∂z_i² (identity for 'mse'), scale 1/b — buildGgnFactors' A
//   empirical Fisher: H_i = g_i g_iᵀ with g_i = ∂ℓ_i/∂z_i, scale 1/b — buildEmpiricalFisherFactors'
//                     A (its rows g_iᵀ J_i, so Jᵀ_ef J_ef = Σ_i J_iᵀ g_i g_iᵀ J_i)
import type { CurvatureKind, CurvatureProducts } from '../types.ts';
import type { Model } from '../models/model.ts';
import { lossForward, lossHessianBlocks, type LossKind, type Targets } from '../models/losses.ts';

/** True when the model offers forward- and reverse-mode products. */
export function supportsProducts(model: Model): boolean {
  return typeof model.jvp === 'function' && typeof model.vjp === 'function';
}

export interface ProductsBuildOptions {
  /** model outputs at these parameters (b × dz): saves a forward pass */
  z?: Float64Array;
  /**
   * params and X are never changed while the products are in use: each product then reuses the
   * model's last forward pass when it was on these very arrays (see Model.layerBlocks).
   */
  reuseForward?: boolean;
}

export function buildCurvatureProducts(
  model: Model,
  params: Float64Array,
  X: Float64Array,
  y: Targets,
  b: number,
  loss: LossKind,
  kind: CurvatureKind,
  opts: ProductsBuildOptions = {},
): CurvatureProducts {
  const { jvp, vjp } = model;
  if (!jvp || !vjp) throw new RangeError(`${model.name}: this model offers no JVP/VJP products`);
  const dz = model.outputDim;
  const n = model.numParams;
  const reuse = opts.reuseForward ?? false;
  const z = opts.z ?? model.forward(params, X, b);
  let core: CurvatureProducts['core'];
  if (kind === 'ggn') {
    core = loss === 'mse' ? { kind: 'identity' } : { kind: 'block', dz, blocks: lossHessianBlocks(loss, z, b, dz) };
  } else if (kind === 'ef') {
    const g = new Float64Array(b * dz);
    lossForward(loss, z, y, b, dz, g, 1);
    const blocks = new Float64Array(b * dz * dz);
    for (let s = 0; s < b; s++)
      for (let k = 0; k < dz; k++) for (let l = 0; l < dz; l++) blocks[s * dz * dz + k * dz + l] = g[s * dz + k] * g[s * dz + l];
    core = { kind: 'block', dz, blocks };
  } else throw new RangeError(`unknown curvature kind '${String(kind)}' (expected 'ggn' or 'ef')`);
  return {
    n,
    b,
    dz,
    core,
    scale: 1 / b,
    explicitLayers: model.spec.convs.length,
    jvp: (v, out) => void jvp.call(model, params, X, b, v, out, reuse),
    vjp: (w, out) => void vjp.call(model, params, X, b, w, out, reuse),
  };
}
