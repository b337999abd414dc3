// A pre-LN transformer encoder (token + position embeddings, multi-head self-attention with a
// key padding mask, layer norm, GELU MLP, residuals, final layer norm) with hand-written batched
// forward and per-sample reverse passes, and optional LoRA adapters on Wq and Wv.
//
// The forward pass runs a whole batch and keeps every activation; the reverse pass runs one sample
// from a seed on its final hidden states, so one forward serves many reverse passes (one per
// output row of a Jacobian). Reverse-pass outputs are accumulated into caller-owned vectors:
// base-weight gradients (pretraining) and/or adapter gradients (fine-tuning); either may be null,
// and work only the requested ones need is skipped.
//
// Padding: positions t ≥ length[s] are masked as keys, so they never influence a real position,
// and no loss reads them; they are not computed at all (their final states are 0) and the reverse
// pass only visits real positions: a seed on a padded row is ignored.
import { Rng } from '../../data/rng.ts';
import { addRows, adapterBack, gelu, geluGrad, layerNorm, layerNormBack, linear, linearBack } from './kernels.ts';
import { baseLayout, checkEncoderConfig, loraLayout, type BaseLayout, type EncoderConfig, type LoraConfig, type LoraLayout } from './config.ts';

interface LayerCache {
  xin: Float64Array;
  ln1x: Float64Array;
  ln1r: Float64Array;
  h1: Float64Array;
  q: Float64Array;
  k: Float64Array;
  v: Float64Array;
  /** attention probabilities, per sample H × L × L */
  p: Float64Array;
  ctx: Float64Array;
  xmid: Float64Array;
  ln2x: Float64Array;
  ln2r: Float64Array;
  h2: Float64Array;
  u: Float64Array;
  g: Float64Array;
  /** A_q h1 and A_v h1 per position (ρ each), for the adapter gradients */
  uq: Float64Array;
  uv: Float64Array;
}

export interface EncoderBatch {
  /** b × maxLen token ids (entries past a sample's length are ignored) */
  tokens: Int32Array;
  /** b real lengths, each in [1, maxLen] */
  lengths: Int32Array;
  b: number;
}

export class TransformerEncoder {
  readonly config: EncoderConfig;
  readonly base: BaseLayout;
  readonly lora: LoraLayout | null;
  private cap = 0;
  private caches: LayerCache[] = [];
  private xL = new Float64Array(0);
  private lnfx = new Float64Array(0);
  private lnfr = new Float64Array(0);
  /** final hidden states of the last forward, cap × L × d */
  private hf = new Float64Array(0);
  private batch: EncoderBatch | null = null;
  /** effective Wq, Wv (base + scaling·B·A) of the last forward, per layer */
  private wqEff: Float64Array[] = [];
  private wvEff: Float64Array[] = [];
  private baseParams: Float64Array | null = null;
  private loraParams: Float64Array | null = null;
  // reverse-pass scratch (one sample)
  private dx: Float64Array;
  private dA: Float64Array;
  private dB: Float64Array;
  private dq: Float64Array;
  private dk: Float64Array;
  private dv: Float64Array;
  private dctx: Float64Array;
  private dF: Float64Array;
  private dP: Float64Array;
  private bdq: Float64Array;

  constructor(config: EncoderConfig, lora: LoraConfig | null = null) {
    this.config = checkEncoderConfig(config);
    this.base = baseLayout(config);
    this.lora = lora ? loraLayout(config, lora) : null;
    const { maxLen: L, dModel: d, dFF: F } = config;
    this.dx = new Float64Array(L * d);
    this.dA = new Float64Array(L * d);
    this.dB = new Float64Array(L * d);
    this.dq = new Float64Array(L * d);
    this.dk = new Float64Array(L * d);
    this.dv = new Float64Array(L * d);
    this.dctx = new Float64Array(L * d);
    this.dF = new Float64Array(L * F);
    this.dP = new Float64Array(L);
    this.bdq = new Float64Array(Math.max(1, this.lora?.rank ?? 1));
    for (let l = 0; l < config.layers; l++) {
      this.wqEff.push(new Float64Array(d * d));
      this.wvEff.push(new Float64Array(d * d));
    }
  }

