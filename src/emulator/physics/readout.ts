// Readout (EMULATOR.md §10): the ADC-converted sample stream in blocks, and the run's final
// mean/final readings with the exact integrator's rail clamp.
import type { Adc } from './profile.ts';
import type { CoreSampleBlock } from './types.ts';

/** Buffers ADC readings of samples into blocks of `rows` and hands each full block on. */
export class SampleStream {
  private readonly block: Float64Array;
  private count = 0;
  private first = 0;
  constructor(
    private readonly n: number,
    private readonly rows: number,
    /** last sample index K: the block holding it is flushed at once */
    private readonly last: number,
    private readonly adc: Adc,
    private readonly sink: (b: CoreSampleBlock) => void,
  ) {
    this.block = new Float64Array(rows * n);
  }

  push(k: number, v: Float64Array): void {
    const n = this.n;
    if (this.count === 0) this.first = k;
    const off = this.count * n;
    for (let i = 0; i < n; i++) this.block[off + i] = this.adc.convert(v[i]);
    this.count++;
    if (this.count === this.rows || k === this.last) this.flush(k === this.last);
  }

  /** `last`: no further block of this run follows (the block holds sample K, or an abort ends the run). */
  flush(last: boolean): void {
    if (this.count === 0) return;
    const count = this.count;
    this.count = 0;
    this.sink({ first: this.first, count, n: this.n, values: this.block.subarray(0, count * this.n), last });
  }
}

export interface FinalReadout {
  mean: Float64Array;
  final: Float64Array;
  /** rail clamps added by the readout (exact integrator with saturate) */
  clamps: number;
}

/**
 * mean_i = ADC(sum_i / div) (0 when div = 0), final_i = ADC(x_i); with `clampRails` a value
 * outside ±F is clamped first (the state too) and counted.
 */
export function readFinal(
  n: number, x: Float64Array, sum: Float64Array, div: number, clampRails: boolean, fs: number, adc: Adc,
): FinalReadout {
  const mean = new Float64Array(n);
  const final = new Float64Array(n);
  let clamps = 0;
  for (let i = 0; i < n; i++) {
    let m = div > 0 ? sum[i] / div : 0;
    let f = x[i];
    if (clampRails) {
      if (f > fs || f < -fs) {
        f = f > fs ? fs : -fs;
        x[i] = f;
        clamps++;
      }
      if (m > fs || m < -fs) {
        m = m > fs ? fs : -fs;
        clamps++;
      }
    }
    mean[i] = adc.convert(m);
    final[i] = adc.convert(f);
  }
  return { mean, final, clamps };
}
