// The templated QA task, its pretraining sequences and the SQuAD metrics.
import { describe, expect, it } from 'vitest';
import { Rng } from '../../../src/host-loop/data/rng.ts';
import { mlmBatch } from '../../../src/host-loop/data/qa/mlm-data.ts';
import { bestSpan, exactMatch, f1Score, normalizeAnswer, squadScores } from '../../../src/host-loop/data/qa/squad-metrics.ts';
import { QA_MAX_TOKENS, makeQaExample, makeQaSplits, qaBatch } from '../../../src/host-loop/data/qa/task.ts';
import { CLS, MASK, PAD, SEP, Vocab } from '../../../src/host-loop/data/qa/vocab.ts';
import { FACT_KINDS, makeFact } from '../../../src/host-loop/data/qa/corpus.ts';

const vocab = new Vocab();

describe('SQuAD metrics', () => {
  it('normalises as the official script: case, punctuation, articles, whitespace', () => {
    expect(normalizeAnswer('  The  New-York!  ')).toBe('newyork');
    expect(normalizeAnswer('a red cat.')).toBe('red cat');
    expect(normalizeAnswer('An Apple')).toBe('apple');
  });
  it('EM and F1 on known cases', () => {
    expect(exactMatch('the red cat', 'red cat')).toBe(1);
    expect(exactMatch('red', 'red cat')).toBe(0);
    // one common token: precision 1, recall 1/2 → F1 2/3
    expect(f1Score('york', 'new york')).toBeCloseTo(2 / 3, 15);
    // precision 1/3, recall 1 → 1/2
    expect(f1Score('in new york', 'york')).toBeCloseTo(0.5, 15);
    expect(f1Score('paris', 'new york')).toBe(0);
    expect(f1Score('the', 'a')).toBe(1); // both normalise to empty
    expect(f1Score('the', 'cat')).toBe(0);
    // repeated tokens count once per occurrence
    expect(f1Score('cat cat', 'cat')).toBeCloseTo(2 / 3, 15);
    expect(squadScores(['red cat', 'york'], ['red cat', ['paris', 'new york']])).toEqual({ em: 0.5, f1: (1 + 2 / 3) / 2 });
  });
  it('bestSpan maximises start + end inside the context with end − start < maxAnswerLen', () => {
    const L = 6;
    const z = Float64Array.from([9, 0, 1, 0, 5, 0, /* end */ 0, 9, 0, 2, 0, 7]);
    // position 0 is outside the context [1, 6); best start 4, best end ≥ 4 is 5
    expect(bestSpan(z, 0, L, 1, 6, 3)).toEqual({ start: 4, end: 5 });
    // with max length 1 only i = j: sums 9, 1, 2, 5, 7 at positions 1 … 5
    expect(bestSpan(z, 0, L, 1, 6, 1)).toEqual({ start: 1, end: 1 });
    // a context starting at 2 excludes end position 1 (and start position 0 never counts)
    expect(bestSpan(z, 0, L, 2, 6, 1)).toEqual({ start: 5, end: 5 });
  });
});

describe('templated QA task', () => {
  const rng = new Rng(42, 1);
  const examples = Array.from({ length: 2000 }, () => makeQaExample(rng, vocab));

  it('every input fits QA_MAX_TOKENS (≤ 32) and its span decodes to the answer inside the context', () => {
    expect(QA_MAX_TOKENS).toBeLessThanOrEqual(32);
    for (const e of examples) {
      expect(e.ids.length).toBeLessThanOrEqual(QA_MAX_TOKENS);
      expect(e.ids[0]).toBe(CLS);
      expect(e.ids[e.ctxStart - 1]).toBe(SEP);
      expect(e.ids[e.ids.length - 1]).toBe(SEP);
      expect(e.start).toBeGreaterThanOrEqual(e.ctxStart);
      expect(e.end).toBeLessThan(e.ctxEnd);
      expect(vocab.decode(e.ids.slice(e.start, e.end + 1)).join(' ')).toBe(e.answer);
    }
  });

  it('is not solvable by position or answer type alone (seed 42, 2000 questions)', () => {
    const spans = new Map<string, number>();
    for (const e of examples) spans.set(`${e.start},${e.end}`, (spans.get(`${e.start},${e.end}`) ?? 0) + 1);
    // the most frequent span covers under 15% of questions
    expect(Math.max(...spans.values()) / examples.length).toBeLessThan(0.15);
    // the first value of the asked kind is right about half the time (two candidates, shuffled)
    const typeRight = examples.filter((e) => e.firstOfKind === e.answer).length / examples.length;
    expect(typeRight).toBeGreaterThan(0.35);
    expect(typeRight).toBeLessThan(0.65);
    // and the asked person's name occurs in the context
    for (const e of examples.slice(0, 200)) {
      const q = vocab.decode(e.ids.slice(1, e.ctxStart - 1));
      const ctx = vocab.decode(e.ids.slice(e.ctxStart, e.ctxEnd));
      expect(q.some((w) => ctx.includes(w) && w !== '?')).toBe(true);
    }
  });

  it('splits come from disjoint streams and pad with [PAD]', () => {
    const s = makeQaSplits(1, { train: 50, validation: 20, test: 20 }, vocab, 32);
    expect(s.train.n).toBe(50);
    expect(s.train.answers.slice(0, 20)).not.toEqual(s.validation.answers);
    expect(s.validation.answers).not.toEqual(s.test.answers);
    const n0 = s.train.lengths[0];
    expect(Array.from(s.train.tokens.subarray(n0, 32)).every((t) => t === PAD)).toBe(true);
    const b = qaBatch(s.train, [3, 1]);
    expect(b.start[0]).toBe(s.train.start[3]);
    expect(Array.from(b.tokens.subarray(32, 64))).toEqual(Array.from(s.train.tokens.subarray(32, 64)));
    expect(() => qaBatch(s.train, [50])).toThrow(/outside/);
  });

  it('facts have two phrasings per kind and one- or two-word values', () => {
    const r = new Rng(3);
    for (const kind of FACT_KINDS) {
      const f = makeFact(r, kind, 'anna');
      expect(f.words.slice(f.valueStart, f.valueStart + f.value.split(' ').length).join(' ')).toBe(f.value);
      expect(f.words.length).toBeLessThanOrEqual(6);
    }
  });
});

describe('MLM pretraining batches', () => {
  it('predict ~15% of the ordinary words, 80% of them masked, never the specials', () => {
    const b = mlmBatch(new Rng(5), vocab, 400, 32);
    let words = 0;
    let predicted = 0;
    let masked = 0;
    for (let s = 0; s < b.b; s++)
      for (let t = 0; t < b.lengths[s]; t++) {
        const label = b.labels[s * 32 + t];
        if (label >= vocab.firstWord || (label < 0 && b.tokens[s * 32 + t] >= vocab.firstWord)) words++;
        if (label >= 0) {
          expect(label).toBeGreaterThanOrEqual(vocab.firstWord);
          predicted++;
          if (b.tokens[s * 32 + t] === MASK) masked++;
        }
      }
    expect(predicted / words).toBeGreaterThan(0.13);
    expect(predicted / words).toBeLessThan(0.17);
    // 80% ± 5 points (binomial sd ≈ 1.3 points at ~1000 predictions)
    expect(masked / predicted).toBeGreaterThan(0.75);
    expect(masked / predicted).toBeLessThan(0.85);
  });
});
