// Masked-language-model objective for pretraining the encoder (BERT's): at chosen positions the
// input token was replaced, and the model predicts the original from the final hidden state
// through the tied token embedding, logits_t = E h_t + c (E: vocab × d, c: vocab). The loss is the
// mean cross-entropy over all predicted positions of the batch. Gradients go to every base weight.
import type { TransformerEncoder} from './encoder.ts';
import { type EncoderBatch } from './encoder.ts';

export interface MlmTargets {
  /** b × maxLen: the original token at a predicted position, −1 elsewhere */
  labels: Int32Array;
}

export interface MlmLossAndGrad {
  loss: number;
  /** gradient of the mean loss w.r.t. the base weights */
  grad: Float64Array;
  /** predicted positions and how many were right (arg-max) */
  predicted: number;
  correct: number;
}

export function mlmLossAndGrad(enc: TransformerEncoder, base: Float64Array, batch: EncoderBatch, y: MlmTargets, wantGrad = true): MlmLossAndGrad {
  if (enc.lora) throw new RangeError('MLM pretraining runs on an encoder without adapters');
  const { vocab: V, dModel: d, maxLen: L } = enc.config;
  const hf = enc.forward(base, null, batch);
  const { tok, mlmBias } = enc.base;
  let count = 0;
  for (let s = 0; s < batch.b; s++) for (let t = 0; t < batch.lengths[s]; t++) if (y.labels[s * L + t] >= 0) count++;
  const grad = new Float64Array(wantGrad ? base.length : 0);
  if (count === 0) return { loss: 0, grad, predicted: 0, correct: 0 };
  const logits = new Float64Array(V);
  const dH = new Float64Array(L * d);
  let total = 0;
  let correct = 0;
  for (let s = 0; s < batch.b; s++) {
    dH.fill(0);
    let any = false;
    for (let t = 0; t < batch.lengths[s]; t++) {
      const label = y.labels[s * L + t];
      if (label < 0) continue;
      if (label >= V) throw new RangeError(`MLM label ${label} outside [0, ${V})`);
      any = true;
      const ho = (s * L + t) * d;
      let mx = -Infinity;
      let best = 0;
      for (let v = 0; v < V; v++) {
        let acc = base[mlmBias + v];
        const eo = tok + v * d;
        for (let j = 0; j < d; j++) acc += base[eo + j] * hf[ho + j];
        logits[v] = acc;
        if (acc > mx) {
          mx = acc;
          best = v;
        }
      }
      if (best === label) correct++;
      let se = 0;
      for (let v = 0; v < V; v++) se += Math.exp(logits[v] - mx);
      total += mx + Math.log(se) - logits[label];
      if (!wantGrad) continue;
      const inv = 1 / se;
      for (let v = 0; v < V; v++) {
        const g = (Math.exp(logits[v] - mx) * inv - (v === label ? 1 : 0)) / count;
        grad[mlmBias + v] += g;
        const eo = tok + v * d;
        for (let j = 0; j < d; j++) {
          dH[t * d + j] += g * base[eo + j];
          grad[eo + j] += g * hf[ho + j];
        }
      }
    }
    if (wantGrad && any) enc.backwardSample(s, dH, grad, null);
  }
  return { loss: total / count, grad, predicted: count, correct };
}
