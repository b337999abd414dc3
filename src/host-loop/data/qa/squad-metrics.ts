// Exact match and F1 as in the official SQuAD v1.1 evaluation script: answers are normalised
// (lower case, punctuation removed, articles a/an/the removed, whitespace collapsed), EM is
// equality of the normalised strings, F1 the harmonic mean of token precision and recall over the
// bag of normalised tokens; a prediction is scored against its best gold answer.

const PUNCT = /[!"#$%&'()*+,\-./:;<=>?@[\\\]^_`{|}~]/g;

export function normalizeAnswer(s: string): string {
  return s
    .toLowerCase()
    .replace(PUNCT, '')
    .replace(/\b(a|an|the)\b/g, ' ')
    .split(/\s+/)
    .filter((w) => w !== '')
    .join(' ');
}

export function exactMatch(prediction: string, gold: string): number {
  return normalizeAnswer(prediction) === normalizeAnswer(gold) ? 1 : 0;
}

export function f1Score(prediction: string, gold: string): number {
  const p = normalizeAnswer(prediction).split(' ').filter(Boolean);
  const g = normalizeAnswer(gold).split(' ').filter(Boolean);
  // the official script: if either is empty, F1 is 1 when both are, else 0
  if (p.length === 0 || g.length === 0) return p.length === g.length ? 1 : 0;
  const counts = new Map<string, number>();
  for (const w of g) counts.set(w, (counts.get(w) ?? 0) + 1);
  let common = 0;
  for (const w of p) {
    const c = counts.get(w) ?? 0;
    if (c > 0) {
      common++;
      counts.set(w, c - 1);
    }
  }
  if (common === 0) return 0;
  const precision = common / p.length;
  const recall = common / g.length;
  return (2 * precision * recall) / (precision + recall);
}

/** Mean EM and F1 (as fractions) of predictions against gold answers (one or more per question). */
export function squadScores(predictions: readonly string[], golds: readonly (string | readonly string[])[]): { em: number; f1: number } {
  if (predictions.length !== golds.length) throw new RangeError(`${predictions.length} predictions for ${golds.length} questions`);
  if (predictions.length === 0) return { em: 0, f1: 0 };
  let em = 0;
  let f1 = 0;
  predictions.forEach((p, i) => {
    const g = golds[i];
    const list = typeof g === 'string' ? [g] : g;
    em += Math.max(...list.map((x) => exactMatch(p, x)));
    f1 += Math.max(...list.map((x) => f1Score(p, x)));
  });
  return { em: em / predictions.length, f1: f1 / predictions.length };
}

/**
 * The best span (i ≤ j < i + maxAnswerLen, both inside [ctxStart, ctxEnd)) by start_i + end_j,
 * as BERT's SQuAD decoding does; z holds the sample's [start logits | end logits] (2L).
 */
export function bestSpan(z: Float64Array, zOff: number, L: number, ctxStart: number, ctxEnd: number, maxAnswerLen: number): { start: number; end: number } {
  let best = -Infinity;
  let bs = ctxStart;
  let be = ctxStart;
  for (let i = ctxStart; i < ctxEnd; i++)
    for (let j = i; j < Math.min(ctxEnd, i + maxAnswerLen); j++) {
      const v = z[zOff + i] + z[zOff + L + j];
      if (v > best) {
        best = v;
        bs = i;
        be = j;
      }
    }
  return { start: bs, end: be };
}
