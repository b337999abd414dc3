// The fine-tuning model: a frozen pretrained encoder, trainable LoRA adapters on Wq and Wv, and a
// trainable span head (start/end logit per token). The optimizers' parameter vector θ is
// [adapters | head W (2 × d) | head b (2)]; the base weights are held by the model and never change.
//
// It offers what the host loop's Model offers for classifiers (forward, loss and gradient, the
// per-sample output Jacobian, per-sample gradients), with a token batch in place of a feature
// matrix and span targets in place of labels, plus Jacobian rows for chosen outputs only (the
// truncated GGN of span-factors.ts).
import type { LoraConfig, EncoderConfig } from './config.ts';
import { TransformerEncoder, type EncoderBatch } from './encoder.ts';
import { spanLoss, type SpanTargets } from './span-loss.ts';
import { Rng } from '../../data/rng.ts';

export interface SpanLossAndGrad {
  loss: number;
  grad: Float64Array;
  /** b × 2L logits */
  outputs: Float64Array;
}

export class SpanLoraModel {
  readonly encoder: TransformerEncoder;
  readonly numParams: number;
  /** trainable adapter parameters (the rest of θ is the head) */
  readonly numAdapterParams: number;
  /** outputs per sample, 2 · maxLen */
  readonly outputDim: number;
  readonly maxLen: number;
  private readonly headW: number;
  private readonly headB: number;
  private dHf: Float64Array;
  private dz: Float64Array;
  private z = new Float64Array(0);

  constructor(
    config: EncoderConfig,
    lora: LoraConfig,
    /** pretrained base weights (kept, frozen) */
    readonly base: Float64Array,
  ) {
    this.encoder = new TransformerEncoder(config, lora);
    if (base.length !== this.encoder.base.size) throw new RangeError(`span model: base weights must have length ${this.encoder.base.size}, got ${base.length}`);
    this.numAdapterParams = this.encoder.lora!.size;
    this.headW = this.numAdapterParams;
    this.headB = this.headW + 2 * config.dModel;
    this.numParams = this.headB + 2;
    this.maxLen = config.maxLen;
    this.outputDim = 2 * config.maxLen;
    this.dHf = new Float64Array(config.maxLen * config.dModel);
    this.dz = new Float64Array(this.outputDim);
  }

  /** Adapters as LoRA starts them (B = 0: the base model's features) and a small random head. */
  init(seed: number): Float64Array {
    const theta = new Float64Array(this.numParams);
    theta.set(this.encoder.initLora(seed));
    const rng = new Rng(seed, 0x686564);
    const std = 1 / Math.sqrt(this.encoder.config.dModel);
    for (let i = this.headW; i < this.headB; i++) theta[i] = std * rng.normal();
    return theta;
  }

  private check(theta: Float64Array): void {
    if (!(theta instanceof Float64Array) || theta.length !== this.numParams) throw new RangeError(`span model: θ must be a Float64Array of length ${this.numParams}, got ${theta?.length}`);
  }

  /** Logits b × 2L (per sample: start logits, then end logits; 0 at padded positions). */
  forward(theta: Float64Array, batch: EncoderBatch): Float64Array {
    return this.run(theta, batch).slice(0, batch.b * this.outputDim);
  }

  private run(theta: Float64Array, batch: EncoderBatch): Float64Array {
    this.check(theta);
    const adapters = theta.subarray(0, this.numAdapterParams);
    const hf = this.encoder.forward(this.base, adapters, batch);
    const { dModel: d, maxLen: L } = this.encoder.config;
    if (this.z.length < batch.b * 2 * L) this.z = new Float64Array(batch.b * 2 * L);
    const z = this.z;
    for (let s = 0; s < batch.b; s++) {
      const n = batch.lengths[s];
      for (let head = 0; head < 2; head++) {
        const wo = this.headW + head * d;
        const zo = (2 * s + head) * L;
        for (let t = 0; t < L; t++) {
          if (t >= n) {
            z[zo + t] = 0;
            continue;
          }
          const ho = (s * L + t) * d;
          let acc = theta[this.headB + head];
          for (let j = 0; j < d; j++) acc += theta[wo + j] * hf[ho + j];
          z[zo + t] = acc;
        }
      }
    }
    return z;
  }

