// Sizes and parameter layouts of the small transformer encoder (pre-LN, BERT-like) and of its
// LoRA adapters. Every weight matrix is stored out × in, row-major, so y = W x + b reads
// y[o] = b[o] + Σ_i W[o·in + i] x[i] like the dense layers of model.ts.

export interface EncoderConfig {
  /** vocabulary size (token ids 0 … vocab−1; id 0 is padding by convention of the tokenizer) */
  vocab: number;
  /** longest sequence (positions 0 … maxLen−1) */
  maxLen: number;
  /** model width d */
  dModel: number;
  heads: number;
  /** hidden width of the GELU MLP */
  dFF: number;
  layers: number;
}

export class EncoderConfigError extends Error {
  constructor(message: string) {
    super(message);
    this.name = 'EncoderConfigError';
  }
}

export function checkEncoderConfig(c: EncoderConfig): EncoderConfig {
  const problems: string[] = [];
  const pos = (k: keyof EncoderConfig, max: number) => {
    const v = c[k];
    if (!Number.isInteger(v) || v < 1 || v > max) problems.push(`${k} must be an integer in [1, ${max}], got ${v}`);
  };
  pos('vocab', 1 << 16);
  pos('maxLen', 512);
  pos('dModel', 1024);
  pos('heads', 64);
  pos('dFF', 4096);
  pos('layers', 24);
  if (problems.length === 0 && c.dModel % c.heads !== 0) problems.push(`dModel ${c.dModel} is not divisible by heads ${c.heads}`);
  if (problems.length) throw new EncoderConfigError(`encoder config: ${problems.join('; ')}`);
  return { ...c };
}

/** Offsets of one layer's base weights in the base parameter vector. */
export interface LayerOffsets {
  ln1g: number;
  ln1b: number;
  /** Wq, Wk, Wv, Wo: d × d each; bq … bo: d each */
  wq: number;
  bq: number;
  wk: number;
  bk: number;
  wv: number;
  bv: number;
  wo: number;
  bo: number;
  ln2g: number;
  ln2b: number;
  /** W1: dFF × d, b1: dFF, W2: d × dFF, b2: d */
  w1: number;
  b1: number;
  w2: number;
  b2: number;
}

export interface BaseLayout {
  /** token embedding vocab × d (also the tied MLM output matrix) */
  tok: number;
  /** position embedding maxLen × d */
  pos: number;
  layers: LayerOffsets[];
  lnfg: number;
  lnfb: number;
  /** MLM output bias, vocab (used only by pretraining) */
  mlmBias: number;
  size: number;
}

export function baseLayout(c: EncoderConfig): BaseLayout {
  const { vocab: V, maxLen: L, dModel: d, dFF: F } = c;
  let off = 0;
  const take = (n: number) => {
    const o = off;
    off += n;
    return o;
  };
  const tok = take(V * d);
  const pos = take(L * d);
  const layers: LayerOffsets[] = [];
  for (let l = 0; l < c.layers; l++) {
    layers.push({
      ln1g: take(d),
      ln1b: take(d),
      wq: take(d * d),
      bq: take(d),
      wk: take(d * d),
      bk: take(d),
      wv: take(d * d),
      bv: take(d),
      wo: take(d * d),
      bo: take(d),
      ln2g: take(d),
      ln2b: take(d),
      w1: take(F * d),
      b1: take(F),
      w2: take(d * F),
      b2: take(d),
    });
  }
  const lnfg = take(d);
  const lnfb = take(d);
  const mlmBias = take(V);
  return { tok, pos, layers, lnfg, lnfb, mlmBias, size: off };
}

/** LoRA on the query and value projections of every layer (as in Hu et al. and DistilBERT PEFT). */
export interface LoraConfig {
  /** adapter rank ρ */
  rank: number;
  /** α: the update is (α/ρ)·B·A */
  alpha: number;
}

export interface LoraLayerOffsets {
  /** A: ρ × d, B: d × ρ, for the query and the value projection */
  aq: number;
  bq: number;
  av: number;
  bv: number;
}

export interface LoraLayout {
  layers: LoraLayerOffsets[];
  /** α/ρ */
  scaling: number;
  rank: number;
  size: number;
}

export function loraLayout(c: EncoderConfig, lc: LoraConfig): LoraLayout {
  if (!Number.isInteger(lc.rank) || lc.rank < 1 || lc.rank > c.dModel) throw new EncoderConfigError(`LoRA rank must be an integer in [1, ${c.dModel}], got ${lc.rank}`);
  if (!Number.isFinite(lc.alpha) || lc.alpha <= 0) throw new EncoderConfigError(`LoRA alpha must be a positive number, got ${lc.alpha}`);
  const per = lc.rank * c.dModel;
  const layers: LoraLayerOffsets[] = [];
  let off = 0;
  for (let l = 0; l < c.layers; l++) {
    layers.push({ aq: off, bq: off + per, av: off + 2 * per, bv: off + 3 * per });
    off += 4 * per;
  }
  return { layers, scaling: lc.alpha / lc.rank, rank: lc.rank, size: off };
}
