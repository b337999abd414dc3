// Counter-based randomness: Philox-4x32-10 (Salmon et al., SC'11) with integer-exact JS
// arithmetic, and the Gaussian stream built on it. A Gaussian is addressed by
// (key = seed, c1, c2, domain, index), so values never depend on chunking or call order.
import { normInvWord } from './detmath.ts';

const M0 = 0xd2511f53;
const M1 = 0xcd9e8d57;
const W0 = 0x9e3779b9;
const W1 = 0xbb67ae85;
const INV_2_32 = 1 / 4294967296;

/** Philox-4x32-10 of counter (c0..c3) under key (k0, k1); writes 4 uint32 words to out. */
export function philox4x32(
  c0: number, c1: number, c2: number, c3: number, k0: number, k1: number, out: Uint32Array,
): void {
  for (let round = 0; round < 10; round++) {
    // lo = exact low word; hi = (M·c − lo)/2^32 rounded: the f64 product is within 2^12 of the
    // exact one, so the quotient is within 2^−20 of the integer hi word and rounding is exact.
    const p0lo = Math.imul(M0, c0) >>> 0;
    const p0hi = Math.round((M0 * c0 - p0lo) * INV_2_32);
    const p1lo = Math.imul(M1, c2) >>> 0;
    const p1hi = Math.round((M1 * c2 - p1lo) * INV_2_32);
    c0 = (p1hi ^ c1 ^ k0) >>> 0;
    c1 = p1lo;
    c2 = (p0hi ^ c3 ^ k1) >>> 0;
    c3 = p0lo;
    k0 = (k0 + W0) >>> 0;
    k1 = (k1 + W1) >>> 0;
  }
  out[0] = c0;
  out[1] = c1;
  out[2] = c2;
  out[3] = c3;
}

/** Uniform in (0,1) from one word: u = (w + ½)·2^−32 (exact; 2^32 equally spaced values). */
export function wordToUniform(w: number): number {
  return (w + 0.5) * 2.3283064365386963e-10;
}

/** Noise domains (counter word c3). */
export const DOMAIN = {
  euler: 1,
  exactModes: 2,
  exactComplement1: 3,
  exactComplement2: 4,
  mismatchJ: 16,
  mismatchH: 17,
  mismatchA: 18,
  /** layered curvature (EMULATOR.md §6.1): a dense layer's inputs A_l and sensitivities D_l */
  mismatchLayerA: 19,
  mismatchLayerD: 20,
  /** start vector of the Euler stability estimate (EMULATOR.md §9.1.1), under key 0 */
  stability: 32,
} as const;

/** Splits a seed (integer 0 ≤ seed < 2^53) into key words (low, high). */
export function seedKey(seed: number): [number, number] {
  return [seed % 4294967296 >>> 0, Math.floor(seed / 4294967296) >>> 0];
}

const words = new Uint32Array(4);

/**
 * Fills out[0..n) with standard Gaussians number `first`..`first+n-1` of the stream
 * (key, c1, c2, c3): Gaussian i is normInv(wordToUniform(word i mod 4)) of the Philox block
 * at counter (⌊i/4⌋, c1, c2, c3). `first` must be a multiple of 4.
 */
export function fillGaussians(
  out: Float64Array, n: number, k0: number, k1: number, c1: number, c2: number, c3: number, first = 0,
): void {
  const base = first >>> 2;
  const full = n >>> 2;
  for (let p = 0; p < full; p++) {
    philox4x32(base + p, c1, c2, c3, k0, k1, words);
    const o = 4 * p;
    out[o] = normInvWord(words[0]);
    out[o + 1] = normInvWord(words[1]);
    out[o + 2] = normInvWord(words[2]);
    out[o + 3] = normInvWord(words[3]);
  }
  const rest = n & 3;
  if (rest) {
    philox4x32(base + full, c1, c2, c3, k0, k1, words);
    for (let h = 0; h < rest; h++) out[4 * full + h] = normInvWord(words[h]);
  }
}

/** The single Gaussian number i of stream (key, c1, c2, c3). */
export function gaussianAt(k0: number, k1: number, c1: number, c2: number, c3: number, i: number): number {
  philox4x32(Math.floor(i / 4), c1, c2, c3, k0, k1, words);
  return normInvWord(words[i & 3]);
}
