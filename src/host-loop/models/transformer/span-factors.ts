// Curvature of the span model in the host loop's factored form, for the adapters and head only
// (the base is frozen, so N counts only trainable parameters).
//
// Full GGN: J = per-sample output Jacobians (b·2L rows), H = blockdiag over samples and heads of
// ½(diag(p) − p pᵀ) (L × L, zero on padded rows): r = 2bL, e.g. 16·2·32 = 1024, past the device's
// rank limit (256 by default, EMULATED-DEVICE.md) and costly for Woodbury (O(r³)).
//
// Truncated GGN (what 'ggn' gives here with rowsPerBlock = k < L): per sample and head keep the k
// positions of highest probability and the principal k × k sub-block of ½(diag(p) − p pᵀ) on them.
// A principal submatrix of a PSD block is PSD, so the factor stays a valid curvature; r = 2bk
// (b = 16, k = 4: 128). What it drops: every term J_tᵀ H_tu J_u with t or u outside the kept set,
// and each such H entry carries a factor p_t of a dropped position, so the error is bounded by the
// probability mass outside the top k times ‖J‖² (small once the heads are confident, larger early
// on when p is spread over the sequence). rowsPerBlock = L is the exact GGN.
//
// Empirical Fisher ('ef'): J = per-sample loss gradients, H = I, r = b.
import type { BatchOracle, CurvatureFactors, CurvatureKind } from '../../types.ts';
import type { EncoderBatch } from './encoder.ts';
import { maskedSoftmax, type SpanTargets } from './span-loss.ts';
import type { SpanLoraModel } from './span-model.ts';

/** Per sample and head, the k output indices of highest probability (ties: lower position). */
export function topRows(probs: Float64Array, b: number, L: number, k: number): Int32Array {
  if (!Number.isInteger(k) || k < 1 || k > L) throw new RangeError(`rowsPerBlock must be an integer in [1, ${L}], got ${k}`);
  const rows = new Int32Array(b * 2 * k);
  const idx = new Int32Array(L);
  for (let s = 0; s < b; s++)
    for (let head = 0; head < 2; head++) {
      const po = (2 * s + head) * L;
      for (let t = 0; t < L; t++) idx[t] = t;
      const sorted = Array.from(idx).sort((a, c) => probs[po + c] - probs[po + a] || a - c);
      const ro = (2 * s + head) * k;
      // keep positions in ascending order inside the block (deterministic layout)
      const keep = sorted.slice(0, k).sort((a, c) => a - c);
      for (let j = 0; j < k; j++) rows[ro + j] = head * L + keep[j];
    }
  return rows;
}

/** Both masked softmaxes of every sample: b × 2L. */
export function spanProbs(z: Float64Array, lengths: Int32Array, b: number, L: number): Float64Array {
  const p = new Float64Array(b * 2 * L);
  for (let s = 0; s < b; s++) for (let head = 0; head < 2; head++) maskedSoftmax(z, (2 * s + head) * L, lengths[s], L, p, (2 * s + head) * L);
  return p;
}

/** `outputs` (b × 2L at θ, e.g. the oracle's) saves a forward pass when given. */
export function buildSpanGgnFactors(model: SpanLoraModel, theta: Float64Array, batch: EncoderBatch, rowsPerBlock: number, outputs?: Float64Array): CurvatureFactors {
  const L = model.maxLen;
  const { b } = batch;
  const k = rowsPerBlock;
  const z = outputs ?? model.forward(theta, batch);
  const p = spanProbs(z, batch.lengths, b, L);
  const rows = topRows(p, b, L, k);
  // rows come per sample as [start block (k) | end block (k)], i.e. 2k rows per sample
  const J = model.jacobianRows(theta, batch, rows, 2 * k);
  const blocks = new Float64Array(2 * b * k * k);
  for (let blk = 0; blk < 2 * b; blk++) {
    const s = blk >> 1;
    const bo = blk * k * k;
    for (let i = 0; i < k; i++) {
      const pi = p[s * 2 * L + rows[blk * k + i]];
      for (let j = 0; j < k; j++) {
        const pj = p[s * 2 * L + rows[blk * k + j]];
        blocks[bo + i * k + j] = 0.5 * ((i === j ? pi : 0) - pi * pj);
      }
    }
  }
  return { n: model.numParams, r: 2 * b * k, J, core: { kind: 'block', dz: k, blocks }, scale: 1 / b };
}

export function buildSpanEfFactors(model: SpanLoraModel, theta: Float64Array, batch: EncoderBatch, y: SpanTargets): CurvatureFactors {
  const J = model.perSampleGrads(theta, batch, y);
  return { n: model.numParams, r: batch.b, J, core: { kind: 'identity' }, scale: 1 / batch.b };
}

export interface SpanBatchOracle extends BatchOracle {
  outputs: Float64Array;
}

/** The optimizers' view of one QA batch; θ and the batch are copied (see batch-oracle.ts). */
export function makeSpanBatchOracle(model: SpanLoraModel, params: Float64Array, batch: EncoderBatch, y: SpanTargets, rowsPerBlock: number): SpanBatchOracle {
  const theta = params.slice();
  const L = model.maxLen;
  const bt: EncoderBatch = { tokens: batch.tokens.slice(0, batch.b * L), lengths: batch.lengths.slice(0, batch.b), b: batch.b };
  const ys: SpanTargets = { start: y.start.slice(0, batch.b), end: y.end.slice(0, batch.b) };
  const { loss, grad, outputs } = model.lossAndGrad(theta, bt, ys);
  const cache = new Map<CurvatureKind, CurvatureFactors>();
  return {
    loss,
    grad,
    outputs,
    batchSize: batch.b,
    curvature(kind: CurvatureKind): CurvatureFactors {
      let f = cache.get(kind);
      if (!f) {
        if (kind === 'ggn') f = buildSpanGgnFactors(model, theta, bt, rowsPerBlock, outputs);
        else if (kind === 'ef') f = buildSpanEfFactors(model, theta, bt, ys);
        else throw new RangeError(`unknown curvature kind '${String(kind)}' (expected 'ggn' or 'ef')`);
        cache.set(kind, f);
      }
      return f;
    },
  };
}
