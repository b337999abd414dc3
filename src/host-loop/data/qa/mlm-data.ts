// Pretraining sequences from the templated corpus with BERT's masking: half are plain stories
// ("[CLS] four facts [SEP]"), half are unlabelled question–context pairs ("[CLS] question [SEP]
// three facts [SEP]", the sentence-pair form BERT also pretrains on; no answer spans are given).
// Of the ordinary words, 15% (at least one) are predicted; of those 80% become [MASK], 10% a
// random word, 10% stay.
import type { Rng } from '../rng.ts';
import { FACT_KINDS, NAMES, questionWords, randomStory } from './corpus.ts';
import type { Vocab } from './vocab.ts';
import { CLS, MASK, SEP } from './vocab.ts';

export interface MlmBatch {
  tokens: Int32Array;
  lengths: Int32Array;
  b: number;
  /** original token at predicted positions, −1 elsewhere */
  labels: Int32Array;
}

export function mlmSequence(rng: Rng, vocab: Vocab): number[] {
  const words: string[] = [];
  if (rng.uniform() < 0.5) {
    for (const f of randomStory(rng, 4)) words.push(...f.words);
    return [CLS, ...vocab.encode(words), SEP];
  }
  const q = questionWords(FACT_KINDS[rng.int(FACT_KINDS.length)], NAMES[rng.int(NAMES.length)]);
  for (const f of randomStory(rng, 3)) words.push(...f.words);
  return [CLS, ...vocab.encode(q), SEP, ...vocab.encode(words), SEP];
}

export function mlmBatch(rng: Rng, vocab: Vocab, b: number, maxLen: number): MlmBatch {
  const tokens = new Int32Array(b * maxLen);
  const lengths = new Int32Array(b);
  const labels = new Int32Array(b * maxLen).fill(-1);
  for (let s = 0; s < b; s++) {
    const ids = mlmSequence(rng, vocab);
    if (ids.length > maxLen) throw new RangeError(`pretraining sequence of ${ids.length} tokens exceeds maxLen ${maxLen}`);
    lengths[s] = ids.length;
    const words: number[] = [];
    ids.forEach((id, t) => {
      tokens[s * maxLen + t] = id;
      if (id >= vocab.firstWord) words.push(t);
    });
    const k = Math.max(1, Math.round(0.15 * words.length));
    for (let i = 0; i < k; i++) {
      const j = i + rng.int(words.length - i);
      [words[i], words[j]] = [words[j], words[i]];
      const t = words[i];
      labels[s * maxLen + t] = ids[t];
      const u = rng.uniform();
      if (u < 0.8) tokens[s * maxLen + t] = MASK;
      else if (u < 0.9) tokens[s * maxLen + t] = vocab.firstWord + rng.int(vocab.size - vocab.firstWord);
    }
  }
  return { tokens, lengths, b, labels };
}
