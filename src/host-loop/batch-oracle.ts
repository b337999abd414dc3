// The BatchOracle an optimizer sees: loss and gradient computed eagerly, curvature factors on
// demand and cached per kind. Parameters and the batch are copied, so an optimizer that updates
// params in place (or a loop that refills its batch buffers) before the curvature is asked for
// still gets the curvature of this batch at this batch's parameters.

import type { BatchOracle, CurvatureFactors, CurvatureKind, CurvatureProducts, KfacSensitivities, KroneckerLayer, LayeredFactors, SampleSource } from './types.ts';
import type { Model } from './models/model.ts';
import type { LossKind, Targets } from './models/losses.ts';
import { buildEmpiricalFisherFactors, buildGgnFactors, FactorWorkspace } from './curvature/factors.ts';
import { buildLayeredEmpiricalFisherFactors, buildLayeredGgnFactors, supportsLayered } from './curvature/layered.ts';
import { buildCurvatureProducts, supportsProducts } from './curvature/products.ts';
import { buildKroneckerFactors } from './curvature/kronecker.ts';

export interface ModelBatchOracle extends BatchOracle {
  /** model outputs at the batch's parameters, b × dz */
  outputs: Float64Array;
}

export function makeBatchOracle(
  model: Model,
  params: Float64Array,
  X: Float64Array,
  y: Targets,
  b: number,
  loss: LossKind,
  ws?: FactorWorkspace,
): ModelBatchOracle {
  const theta = params.slice();
  const xs = X.slice(0, b * model.inputDim);
  const ys: Targets = y instanceof Int32Array ? y.slice(0, b) : y.slice(0, b * model.outputDim);
  const { loss: value, grad, outputs } = model.lossAndGrad(theta, xs, ys, b, loss);
  const cache = new Map<CurvatureKind, CurvatureFactors>();
  const layeredCache = new Map<string, LayeredFactors>();
  // layered factors need buffers that live as long as this oracle's factors
  const lws = ws ?? new FactorWorkspace();
  const layered = (kind: CurvatureKind, core: 'block' | 'folded' = 'block'): LayeredFactors => {
    const key = `${kind}:${core}`;
    let f = layeredCache.get(key);
    if (!f) {
      // theta and xs are this oracle's own copies, never changed: the model's last forward pass
      // on them (if nothing ran since) is reused
      const opts = { z: outputs, reuseForward: true };
      if (kind === 'ggn') f = buildLayeredGgnFactors(model, theta, xs, b, loss, lws, { ...opts, coreForm: core });
      else if (kind === 'ef') f = buildLayeredEmpiricalFisherFactors(model, theta, xs, ys, b, loss, lws, opts);
      else throw new RangeError(`unknown curvature kind '${String(kind)}' (expected 'ggn' or 'ef')`);
      layeredCache.set(key, f);
    }
    return f;
  };
  const productsCache = new Map<CurvatureKind, CurvatureProducts>();
  const products = (kind: CurvatureKind): CurvatureProducts => {
    let p = productsCache.get(kind);
    if (!p) {
      // theta and xs are never changed: every product may reuse the model's last forward pass on them
      p = buildCurvatureProducts(model, theta, xs, ys, b, loss, kind, { z: outputs, reuseForward: true });
      productsCache.set(kind, p);
    }
    return p;
  };
  return {
    loss: value,
    grad,
    outputs,
    batchSize: b,
    curvature(kind: CurvatureKind): CurvatureFactors {
      let f = cache.get(kind);
      if (!f) {
        if (kind === 'ggn') f = buildGgnFactors(model, theta, xs, ys, b, loss, ws);
        else if (kind === 'ef') f = buildEmpiricalFisherFactors(model, theta, xs, ys, b, loss, ws);
        else throw new RangeError(`unknown curvature kind '${String(kind)}' (expected 'ggn' or 'ef')`);
        cache.set(kind, f);
      }
      return f;
    },
    ...(supportsLayered(model) ? { layered } : {}),
    ...(supportsProducts(model) ? { products } : {}),
    kronecker(mode: KfacSensitivities, rng: SampleSource): KroneckerLayer[] {
      return buildKroneckerFactors(model, theta, xs, b, loss, mode, rng);
    },
  };
}
