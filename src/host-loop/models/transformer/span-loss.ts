// The extractive-QA span loss on start/end logits, as in BERT for SQuAD: per sample
// ℓ_i = ½ (CE(softmax(start_i), s_i) + CE(softmax(end_i), e_i)), each softmax over the sample's
// real (unpadded) positions. Outputs are laid out per sample as [start logits (L) | end logits (L)];
// padded positions take no probability and no gradient.
//
// Its Hessian w.r.t. the outputs is block-diagonal: one ½(diag(p) − p pᵀ) block per head (start,
// end) per sample, zero on padded rows.

export interface SpanTargets {
  /** answer start / end token index per sample (inclusive), each < the sample's length */
  start: Int32Array;
  end: Int32Array;
}

/** Masked softmax of one head's logits (positions < n); zeros past n. */
export function maskedSoftmax(z: Float64Array, off: number, n: number, L: number, out: Float64Array, outOff: number): number {
  let mx = -Infinity;
  for (let t = 0; t < n; t++) if (z[off + t] > mx) mx = z[off + t];
  let se = 0;
  for (let t = 0; t < n; t++) {
    const e = Math.exp(z[off + t] - mx);
    out[outOff + t] = e;
    se += e;
  }
  const inv = 1 / se;
  for (let t = 0; t < n; t++) out[outOff + t] *= inv;
  for (let t = n; t < L; t++) out[outOff + t] = 0;
  return mx + Math.log(se);
}

/**
 * Mean span loss over the batch (z: b × 2L). With gOut (b × 2L) writes dℓ_i/dz_i · gScale; with
 * probs (b × 2L) the two masked softmaxes.
 */
export function spanLoss(z: Float64Array, lengths: Int32Array, y: SpanTargets, b: number, L: number, gOut?: Float64Array, gScale = 1, probs?: Float64Array): number {
  const p = probs ?? new Float64Array(2 * L);
  let total = 0;
  for (let i = 0; i < b; i++) {
    const n = lengths[i];
    for (let head = 0; head < 2; head++) {
      const target = head === 0 ? y.start[i] : y.end[i];
      if (!(target >= 0 && target < n)) throw new RangeError(`span target ${target} of sample ${i} is outside its ${n} positions`);
      const zo = (2 * i + head) * L;
      const po = probs ? zo : head * L;
      const lse = maskedSoftmax(z, zo, n, L, p, po);
      total += 0.5 * (lse - z[zo + target]);
      if (gOut) {
        for (let t = 0; t < L; t++) gOut[zo + t] = 0.5 * gScale * (p[po + t] - (t === target ? 1 : 0));
      }
    }
  }
  return total / b;
}
