// Word-level vocabulary of the templated corpus: four special tokens, then the corpus words in
// sorted order, so ids depend on the word lists alone.
import { corpusWords } from './corpus.ts';

export const PAD = 0;
export const CLS = 1;
export const SEP = 2;
export const MASK = 3;
const SPECIALS = ['[PAD]', '[CLS]', '[SEP]', '[MASK]'];

export class Vocab {
  readonly words: readonly string[];
  private readonly ids = new Map<string, number>();

  constructor(words: readonly string[] = corpusWords()) {
    this.words = [...SPECIALS, ...words];
    this.words.forEach((w, i) => {
      if (this.ids.has(w)) throw new RangeError(`vocabulary: duplicate word '${w}'`);
      this.ids.set(w, i);
    });
  }

  get size(): number {
    return this.words.length;
  }

  /** First id that is an ordinary word (after the specials). */
  get firstWord(): number {
    return SPECIALS.length;
  }

  id(word: string): number {
    const i = this.ids.get(word);
    if (i === undefined) throw new RangeError(`vocabulary: unknown word '${word}'`);
    return i;
  }

  encode(words: readonly string[]): number[] {
    return words.map((w) => this.id(w));
  }

  decode(ids: ArrayLike<number>): string[] {
    return Array.from(ids, (i) => this.words[i] ?? '[?]');
  }
}
