// Losses on model outputs z (b × dz, row-major), their gradients w.r.t. z and their Hessians
// w.r.t. z per sample (the H_i blocks of the GGN).
//
// Definitions (per sample i; the batch loss is the mean over i):
//   'ce'  softmax cross-entropy  ℓ_i = logsumexp(z_i) − Σ_k t_ik z_ik,  H_i = diag(p_i) − p_i p_iᵀ
//   'mse' half squared error     ℓ_i = ½ ‖z_i − t_i‖²,                 H_i = I
// Targets: Int32Array of class labels (one-hot t), or Float64Array b×dz of target rows
// (for 'ce' each row must be a probability vector).

export type LossKind = 'ce' | 'mse';
export type Targets = Int32Array | Float64Array;

export const LOSS_KINDS: readonly LossKind[] = ['ce', 'mse'];

export function parseLossKind(s: string): LossKind {
  if (s === 'ce' || s === 'mse') return s;
  throw new RangeError(`unknown loss '${s}': expected one of ${LOSS_KINDS.join(', ')}`);
}

/** Throws a RangeError naming the first bad target. */
export function checkTargets(y: Targets, b: number, dz: number): void {
  if (y instanceof Int32Array) {
    if (y.length < b) throw new RangeError(`labels: need ${b}, got ${y.length}`);
    for (let i = 0; i < b; i++) {
      const c = y[i];
      if (c < 0 || c >= dz) throw new RangeError(`label ${c} of sample ${i} is out of range [0, ${dz})`);
    }
  } else if (y instanceof Float64Array) {
    if (y.length < b * dz) throw new RangeError(`targets: need ${b}×${dz} = ${b * dz} values, got ${y.length}`);
  } else {
    throw new TypeError('targets must be an Int32Array of labels or a Float64Array of target rows');
  }
}

/**
 * Mean loss over the batch. If `gOut` (b×dz) is given, writes dℓ_i/dz_i · gScale into it.
 * If `probs` (b×dz) is given and kind is 'ce', writes the softmax probabilities into it.
 */
export function lossForward(
  kind: LossKind,
  z: Float64Array,
  y: Targets,
  b: number,
  dz: number,
  gOut?: Float64Array,
  gScale = 1,
  probs?: Float64Array,
): number {
  checkTargets(y, b, dz);
  const labels = y instanceof Int32Array ? y : null;
  let total = 0;
  if (kind === 'ce') {
    for (let i = 0; i < b; i++) {
      const o = i * dz;
      let mx = -Infinity;
      for (let k = 0; k < dz; k++) if (z[o + k] > mx) mx = z[o + k];
      let se = 0;
      for (let k = 0; k < dz; k++) se += Math.exp(z[o + k] - mx);
      const lse = mx + Math.log(se);
      if (labels) {
        total += lse - z[o + labels[i]];
      } else {
        for (let k = 0; k < dz; k++) total -= y[o + k] * (z[o + k] - lse);
      }
      if (gOut || probs) {
        const inv = 1 / se;
        for (let k = 0; k < dz; k++) {
          const p = Math.exp(z[o + k] - mx) * inv;
          if (probs) probs[o + k] = p;
          if (gOut) {
            const t = labels ? (labels[i] === k ? 1 : 0) : y[o + k];
            gOut[o + k] = (p - t) * gScale;
          }
        }
      }
    }
  } else if (kind === 'mse') {
    for (let i = 0; i < b; i++) {
      const o = i * dz;
      for (let k = 0; k < dz; k++) {
        const t = labels ? (labels[i] === k ? 1 : 0) : y[o + k];
        const r = z[o + k] - t;
        total += 0.5 * r * r;
        if (gOut) gOut[o + k] = r * gScale;
      }
    }
  } else {
    throw new RangeError(`unknown loss '${String(kind)}'`);
  }
  return total / b;
}

/** Row-wise softmax of z (b×dz), numerically stable. */
export function softmaxRows(z: Float64Array, b: number, dz: number, out = new Float64Array(b * dz)): Float64Array {
  for (let i = 0; i < b; i++) {
    const o = i * dz;
    let mx = -Infinity;
    for (let k = 0; k < dz; k++) if (z[o + k] > mx) mx = z[o + k];
    let se = 0;
    for (let k = 0; k < dz; k++) {
      const e = Math.exp(z[o + k] - mx);
      out[o + k] = e;
      se += e;
    }
    const inv = 1 / se;
    for (let k = 0; k < dz; k++) out[o + k] *= inv;
  }
  return out;
}

/**
 * Per-sample loss Hessians w.r.t. the outputs: b consecutive dz×dz row-major blocks
 * (the layout of CoreMatrix 'block'). Independent of the targets for both losses.
 */
export function lossHessianBlocks(kind: LossKind, z: Float64Array, b: number, dz: number): Float64Array {
  const h = new Float64Array(b * dz * dz);
  if (kind === 'mse') {
    for (let i = 0; i < b; i++) for (let k = 0; k < dz; k++) h[i * dz * dz + k * dz + k] = 1;
    return h;
  }
  if (kind !== 'ce') throw new RangeError(`unknown loss '${String(kind)}'`);
  const p = softmaxRows(z, b, dz);
  for (let i = 0; i < b; i++) {
    const po = i * dz;
    const ho = i * dz * dz;
    for (let k = 0; k < dz; k++) {
      const pk = p[po + k];
      for (let l = 0; l < dz; l++) h[ho + k * dz + l] = -pk * p[po + l];
      h[ho + k * dz + k] += pk;
    }
  }
  return h;
}

/** Fraction of rows whose arg-max equals the label (ties go to the lowest index). */
export function accuracy(z: Float64Array, y: Int32Array, b: number, dz: number): number {
  let hit = 0;
  for (let i = 0; i < b; i++) {
    const o = i * dz;
    let best = 0;
    for (let k = 1; k < dz; k++) if (z[o + k] > z[o + best]) best = k;
    if (best === y[i]) hit++;
  }
  return b > 0 ? hit / b : 0;
}