  /** Base weights: N(0, 0.1²) embeddings, N(0, 1/fan-in) matrices (outputs of residual branches ÷ √(2·layers)), LN γ = 1. */
  initBase(seed: number): Float64Array {
    const { dModel: d, dFF: F, layers } = this.config;
    const rng = new Rng(seed, 0x747266);
    const p = new Float64Array(this.base.size);
    const fill = (off: number, n: number, std: number) => {
      for (let i = 0; i < n; i++) p[off + i] = std * rng.normal();
    };
    fill(this.base.tok, this.config.vocab * d, 0.1);
    fill(this.base.pos, this.config.maxLen * d, 0.1);
    const res = 1 / Math.sqrt(2 * layers);
    for (const o of this.base.layers) {
      p.fill(1, o.ln1g, o.ln1g + d);
      p.fill(1, o.ln2g, o.ln2g + d);
      fill(o.wq, d * d, 1 / Math.sqrt(d));
      fill(o.wk, d * d, 1 / Math.sqrt(d));
      fill(o.wv, d * d, 1 / Math.sqrt(d));
      fill(o.wo, d * d, res / Math.sqrt(d));
      fill(o.w1, F * d, 1 / Math.sqrt(d));
      fill(o.w2, d * F, res / Math.sqrt(F));
    }
    p.fill(1, this.base.lnfg, this.base.lnfg + d);
    return p;
  }

  /** Adapters as in LoRA: A ~ N(0, 1/d), B = 0, so training starts at the base model. */
  initLora(seed: number): Float64Array {
    if (!this.lora) throw new RangeError('this encoder has no LoRA adapters');
    const rng = new Rng(seed, 0x6c6f72);
    const p = new Float64Array(this.lora.size);
    const n = this.lora.rank * this.config.dModel;
    const std = 1 / Math.sqrt(this.config.dModel);
    for (const o of this.lora.layers) {
      for (let i = 0; i < n; i++) p[o.aq + i] = std * rng.normal();
      for (let i = 0; i < n; i++) p[o.av + i] = std * rng.normal();
    }
    return p;
  }

  private ensure(b: number): void {
    if (b <= this.cap) return;
    const { maxLen: L, dModel: d, dFF: F, heads: H } = this.config;
    const rho = this.lora?.rank ?? 0;
    const T = b * L;
    this.cap = b;
    this.caches = [];
    for (let l = 0; l < this.config.layers; l++) {
      const f = (n: number) => new Float64Array(n);
      this.caches.push({
        xin: f(T * d), ln1x: f(T * d), ln1r: f(T), h1: f(T * d), q: f(T * d), k: f(T * d), v: f(T * d),
        p: f(b * H * L * L), ctx: f(T * d), xmid: f(T * d), ln2x: f(T * d), ln2r: f(T), h2: f(T * d),
        u: f(T * F), g: f(T * F), uq: f(T * rho), uv: f(T * rho),
      });
    }
    this.xL = new Float64Array(T * d);
    this.lnfx = new Float64Array(T * d);
    this.lnfr = new Float64Array(T);
    this.hf = new Float64Array(T * d);
  }

  private checkBatch(base: Float64Array, lora: Float64Array | null, batch: EncoderBatch): void {
    const { maxLen: L, vocab: V } = this.config;
    if (base.length !== this.base.size) throw new RangeError(`encoder: base params must have length ${this.base.size}, got ${base.length}`);
    if (this.lora && (!lora || lora.length !== this.lora.size)) throw new RangeError(`encoder: LoRA params must have length ${this.lora.size}, got ${lora?.length}`);
    const { tokens, lengths, b } = batch;
    if (!Number.isInteger(b) || b < 1) throw new RangeError(`encoder: batch size must be a positive integer, got ${b}`);
    if (tokens.length < b * L || lengths.length < b) throw new RangeError(`encoder: need ${b}×${L} tokens and ${b} lengths, got ${tokens.length} and ${lengths.length}`);
    for (let s = 0; s < b; s++) {
      const n = lengths[s];
      if (!(n >= 1 && n <= L)) throw new RangeError(`encoder: length ${n} of sample ${s} is outside [1, ${L}]`);
      for (let t = 0; t < n; t++) {
        const id = tokens[s * L + t];
        if (!(id >= 0 && id < V)) throw new RangeError(`encoder: token ${id} at sample ${s}, position ${t} is outside [0, ${V})`);
      }
    }
  }

