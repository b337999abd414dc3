// Curvature in factored form A = scale · Jᵀ H J (+ the optimizer's λI), never N×N.
//   GGN:              J = per-sample output Jacobians (b·dz × N), H = blockdiag(H_i), scale 1/b
//                     (for 'mse' H_i = I, returned as the cheaper identity core)
//   empirical Fisher: J = per-sample loss gradients (b × N), H = I, scale 1/b

import type { BufferPool, CurvatureFactors } from '../types.ts';
import { applyCore } from '../linalg/factored.ts';
import type { Model } from '../models/model.ts';
import { lossHessianBlocks, type LossKind, type Targets } from '../models/losses.ts';

/**
 * Reusable J buffers: building factors into a workspace avoids allocating b·dz·N doubles per
 * iteration. Factors built into a workspace are overwritten by the next build into it.
 */
export class FactorWorkspace implements BufferPool {
  private bufs = new Map<string, Float64Array>();
  take(key: string, len: number): Float64Array {
    let buf = this.bufs.get(key);
    if (!buf || buf.length !== len) {
      buf = new Float64Array(len);
      this.bufs.set(key, buf);
    }
    return buf;
  }
}

export function buildGgnFactors(
  model: Model,
  params: Float64Array,
  X: Float64Array,
  _y: Targets,
  b: number,
  loss: LossKind = 'ce',
  ws?: FactorWorkspace,
): CurvatureFactors {
  const dz = model.outputDim;
  const r = b * dz;
  const J = model.outputJacobian(params, X, b, ws?.take('ggn', r * model.numParams));
  const scale = 1 / b;
  if (loss === 'mse') return { n: model.numParams, r, J, core: { kind: 'identity' }, scale };
  const z = model.forward(params, X, b);
  return { n: model.numParams, r, J, core: { kind: 'block', dz, blocks: lossHessianBlocks(loss, z, b, dz) }, scale };
}

export function buildEmpiricalFisherFactors(
  model: Model,
  params: Float64Array,
  X: Float64Array,
  y: Targets,
  b: number,
  loss: LossKind = 'ce',
  ws?: FactorWorkspace,
): CurvatureFactors {
  const J = model.perSampleGrads(params, X, y, b, loss, ws?.take('ef', b * model.numParams));
  return { n: model.numParams, r: b, J, core: { kind: 'identity' }, scale: 1 / b };
}

/** y = scale · Jᵀ H J v (no damping); for tests and matrix-free solvers. O(r·N + r·dz). */
export function factorMatvec(f: CurvatureFactors, v: Float64Array, out = new Float64Array(f.n)): Float64Array {
  const { n, r, J } = f;
  const u = new Float64Array(r);
  for (let i = 0; i < r; i++) {
    let acc = 0;
    const o = i * n;
    for (let j = 0; j < n; j++) acc += J[o + j] * v[j];
    u[i] = acc;
  }
  const w = new Float64Array(r);
  applyCore(f.core, r, u, w);
  out.fill(0);
  for (let i = 0; i < r; i++) {
    const c = w[i] * f.scale;
    if (c === 0) continue;
    const o = i * n;
    for (let j = 0; j < n; j++) out[j] += c * J[o + j];
  }
  return out;
}

/** Dense N×N scale · Jᵀ H J (small N only: tests and the exact-NGD baseline). */
export function denseCurvature(f: CurvatureFactors): Float64Array {
  const { n, r, J } = f;
  const G = new Float64Array(n * n);
  const HJ = new Float64Array(r * n);
  const col = new Float64Array(r);
  const w = new Float64Array(r);
  for (let j = 0; j < n; j++) {
    for (let i = 0; i < r; i++) col[i] = J[i * n + j];
    applyCore(f.core, r, col, w);
    for (let i = 0; i < r; i++) HJ[i * n + j] = w[i];
  }
  for (let i = 0; i < r; i++) {
    const jo = i * n;
    for (let a = 0; a < n; a++) {
      const c = J[jo + a] * f.scale;
      if (c === 0) continue;
      const go = a * n;
      for (let c2 = 0; c2 < n; c2++) G[go + c2] += c * HJ[jo + c2];
    }
  }
  return G;
}
