// The pretrained base of the LoRA study: the encoder's size, MLM pretraining from a seed on the
// templated corpus (Adam through the project's optimizer registry), and the committed weights
// file (data/lora-base/encoder.json: config, recipe, SHA-256 of the weights, weights as base64 of
// little-endian float64).
import { createHash } from 'node:crypto';
import { existsSync, mkdirSync, readFileSync, writeFileSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { Rng } from '../../src/host-loop/data/rng.ts';
import { mlmBatch } from '../../src/host-loop/data/qa/mlm-data.ts';
import { Vocab } from '../../src/host-loop/data/qa/vocab.ts';
import type { EncoderConfig } from '../../src/host-loop/models/transformer/config.ts';
import { TransformerEncoder } from '../../src/host-loop/models/transformer/encoder.ts';
import { mlmLossAndGrad } from '../../src/host-loop/models/transformer/mlm.ts';
import { createOptimizer } from '../../src/host-loop/optimizers/index.ts';
import type { BatchOracle } from '../../src/host-loop/types.ts';

export const BASE_FILE = join(dirname(fileURLToPath(import.meta.url)), '../../data/lora-base/encoder.json');

/** The encoder for this machine's size: d = 32, 2 heads, 2 layers, GELU MLP 64, sequences ≤ 32. */
export function encoderConfig(vocab = new Vocab()): EncoderConfig {
  return { vocab: vocab.size, maxLen: 32, dModel: 32, heads: 2, dFF: 64, layers: 2 };
}

export interface PretrainRecipe {
  seed: number;
  steps: number;
  batch: number;
  lr: number;
}

export const DEFAULT_RECIPE: PretrainRecipe = { seed: 1, steps: 1000, batch: 32, lr: 3e-3 };

export interface PretrainResult {
  base: Float64Array;
  /** held-out MLM loss and accuracy (fixed 256-sequence set, seed-independent) every `every` steps */
  history: { step: number; loss: number; accuracy: number }[];
  seconds: number;
}

/** MLM on a fixed held-out set of sequences (stream distinct from training). */
export function mlmEval(enc: TransformerEncoder, base: Float64Array, vocab: Vocab, n = 256): { loss: number; accuracy: number } {
  const rng = new Rng(0x6576616c, 1);
  let loss = 0;
  let pred = 0;
  let correct = 0;
  for (let i = 0; i < n; i += 32) {
    const b = mlmBatch(rng, vocab, Math.min(32, n - i), enc.config.maxLen);
    const r = mlmLossAndGrad(enc, base, b, b, false);
    loss += r.loss * r.predicted;
    pred += r.predicted;
    correct += r.correct;
  }
  return { loss: loss / pred, accuracy: correct / pred };
}

export async function pretrainBase(recipe: PretrainRecipe, opts: { every?: number; log?: (line: string) => void } = {}): Promise<PretrainResult> {
  const vocab = new Vocab();
  const enc = new TransformerEncoder(encoderConfig(vocab));
  const base = enc.initBase(recipe.seed);
  const rng = new Rng(recipe.seed, 0x707274);
  const adam = createOptimizer('adam', { lr: recipe.lr });
  const every = opts.every ?? Math.max(1, Math.floor(recipe.steps / 10));
  const history: PretrainResult['history'] = [];
  const t0 = performance.now();
  for (let step = 1; step <= recipe.steps; step++) {
    const b = mlmBatch(rng, vocab, recipe.batch, enc.config.maxLen);
    const r = mlmLossAndGrad(enc, base, b, b);
    const oracle: BatchOracle = {
      loss: r.loss,
      grad: r.grad,
      batchSize: recipe.batch,
      curvature: () => {
        throw new Error('pretraining uses Adam: no curvature');
      },
    };
    await adam.step(base, oracle);
    // let timers and I/O run between steps (a test runner's heartbeat, Ctrl-C)
    await new Promise((res) => setImmediate(res));
    if (step % every === 0 || step === recipe.steps) {
      const e = mlmEval(enc, base, vocab);
      history.push({ step, ...e });
      opts.log?.(`[pretrain] step ${step}: held-out MLM loss ${e.loss.toFixed(4)}, accuracy ${(e.accuracy * 100).toFixed(1)}%`);
    }
  }
  return { base, history, seconds: (performance.now() - t0) / 1e3 };
}

export interface BaseFile {
  format: 'tngd-spu lora base 1';
  config: EncoderConfig;
  vocab: string[];
  recipe: PretrainRecipe;
  command: string;
  history: PretrainResult['history'];
  pretrainSeconds: number;
  sha256: string;
  weights: string;
}

export function weightsDigest(base: Float64Array): string {
  return createHash('sha256').update(Buffer.from(base.buffer, base.byteOffset, base.byteLength)).digest('hex');
}

export function saveBase(path: string, meta: Omit<BaseFile, 'format' | 'sha256' | 'weights'>, base: Float64Array): void {
  mkdirSync(dirname(path), { recursive: true });
  const le = Buffer.alloc(base.length * 8);
  base.forEach((v, i) => le.writeDoubleLE(v, i * 8));
  const file: BaseFile = { format: 'tngd-spu lora base 1', ...meta, sha256: weightsDigest(base), weights: le.toString('base64') };
  writeFileSync(path, JSON.stringify(file, null, 1) + '\n');
}

export class BaseFileError extends Error {
  constructor(path: string, reason: string) {
    super(`LoRA base weights ${path}: ${reason}`);
    this.name = 'BaseFileError';
  }
}

/** Reads and checks the weights file: format, config of this code's encoder, vocabulary, digest. */
export function loadBase(path = BASE_FILE): { file: BaseFile; base: Float64Array } {
  if (!existsSync(path)) throw new BaseFileError(path, 'not found (run npm run example:lora-pretrain)');
  const file = JSON.parse(readFileSync(path, 'utf8')) as BaseFile;
  if (file.format !== 'tngd-spu lora base 1') throw new BaseFileError(path, `unknown format '${String(file.format)}'`);
  const vocab = new Vocab();
  const want = encoderConfig(vocab);
  if (JSON.stringify(file.config) !== JSON.stringify(want)) throw new BaseFileError(path, `config ${JSON.stringify(file.config)} is not this code's ${JSON.stringify(want)}`);
  if (JSON.stringify(file.vocab) !== JSON.stringify(vocab.words)) throw new BaseFileError(path, 'vocabulary differs from the corpus word lists');
  const buf = Buffer.from(file.weights, 'base64');
  const size = new TransformerEncoder(want).base.size;
  if (buf.length !== size * 8) throw new BaseFileError(path, `${buf.length} weight bytes, expected ${size * 8}`);
  const base = new Float64Array(size);
  for (let i = 0; i < size; i++) base[i] = buf.readDoubleLE(i * 8);
  if (weightsDigest(base) !== file.sha256) throw new BaseFileError(path, 'SHA-256 of the weights does not match the file');
  return { file, base };
}