  /**
   * Runs the batch; returns the final hidden states (b × maxLen × d, a scratch view valid until
   * the next forward). The activations stay cached for backwardSample.
   */
  forward(base: Float64Array, lora: Float64Array | null, batch: EncoderBatch): Float64Array {
    this.checkBatch(base, lora, batch);
    this.ensure(batch.b);
    const { maxLen: L, dModel: d, dFF: F, heads: H } = this.config;
    const dh = d / H;
    const inv = 1 / Math.sqrt(dh);
    const { tokens, lengths, b } = batch;
    this.batch = { tokens: tokens.slice(0, b * L), lengths: lengths.slice(0, b), b };
    this.baseParams = base;
    this.loraParams = lora;
    const P = base;
    const rho = this.lora?.rank ?? 0;
    // effective projections W + (α/ρ)·B·A
    for (let l = 0; l < this.config.layers; l++) {
      const o = this.base.layers[l];
      const wq = this.wqEff[l];
      const wv = this.wvEff[l];
      wq.set(P.subarray(o.wq, o.wq + d * d));
      wv.set(P.subarray(o.wv, o.wv + d * d));
      if (this.lora && lora) {
        const lo = this.lora.layers[l];
        const sc = this.lora.scaling;
        for (let i = 0; i < d; i++)
          for (let k = 0; k < rho; k++) {
            const bq = sc * lora[lo.bq + i * rho + k];
            const bv = sc * lora[lo.bv + i * rho + k];
            for (let j = 0; j < d; j++) {
              wq[i * d + j] += bq * lora[lo.aq + k * d + j];
              wv[i * d + j] += bv * lora[lo.av + k * d + j];
            }
          }
      }
    }
    const x0 = this.caches[0].xin;
    for (let s = 0; s < b; s++)
      for (let t = 0; t < L; t++) {
        const id = t < lengths[s] ? tokens[s * L + t] : 0;
        const xo = (s * L + t) * d;
        for (let j = 0; j < d; j++) x0[xo + j] = P[this.base.tok + id * d + j] + P[this.base.pos + t * d + j];
      }
    // only real rows are computed: a padded position influences no real one (keys are masked)
    // and no loss reads it, so its states stay 0
    const rows = new Int32Array(b * L);
    let R = 0;
    for (let s = 0; s < b; s++) for (let t = 0; t < lengths[s]; t++) rows[R++] = s * L + t;
    const T = b * L;
    for (let l = 0; l < this.config.layers; l++) {
      const o = this.base.layers[l];
      const c = this.caches[l];
      const next = l + 1 < this.config.layers ? this.caches[l + 1].xin : this.xL;
      layerNorm(c.xin, rows, R, d, P, o.ln1g, o.ln1b, c.ln1x, c.ln1r, c.h1);
      linear(this.wqEff[l], 0, P, o.bq, c.h1, rows, R, d, d, c.q);
      linear(P, o.wk, P, o.bk, c.h1, rows, R, d, d, c.k);
      linear(this.wvEff[l], 0, P, o.bv, c.h1, rows, R, d, d, c.v);
      if (this.lora && lora) {
        const lo = this.lora.layers[l];
        linear(lora, lo.aq, null, 0, c.h1, rows, R, d, rho, c.uq);
        linear(lora, lo.av, null, 0, c.h1, rows, R, d, rho, c.uv);
      }
      // attention with the key padding mask (queries: real positions only)
      for (let s = 0; s < b; s++) {
        const n = lengths[s];
        for (let h = 0; h < H; h++) {
          const ho = h * dh;
          for (let t = 0; t < n; t++) {
            const qo = (s * L + t) * d + ho;
            const po = ((s * H + h) * L + t) * L;
            let mx = -Infinity;
            for (let u = 0; u < n; u++) {
              const ko = (s * L + u) * d + ho;
              let acc = 0;
              for (let j = 0; j < dh; j++) acc += c.q[qo + j] * c.k[ko + j];
              acc *= inv;
              c.p[po + u] = acc;
              if (acc > mx) mx = acc;
            }
            let se = 0;
            for (let u = 0; u < n; u++) {
              const e = Math.exp(c.p[po + u] - mx);
              c.p[po + u] = e;
              se += e;
            }
            const is = 1 / se;
            for (let u = 0; u < n; u++) c.p[po + u] *= is;
            for (let u = n; u < L; u++) c.p[po + u] = 0;
            for (let j = 0; j < dh; j++) {
              let acc = 0;
              for (let u = 0; u < n; u++) acc += c.p[po + u] * c.v[(s * L + u) * d + ho + j];
              c.ctx[qo + j] = acc;
            }
          }
        }
      }
      linear(P, o.wo, P, o.bo, c.ctx, rows, R, d, d, c.xmid);
      addRows(c.xmid, c.xin, rows, R, d);
      layerNorm(c.xmid, rows, R, d, P, o.ln2g, o.ln2b, c.ln2x, c.ln2r, c.h2);
      linear(P, o.w1, P, o.b1, c.h2, rows, R, d, F, c.u);
      for (let i = 0; i < R; i++) {
        const ro = rows[i] * F;
        for (let j = 0; j < F; j++) c.g[ro + j] = gelu(c.u[ro + j]);
      }
      linear(P, o.w2, P, o.b2, c.g, rows, R, F, d, next);
      addRows(next, c.xmid, rows, R, d);
    }
    this.hf.fill(0, 0, T * d);
    layerNorm(this.xL, rows, R, d, P, this.base.lnfg, this.base.lnfb, this.lnfx, this.lnfr, this.hf);
    return this.hf.subarray(0, T * d);
  }

