// Public value types of the driver API (what the host loop and the CLI program against).
import type { Capabilities, DeviceState, ErrorEntry, LinkCounters } from '../protocol/index.ts';
import type { DtypeChoice, NumericArray } from './convert.ts';

export type { NumericArray, DtypeChoice };

export interface DeviceIdentity {
  vendor: string;
  model: string;
  serial: string;
  firmware: string;
}

export interface DeviceInfo {
  /** Link label for logs (never contains a secret). */
  link: string;
  identity: DeviceIdentity;
  capabilities: Capabilities;
  /** Protocol version in use for this session (major, negotiated minor). */
  protocol: { major: number; minor: number };
  sessionId: number;
  schemaFingerprint: string;
}

export type Readout = 'mean' | 'final' | 'both';
export type Integrator = { kind: 'euler'; dtTau: number } | { kind: 'exact' };

export interface ConfigureOptions {
  /** Noise strength κ₀ (within the device's [kappa0Min, kappa0Max]). */
  kappa0: number;
  /** Which vectors a run produces. Default 'both'. */
  readout?: Readout;
  /** Sampling period Δ in τ. Default 0.1. */
  samplePeriodTau?: number;
  /** Averaging window in τ; 0 = the whole run after burn-in. Default 0. */
  windowTau?: number;
  /** Samples in the first burnInTau of a run are not averaged. Default 0. */
  burnInTau?: number;
  /** Default { kind: 'euler', dtTau: 0.05 }. Hardware ignores it. */
  integrator?: Integrator;
  /** Emulators: noise seed. */
  seed?: number;
  /** Emulators: non-ideality profile name. */
  profile?: string;
  /**
   * Emulators (protocol ≥ 1.1): the run counter, i.e. the noise run index of the next run; a
   * device so set gives the results of one that had performed that many runs (PROTOCOL.md
   * §7.3.1). CapabilityError on devices that would ignore it.
   */
  runIndex?: number;
}

export type CoreInput =
  | { kind: 'identity' }
  | { kind: 'diagonal'; d: NumericArray }
  | { kind: 'block'; dz: number; blocks: NumericArray }
  | { kind: 'dense'; h: NumericArray };

/**
 * One layer's block of columns of J in a layered curvature.
 * - explicit: the block itself, r × cols, row-major (conv layers, anything not dense).
 * - dense: a dense layer's structured factors. A (b × nIn) holds each sample's layer inputs, D
 *   (r × nOut) each row's output sensitivities; the block has cols = nOut·nIn (+ nOut with bias)
 *   columns, J[ρ, j·nIn + t] = D[ρ·nOut + j] · A[s·nIn + t] with s = ⌊ρ / (r/b)⌋, and the bias
 *   columns J[ρ, nOut·nIn + j] = D[ρ·nOut + j] (the host models' W-then-bias layout).
 */
export type LayerBlockInput =
  | { kind: 'explicit'; cols: number; J: NumericArray }
  | { kind: 'dense'; nIn: number; nOut: number; bias: boolean; A: NumericArray; D: NumericArray };

/**
 * Curvature A. Factored: A = scale · Jᵀ H J + λ I with J of shape r × N (row-major) — the same
 * field names as the host loop's CurvatureFactors, so `{ form: 'factored', ...factors, lambda }`
 * works. Layered: the same A with J given per layer (the layers cover columns 0..n−1 in order;
 * r = b·m, row ρ belongs to sample ⌊ρ/m⌋); sent as such to devices with the feature
 * 'layered-curvature', expanded to the factored J for others. Dense: A (N × N, row-major) + λ I.
 */
export type CurvatureInput =
  | { form: 'dense'; n: number; A: NumericArray; lambda?: number }
  | { form: 'factored'; n: number; r: number; J: NumericArray; core: CoreInput; scale?: number; lambda?: number }
  | { form: 'layered'; n: number; r: number; b: number; layers: LayerBlockInput[]; core: CoreInput; scale?: number; lambda?: number };

export interface UploadOptions {
  /** Wire dtype; 'auto' = the most precise the device accepts (f64 > f32 > i16). */
  dtype?: DtypeChoice;
  /** Force inline tensors (true) or bulk transfers (false); default: inline when the frame fits. */
  inline?: boolean;
  /**
   * f64 arrays are sent from the caller's memory (no conversion) and read until the upload
   * settles. For reconnect({ restore }) the driver then keeps a copy of what was committed,
   * unless `transfer` is true: the caller hands the arrays over and never changes them again
   * (saves one copy of J per upload). Default false.
   */
  transfer?: boolean;
}

export interface UploadReport {
  n: number;
  dtype: string;
  /** Tensor data bytes sent (inline and bulk). */
  bytes: number;
  /** Tensors sent by bulk transfer. */
  bulkTransfers: number;
  /** i16 entries clamped to the device's full scale. */
  saturated: number;
  /** Device-assigned id of the loaded curvature (curvature uploads only). */
  curvatureId?: number;
  r?: number;
}

export type StartMode = 'carry' | 'reset' | 'gradient';

export interface RunOptions {
  /** Analog time of the run, in τ. */
  durationTau: number;
  /** Initial state: previous state (default), zero, or the gradient. */
  start?: StartMode;
  /** First evolve this long under the previous A and g (the paper's delayed update). */
  delayTau?: number;
  /** Stream sample blocks during the run (iterate handle.samples()). */
  streamSamples?: boolean;
  /** Overrides the derived timeout (timeoutMs + analog time × τ, extended while the device reports RUNNING). */
  timeoutMs?: number;
  /** Fetch mean/final after the run (default true). */
  fetchResults?: boolean;
}

export interface RunResult {
  runId: number;
  n: number;
  sampleCount: number;
  analogTimeTau: number;
  saturationCount: number;
  clipCount: number;
  flags: string[];
  mean?: Float64Array;
  final?: Float64Array;
  /** Emulators (protocol ≥ 1.1): the device's run counter after this run (the next run's noise index). */
  runIndex?: number;
}

export interface SampleBlock {
  runId: number;
  seq: number;
  firstSample: number;
  cellOffset: number;
  /** samples in the block */
  count: number;
  /** cells per sample */
  cells: number;
  /** count × cells, row-major */
  values: Float64Array;
}

export interface DeviceStatus {
  state: DeviceState;
  uptimeMs: number;
  counters: LinkCounters;
  errorQueueLength: number;
  lastError?: { code: number; message: string };
  n: number;
  hasCurvature: boolean;
  hasGradient: boolean;
  openTransfers: number;
  runId: number;
  /** Emulators (protocol ≥ 1.1): the run counter (noise run index of the next run). */
  runIndex?: number;
}

export type { ErrorEntry };
