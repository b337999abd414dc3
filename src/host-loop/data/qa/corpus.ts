// A templated English corpus of short facts about people, generated from a seed (licence: this
// repository's, Apache-2.0; no external text). It stands in for the paper's pretraining and SQuAD
// text: Debian ships no openly licensed prose corpus in its package lists here, and nothing may
// be downloaded at run time.
//
// A fact is one of four kinds about a named person, each with two phrasings:
//   city  "anna lives in new york ."   / "anna resides in new york ."
//   job   "anna works as a pilot ."    / "anna is a pilot ."
//   food  "anna likes apple pie ."     / "anna loves apple pie ."
//   pet   "anna has a red cat ."       / "anna owns a red cat ."
// Values may be one or two words, so answers have different lengths and F1 differs from EM.
import type { Rng } from '../rng.ts';

export const NAMES = ['anna', 'ben', 'carla', 'david', 'emma', 'felix', 'greta', 'hugo', 'ida', 'jonas', 'karla', 'leo', 'mia', 'nils', 'olga', 'paul', 'rosa', 'sven', 'tina', 'umar', 'vera', 'walt', 'xena', 'yuri'];
export const CITIES = ['paris', 'oslo', 'lima', 'cairo', 'rome', 'kyoto', 'quito', 'dublin', 'new york', 'san diego', 'hong kong', 'buenos aires', 'cape town', 'tel aviv', 'rio', 'boston'];
export const JOBS = ['baker', 'doctor', 'pilot', 'teacher', 'farmer', 'nurse', 'painter', 'lawyer', 'chef', 'driver', 'singer', 'judge'];
export const FOODS = ['apples', 'rice', 'soup', 'bread', 'ice cream', 'apple pie', 'hot dogs', 'green tea', 'fish', 'cheese'];
export const COLORS = ['red', 'blue', 'green', 'black', 'white', 'brown'];
export const PETS = ['cat', 'dog', 'bird', 'horse', 'rabbit', 'turtle'];

export type FactKind = 'city' | 'job' | 'food' | 'pet';
export const FACT_KINDS: readonly FactKind[] = ['city', 'job', 'food', 'pet'];

export interface Fact {
  kind: FactKind;
  person: string;
  /** the value as words, e.g. "new york", "red cat" */
  value: string;
  /** the sentence's words; the value occupies words [valueStart, valueStart + value words) */
  words: string[];
  valueStart: number;
}

const PHRASES: Record<FactKind, [string[], string[]]> = {
  city: [['lives', 'in'], ['resides', 'in']],
  job: [['works', 'as', 'a'], ['is', 'a']],
  food: [['likes'], ['loves']],
  pet: [['has', 'a'], ['owns', 'a']],
};

/** The question asked about a fact of this kind and person. */
export function questionWords(kind: FactKind, person: string): string[] {
  switch (kind) {
    case 'city':
      return ['where', 'does', person, 'live', '?'];
    case 'job':
      return ['what', 'is', 'the', 'job', 'of', person, '?'];
    case 'food':
      return ['what', 'does', person, 'like', '?'];
    case 'pet':
      return ['what', 'pet', 'does', person, 'have', '?'];
  }
}

function pick<T>(rng: Rng, xs: readonly T[]): T {
  return xs[rng.int(xs.length)];
}

export function randomValue(rng: Rng, kind: FactKind): string {
  switch (kind) {
    case 'city':
      return pick(rng, CITIES);
    case 'job':
      return pick(rng, JOBS);
    case 'food':
      return pick(rng, FOODS);
    case 'pet':
      return `${pick(rng, COLORS)} ${pick(rng, PETS)}`;
  }
}

export function makeFact(rng: Rng, kind: FactKind, person: string, value = randomValue(rng, kind)): Fact {
  const verb = PHRASES[kind][rng.int(2)];
  const words = [person, ...verb];
  const valueStart = words.length;
  words.push(...value.split(' '), '.');
  return { kind, person, value, words, valueStart };
}

/** Every word the corpus and its questions can produce, sorted. */
export function corpusWords(): string[] {
  const w = new Set<string>(['.', '?']);
  const add = (s: string) => s.split(' ').forEach((x) => w.add(x));
  [...NAMES, ...CITIES, ...JOBS, ...FOODS, ...COLORS, ...PETS].forEach(add);
  for (const k of FACT_KINDS) {
    PHRASES[k].flat().forEach(add);
    questionWords(k, NAMES[0]).forEach(add);
  }
  return [...w].sort();
}

/** A story: `count` facts about distinct-or-repeated people, in random order. */
export function randomStory(rng: Rng, count: number): Fact[] {
  const facts: Fact[] = [];
  for (let i = 0; i < count; i++) facts.push(makeFact(rng, pick(rng, FACT_KINDS), pick(rng, NAMES)));
  return facts;
}