  /** Final hidden states of the last forward (b × maxLen × d view). */
  lastHidden(): Float64Array {
    if (!this.batch) throw new Error('encoder: lastHidden before forward');
    return this.hf.subarray(0, this.batch.b * this.config.maxLen * this.config.dModel);
  }

  /**
   * Reverse pass of sample s of the last forward from dHf (maxLen × d, seed on its final hidden
   * states; rows ≥ length ignored). Adds ∂/∂base into gBase (at gBaseOff) and ∂/∂adapters into
   * gLora (at gLoraOff) when given.
   */
  backwardSample(s: number, dHf: Float64Array, gBase: Float64Array | null, gLora: Float64Array | null, gLoraOff = 0): void {
    const batch = this.batch;
    const P = this.baseParams;
    if (!batch || !P) throw new Error('encoder: backwardSample before forward');
    if (!(s >= 0 && s < batch.b)) throw new RangeError(`encoder: sample ${s} is outside the last batch of ${batch.b}`);
    const lora = this.loraParams;
    const { maxLen: L, dModel: d, dFF: F, heads: H, layers } = this.config;
    const dh = d / H;
    const inv = 1 / Math.sqrt(dh);
    const n = batch.lengths[s];
    const rho = this.lora?.rank ?? 0;
    const row0 = s * L;
    const nd = n * d;
    const dx = this.dx;
    // final layer norm
    layerNormBack(dHf, 0, this.lnfx, this.lnfr, row0, n, d, P, this.base.lnfg, dx, gBase, this.base.lnfg, this.base.lnfb, false);
    const wantBase = gBase !== null;
    for (let l = layers - 1; l >= 0; l--) {
      const o = this.base.layers[l];
      const c = this.caches[l];
      const lo = this.lora?.layers[l];
      // MLP branch: next = xmid + W2 gelu(W1 h2 + b1) + b2
      const dF = this.dF;
      dF.fill(0, 0, n * F);
      linearBack(dx, P, o.w2, c.g, row0, n, F, d, dF, wantBase ? gBase : null, o.w2, o.b2);
      for (let t = 0; t < n; t++) for (let j = 0; j < F; j++) dF[t * F + j] *= geluGrad(c.u[(row0 + t) * F + j]);
      const dA = this.dA;
      dA.fill(0, 0, nd);
      linearBack(dF, P, o.w1, c.h2, row0, n, d, F, dA, wantBase ? gBase : null, o.w1, o.b1);
      // dx (= d xmid) += LN2 reverse of dA
      layerNormBack(dA, 0, c.ln2x, c.ln2r, row0, n, d, P, o.ln2g, dx, gBase, o.ln2g, o.ln2b, true);
      // attention branch: xmid = xin + Wo ctx + bo
      const dctx = this.dctx;
      dctx.fill(0, 0, nd);
      linearBack(dx, P, o.wo, c.ctx, row0, n, d, d, dctx, wantBase ? gBase : null, o.wo, o.bo);
      const dq = this.dq;
      const dk = this.dk;
      const dv = this.dv;
      dq.fill(0, 0, nd);
      dk.fill(0, 0, nd);
      dv.fill(0, 0, nd);
      const dP = this.dP;
      for (let h = 0; h < H; h++) {
        const ho = h * dh;
        for (let t = 0; t < n; t++) {
          const po = ((s * H + h) * L + t) * L;
          const co = t * d + ho;
          let dot = 0;
          for (let u = 0; u < n; u++) {
            const vo = (row0 + u) * d + ho;
            const vo2 = u * d + ho;
            const pu = c.p[po + u];
            let acc = 0;
            for (let j = 0; j < dh; j++) {
              const g = dctx[co + j];
              acc += g * c.v[vo + j];
              dv[vo2 + j] += pu * g;
            }
            dP[u] = acc;
            dot += pu * acc;
          }
          const qo = (row0 + t) * d + ho;
          for (let u = 0; u < n; u++) {
            const ds = c.p[po + u] * (dP[u] - dot) * inv;
            if (ds === 0) continue;
            const ko = (row0 + u) * d + ho;
            const ko2 = u * d + ho;
            for (let j = 0; j < dh; j++) {
              dq[co + j] += ds * c.k[ko + j];
              dk[ko2 + j] += ds * c.q[qo + j];
            }
          }
        }
      }
      // projections: q = Wq_eff h1 + bq, k = Wk h1 + bk, v = Wv_eff h1 + bv
      if (lora && gLora && lo) {
        adapterBack(dq, c.uq, c.h1, row0, n, d, rho, lora, lo.bq, this.lora!.scaling, gLora, gLoraOff + lo.aq, gLoraOff + lo.bq, this.bdq);
        adapterBack(dv, c.uv, c.h1, row0, n, d, rho, lora, lo.bv, this.lora!.scaling, gLora, gLoraOff + lo.av, gLoraOff + lo.bv, this.bdq);
      }
      if (l === 0 && !wantBase) return; // nothing below layer 0 is trainable
      const dB = this.dB;
      dB.fill(0, 0, nd);
      linearBack(dq, this.wqEff[l], 0, c.h1, row0, n, d, d, dB, wantBase ? gBase : null, o.wq, o.bq);
      linearBack(dk, P, o.wk, c.h1, row0, n, d, d, dB, wantBase ? gBase : null, o.wk, o.bk);
      linearBack(dv, this.wvEff[l], 0, c.h1, row0, n, d, d, dB, wantBase ? gBase : null, o.wv, o.bv);
      layerNormBack(dB, 0, c.ln1x, c.ln1r, row0, n, d, P, o.ln1g, dx, gBase, o.ln1g, o.ln1b, true);
    }
    if (gBase) {
      const toks = batch.tokens;
      for (let t = 0; t < n; t++) {
        const id = toks[row0 + t];
        for (let j = 0; j < d; j++) {
          gBase[this.base.tok + id * d + j] += dx[t * d + j];
          gBase[this.base.pos + t * d + j] += dx[t * d + j];
        }
      }
    }
  }
}