  /**
   * Reverse pass of sample s from an output seed dz (2L, rows at padded positions ignored), added
   * into g at offset gOff (length N).
   */
  private backSample(theta: Float64Array, s: number, dz: Float64Array, dzOff: number, g: Float64Array, gOff: number): void {
    const { dModel: d, maxLen: L } = this.encoder.config;
    const hf = this.lastHf!;
    const n = this.lastLengths![s];
    const dH = this.dHf;
    dH.fill(0);
    for (let head = 0; head < 2; head++) {
      const wo = this.headW + head * d;
      const go = gOff + this.headW + head * d;
      for (let t = 0; t < n; t++) {
        const c = dz[dzOff + head * L + t];
        if (c === 0) continue;
        g[gOff + this.headB + head] += c;
        const ho = (s * L + t) * d;
        for (let j = 0; j < d; j++) {
          dH[t * d + j] += c * theta[wo + j];
          g[go + j] += c * hf[ho + j];
        }
      }
    }
    this.encoder.backwardSample(s, dH, null, g, gOff);
  }

  private lastHf: Float64Array | null = null;
  private lastLengths: Int32Array | null = null;

  private forwardKeep(theta: Float64Array, batch: EncoderBatch): Float64Array {
    const z = this.run(theta, batch);
    this.lastHf = this.encoder.lastHidden();
    this.lastLengths = batch.lengths;
    return z;
  }

  lossAndGrad(theta: Float64Array, batch: EncoderBatch, y: SpanTargets): SpanLossAndGrad {
    const z = this.forwardKeep(theta, batch);
    const { b } = batch;
    const L = this.maxLen;
    const gz = new Float64Array(b * 2 * L);
    const loss = spanLoss(z, batch.lengths, y, b, L, gz, 1 / b);
    const grad = new Float64Array(this.numParams);
    for (let s = 0; s < b; s++) this.backSample(theta, s, gz, s * 2 * L, grad, 0);
    return { loss, grad, outputs: z.slice(0, b * 2 * L) };
  }

  /** Per-sample loss gradients ∇ℓ_i (not divided by b): b × N row-major. */
  perSampleGrads(theta: Float64Array, batch: EncoderBatch, y: SpanTargets, out?: Float64Array): Float64Array {
    const z = this.forwardKeep(theta, batch);
    const { b } = batch;
    const L = this.maxLen;
    const G = this.outBuffer(b, out);
    G.fill(0, 0, b * this.numParams);
    const gz = new Float64Array(b * 2 * L);
    spanLoss(z, batch.lengths, y, b, L, gz, 1);
    for (let s = 0; s < b; s++) this.backSample(theta, s, gz, s * 2 * L, G, s * this.numParams);
    return G;
  }

  /** Full per-sample output Jacobian: (b·2L) × N; row i·2L + k is ∂z_ik/∂θ (zero rows at padding). */
  outputJacobian(theta: Float64Array, batch: EncoderBatch, out?: Float64Array): Float64Array {
    const L = this.maxLen;
    const rows = new Int32Array(batch.b * 2 * L);
    for (let i = 0; i < rows.length; i++) rows[i] = i % (2 * L);
    return this.jacobianRows(theta, batch, rows, 2 * L, out);
  }

  /**
   * Jacobian rows for chosen outputs: `rows` holds, for each sample, `perSample` output indices
   * (in [0, 2L)); result row i·perSample + j is ∂z_{i, rows[i·perSample + j]}/∂θ.
   */
  jacobianRows(theta: Float64Array, batch: EncoderBatch, rows: Int32Array, perSample: number, out?: Float64Array): Float64Array {
    this.forwardKeep(theta, batch);
    const { b } = batch;
    if (rows.length !== b * perSample) throw new RangeError(`span model: ${rows.length} row indices for ${b} samples × ${perSample}`);
    const R = b * perSample;
    const J = this.outBuffer(R, out);
    J.fill(0, 0, R * this.numParams);
    const dz = this.dz;
    for (let s = 0; s < b; s++)
      for (let j = 0; j < perSample; j++) {
        const k = rows[s * perSample + j];
        if (!(k >= 0 && k < this.outputDim)) throw new RangeError(`span model: output index ${k} outside [0, ${this.outputDim})`);
        dz.fill(0);
        dz[k] = 1;
        this.backSample(theta, s, dz, 0, J, (s * perSample + j) * this.numParams);
      }
    return J;
  }

  private outBuffer(rows: number, out?: Float64Array): Float64Array {
    const len = rows * this.numParams;
    if (!out) return new Float64Array(len);
    if (out.length < len) throw new RangeError(`span model: out buffer needs ${rows}×${this.numParams} = ${len} values, got ${out.length}`);
    return out;
  }
}
