// Public shapes of the physics core's API (options, uploads, run configuration, results). The
// names carry a `Core` prefix where the driver has a same-purpose type of a different shape.
import type { CoreSpec } from './couplings.ts';
import type { Profile } from './profile.ts';

export interface SpuCoreOptions {
  /** largest N the device holds */
  maxCells: number;
  /** largest factor rank r */
  maxRank: number;
  profile: Profile;
  /** device seed, integer in [0, 2^53) */
  seed: number;
  /** run the scalar reference kernels instead of WebAssembly SIMD (same bits; for tests) */
  scalarKernels?: boolean;
}

export interface FactoredCurvature {
  n: number;
  r: number;
  /** r×n row-major */
  J: Float64Array;
  core: CoreSpec;
  /** s in A = s·JᵀHJ + λI, ≥ 0 */
  scale: number;
  /** λ > 0 */
  lambda: number;
}

export interface UploadOptions {
  /** hand the arrays to the core (no copy); the caller must not touch them afterwards */
  transfer?: boolean;
}

export interface CoreUploadReport {
  /** entries clamped by the DAC (fixed dacRange only; 'auto' never clips) */
  dacClips: number;
}

export type Integrator = { kind: 'euler'; dtTau: number } | { kind: 'exact' };

export interface RunConfig {
  /** noise strength κ₀ ≥ 0 */
  kappa0: number;
  integrator: Integrator;
  /** sample period Δ in τ (Euler: an integer multiple of dtTau) */
  samplePeriodTau: number;
  /** samples at k·Δ ≤ burnInTau are not averaged (a multiple of Δ) */
  burnInTau: number;
  /** average only the last windowTau/Δ samples (a multiple of Δ); default: all after burn-in */
  windowTau?: number;
}

export type StartMode = 'carry' | 'reset' | 'gradient';

export interface CoreSampleBlock {
  /** 1-based index k (sample at k·Δ of the main segment) of the first row */
  first: number;
  count: number;
  n: number;
  /** count×n row-major ADC readings; the buffer is reused — copy to keep */
  values: Float64Array;
  /** no further block of this run follows: the block holds sample K, or is the partial block an abort flushes */
  last: boolean;
}

export interface RunOptions {
  durationTau: number;
  /** state before the run: keep, zero, or load g (the paper's x₀ = g); default 'carry' */
  start?: StartMode;
  /** evolve this long under the previous (A, g) before pending uploads take effect */
  delayTau?: number;
  /** stream of averaged samples (selects sample-by-sample evaluation in exact mode) */
  onSampleBlock?: (block: CoreSampleBlock) => void;
  /** rows per sample block (default 16) */
  blockSamples?: number;
}

export type RunFlag = 'saturated' | 'adc-clipped' | 'aborted';

export interface CoreRunResult {
  /** ADC(average of the analog samples in the window) */
  mean: Float64Array;
  /** ADC(final analog state) */
  final: Float64Array;
  sampleCount: number;
  /** analog time actually run, delay included, τ */
  analogTimeTau: number;
  /** state clamps at the rails (Euler, per cell per step) or rail-clamped exact outputs */
  saturationCount: number;
  /** ADC conversions that clipped */
  clipCount: number;
  /** run counter value used for the noise of this run */
  runIndex: number;
  flags: RunFlag[];
}
