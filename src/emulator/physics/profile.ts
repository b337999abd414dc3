// Device profiles: which non-idealities are on and how strong. See firmware-spec/EMULATOR.md §Profiles.
import { pow2Above, roundHalfEven } from './detmath.ts';

export interface Profile {
  name: string;
  /** DAC resolution for uploaded tensors (J, H, d, A, g, x); null = no quantisation. */
  dacBits: number | null;
  /** DAC full scale: 'auto' = per-tensor gain, the smallest power of two > max|entry|. */
  dacRange: 'auto' | number;
  /** ADC resolution of readouts (mean, final, sample stream); null = no quantisation. */
  adcBits: number | null;
  /** ADC range and state rail: readouts in [−fullScale, fullScale). */
  fullScale: number;
  /** Clamp the state to ±fullScale after each Euler step (counted as saturation events). */
  saturate: boolean;
  /** Relative σ of static multiplicative coupling mismatch on J, H, A entries (0 = none). */
  mismatchSigma: number;
}

export const PROFILES: Readonly<Record<'ideal' | 'prototype', Readonly<Profile>>> = {
  ideal: { name: 'ideal', dacBits: null, dacRange: 'auto', adcBits: null, fullScale: 8, saturate: false, mismatchSigma: 0 },
  prototype: { name: 'prototype', dacBits: 16, dacRange: 'auto', adcBits: 16, fullScale: 8, saturate: true, mismatchSigma: 1e-3 },
};

/**
 * DAC-quantises v in place: code = roundHalfEven(v / lsb) clamped to [−2^(b−1), 2^(b−1)−1],
 * v = code·lsb with lsb = fullScale / 2^(b−1). Returns the number of clamped entries.
 */
export function dacQuantise(v: Float64Array, bits: number, range: 'auto' | number): number {
  let fs: number;
  if (range === 'auto') {
    let m = 0;
    for (let i = 0; i < v.length; i++) {
      const a = Math.abs(v[i]);
      if (a > m) m = a;
    }
    if (m === 0) return 0;
    fs = pow2Above(m);
  } else fs = range;
  const half = 2 ** (bits - 1); // exact integer power of two (bits ≤ 32)
  const lsb = fs / half;
  const hiCode = half - 1;
  let clipped = 0;
  for (let i = 0; i < v.length; i++) {
    let c = roundHalfEven(v[i] / lsb);
    if (c > hiCode) {
      c = hiCode;
      clipped++;
    } else if (c < -half) {
      c = -half;
      clipped++;
    }
    v[i] = c * lsb;
  }
  return clipped;
}

/** ADC transfer of one value; returns the quantised value, sets adcClip.count on clipping. */
export class Adc {
  readonly lsb: number;
  readonly hiCode: number;
  readonly loCode: number;
  clips = 0;
  constructor(readonly bits: number | null, fullScale: number) {
    const half = bits === null ? 1 : 2 ** (bits - 1);
    this.lsb = fullScale / half;
    this.hiCode = half - 1;
    this.loCode = -half;
  }
  convert(x: number): number {
    if (this.bits === null) return x;
    let c = roundHalfEven(x / this.lsb);
    if (c > this.hiCode) {
      c = this.hiCode;
      this.clips++;
    } else if (c < this.loCode) {
      c = this.loCode;
      this.clips++;
    }
    return c * this.lsb;
  }
}

export function validateProfile(p: Profile): void {
  const bitsOk = (b: number | null) => b === null || (Number.isInteger(b) && b >= 2 && b <= 32);
  if (!bitsOk(p.dacBits) || !bitsOk(p.adcBits)) throw new RangeError('profile: bits must be null or an integer in [2, 32]');
  if (!(p.fullScale > 0 && Number.isFinite(p.fullScale))) throw new RangeError('profile: fullScale must be positive');
  if (p.dacRange !== 'auto' && !(p.dacRange > 0 && Number.isFinite(p.dacRange))) throw new RangeError('profile: dacRange');
  if (!(p.mismatchSigma >= 0 && p.mismatchSigma < 0.5)) throw new RangeError('profile: mismatchSigma in [0, 0.5)');
}
