// The extractive QA task on the templated corpus, SQuAD-style: input "[CLS] question [SEP] context
// [SEP]", target the answer's start and end token. Each context holds three facts in random order:
// the asked one (person X, kind T), a distractor of the same kind T about another person Y with a
// different value, and one more fact (never another answer to the question). So neither the
// position (fact order is shuffled, names and values have 1–2 words) nor the answer's type (two
// candidates of the asked kind) gives the answer: the model must bind the question's name to its
// fact. Both shortcuts are scored as baselines (positionBaseline, typeBaseline).
import { Rng } from '../rng.ts';
import { FACT_KINDS, NAMES, makeFact, questionWords, randomValue, type Fact, type FactKind } from './corpus.ts';
import type { Vocab } from './vocab.ts';
import { CLS, PAD, SEP } from './vocab.ts';

export interface QaExample {
  ids: number[];
  /** answer token span in ids (inclusive) */
  start: number;
  end: number;
  /** context token range in ids [ctxStart, ctxEnd) */
  ctxStart: number;
  ctxEnd: number;
  answer: string;
  kind: FactKind;
  /** the value of the first fact of the asked kind in the context (the type-only shortcut) */
  firstOfKind: string;
}

function shuffle<T>(rng: Rng, xs: T[]): T[] {
  for (let i = xs.length - 1; i > 0; i--) {
    const j = rng.int(i + 1);
    [xs[i], xs[j]] = [xs[j], xs[i]];
  }
  return xs;
}

export function makeQaExample(rng: Rng, vocab: Vocab): QaExample {
  const kind = FACT_KINDS[rng.int(FACT_KINDS.length)];
  const x = NAMES[rng.int(NAMES.length)];
  let y = x;
  while (y === x) y = NAMES[rng.int(NAMES.length)];
  const asked = makeFact(rng, kind, x);
  let other = asked.value;
  while (other === asked.value) other = randomValue(rng, kind);
  const distractor = makeFact(rng, kind, y, other);
  let third: Fact;
  do third = makeFact(rng, FACT_KINDS[rng.int(FACT_KINDS.length)], NAMES[rng.int(NAMES.length)]);
  while (third.person === x && third.kind === kind);
  const facts = shuffle(rng, [asked, distractor, third]);
  const q = questionWords(kind, x);
  const words = ['[CLS]', ...q, '[SEP]'];
  const ctxStart = words.length;
  let start = -1;
  for (const f of facts) {
    if (f === asked) start = words.length + f.valueStart;
    words.push(...f.words);
  }
  const ctxEnd = words.length;
  words.push('[SEP]');
  const ids = words.map((w) => (w === '[CLS]' ? CLS : w === '[SEP]' ? SEP : vocab.id(w)));
  const firstOfKind = facts.find((f) => f.kind === kind)!.value;
  return { ids, start, end: start + asked.value.split(' ').length - 1, ctxStart, ctxEnd, answer: asked.value, kind, firstOfKind };
}

/** A split as fixed-length arrays (padded with [PAD]) plus the answers for scoring. */
export interface QaSet {
  n: number;
  maxLen: number;
  tokens: Int32Array;
  lengths: Int32Array;
  start: Int32Array;
  end: Int32Array;
  ctxStart: Int32Array;
  ctxEnd: Int32Array;
  answers: string[];
  examples: QaExample[];
}

export function encodeQaSet(examples: QaExample[], maxLen: number): QaSet {
  const n = examples.length;
  const s: QaSet = {
    n,
    maxLen,
    tokens: new Int32Array(n * maxLen).fill(PAD),
    lengths: new Int32Array(n),
    start: new Int32Array(n),
    end: new Int32Array(n),
    ctxStart: new Int32Array(n),
    ctxEnd: new Int32Array(n),
    answers: examples.map((e) => e.answer),
    examples,
  };
  examples.forEach((e, i) => {
    if (e.ids.length > maxLen) throw new RangeError(`QA example ${i} has ${e.ids.length} tokens, more than maxLen ${maxLen}`);
    s.tokens.set(e.ids, i * maxLen);
    s.lengths[i] = e.ids.length;
    s.start[i] = e.start;
    s.end[i] = e.end;
    s.ctxStart[i] = e.ctxStart;
    s.ctxEnd[i] = e.ctxEnd;
  });
  return s;
}

export interface QaSplits {
  train: QaSet;
  validation: QaSet;
  test: QaSet;
}

/** Longest possible input: [CLS] + 7 question words + [SEP] + 3 × 6-word facts + [SEP]. */
export const QA_MAX_TOKENS = 1 + 7 + 1 + 3 * 6 + 1;

/** Train / validation / test splits from disjoint random streams of one seed. */
export function makeQaSplits(seed: number, sizes: { train: number; validation: number; test: number }, vocab: Vocab, maxLen: number): QaSplits {
  const gen = (stream: number, n: number) => {
    const rng = new Rng(seed, 0x7161_0000 + stream);
    return encodeQaSet(Array.from({ length: n }, () => makeQaExample(rng, vocab)), maxLen);
  };
  return { train: gen(1, sizes.train), validation: gen(2, sizes.validation), test: gen(3, sizes.test) };
}

/** Rows `idx` of a split as an encoder batch with span targets. */
export function qaBatch(set: QaSet, idx: ArrayLike<number>): { tokens: Int32Array; lengths: Int32Array; b: number; start: Int32Array; end: Int32Array } {
  const b = idx.length;
  const L = set.maxLen;
  const tokens = new Int32Array(b * L);
  const lengths = new Int32Array(b);
  const start = new Int32Array(b);
  const end = new Int32Array(b);
  for (let i = 0; i < b; i++) {
    const s = idx[i];
    if (!(s >= 0 && s < set.n)) throw new RangeError(`QA sample index ${s} outside [0, ${set.n})`);
    tokens.set(set.tokens.subarray(s * L, (s + 1) * L), i * L);
    lengths[i] = set.lengths[s];
    start[i] = set.start[s];
    end[i] = set.end[s];
  }
  return { tokens, lengths, b, start, end };
}
