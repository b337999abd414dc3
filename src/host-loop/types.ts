// Contracts shared by models, curvature builders and optimizers in the host loop.
// Matrices are row-major Float64Arrays; vectors are Float64Arrays of length N (parameters).

/** The core H of a factored curvature A = scale · Jᵀ H J + λ I (r × r). */
export type CoreMatrix =
  | { kind: 'identity' }
  /** length r */
  | { kind: 'diagonal'; d: Float64Array }
  /** r/dz consecutive dz×dz blocks, each row-major, concatenated (length r·dz) */
  | { kind: 'block'; dz: number; blocks: Float64Array }
  /** r×r row-major */
  | { kind: 'dense'; h: Float64Array };

/** Curvature in factored form; the damping λ is the optimizer's, not the factor's. */
export interface CurvatureFactors {
  /** number of parameters N */
  n: number;
  /** factor rank r (rows of J) */
  r: number;
  /** r × N row-major */
  J: Float64Array;
  core: CoreMatrix;
  /** e.g. 1/b for a batch-mean GGN */
  scale: number;
}

/**
 * One layer's columns of J in a layered factor. 'dense': the layer's rows are outer products, so
 * J[ρ, c0 + j·nIn + t] = D[ρ·nOut + j]·A[s·nIn + t] and the bias column J[ρ, c0 + nOut·nIn + j] =
 * D[ρ·nOut + j], with s = ⌊ρ/m⌋ the sample of row ρ (m = r/b rows per sample). 'explicit': the
 * layer's r × cols block of J as is (conv layers).
 */
export type LayerBlock =
  | { kind: 'explicit'; cols: number; J: Float64Array }
  /** A: b × nIn layer inputs; D: r × nOut sensitivities of the pre-activations */
  | { kind: 'dense'; nIn: number; nOut: number; bias: boolean; A: Float64Array; D: Float64Array };

/**
 * Curvature A = scale · Jᵀ H J (+ λI) with J given per layer (the layers cover the N columns in
 * order): the same matrix as CurvatureFactors without writing the r × N Jacobian. Field names
 * match the driver's 'layered' CurvatureInput (minus λ).
 */
export interface LayeredFactors {
  n: number;
  r: number;
  /** samples; r = b·m */
  b: number;
  layers: LayerBlock[];
  core: CoreMatrix;
  scale: number;
}

/** Reusable buffers by name (factor workspaces): the same key and length give the same array. */
export interface BufferPool {
  take(key: string, len: number): Float64Array;
}

export type CurvatureKind = 'ggn' | 'ef';

/** K-FAC's output sensitivities: exact GGN statistics or labels sampled from the model. */
export type KfacSensitivities = 'ggn' | 'sampled';

/** A random source (the host Rng satisfies it), owned by whoever must checkpoint it. */
export interface SampleSource {
  uniform(): number;
  normal(): number;
}

/** One dense layer's Kronecker factors A ((nIn+1)², inputs with a trailing 1) and G (nOut²). */
export interface KroneckerLayer {
  nIn: number;
  nOut: number;
  /** offsets of W (nOut × nIn, row-major) and of the bias in the parameter vector */
  wOff: number;
  bOff: number;
  A: Float64Array;
  G: Float64Array;
}

/**
 * A curvature A = scale · Jᵀ H J given by products only: J is the per-sample output Jacobian
 * (r = b·dz rows, row i·dz + k = ∂z_ik/∂θ), applied forward (jvp) and in reverse (vjp), so no
 * Jacobian row or block is ever stored. The empirical Fisher fits the same form with the core
 * blocks H_i = g_i g_iᵀ (g_i = ∂ℓ_i/∂z_i).
 */
export interface CurvatureProducts {
  n: number;
  b: number;
  dz: number;
  /** r × r with r = b·dz ('identity' or per-sample 'block') */
  core: CoreMatrix;
  scale: number;
  /** layers the layered form would give as explicit column blocks (conv): where products pay off */
  explicitLayers: number;
  /** out (length b·dz) = J v */
  jvp(v: Float64Array, out: Float64Array): void;
  /** out (length n, overwritten) = Jᵀ w */
  vjp(w: Float64Array, out: Float64Array): void;
}

/** What an optimizer sees of one mini-batch at the current parameters. */
export interface BatchOracle {
  loss: number;
  /** ∇ℓ at the current parameters (batch mean), length N */
  grad: Float64Array;
  batchSize: number;
  /** Curvature factors at the current parameters, computed on demand (cached per batch). */
  curvature(kind: CurvatureKind): CurvatureFactors;
  /**
   * The same curvature with J per layer (LayeredFactors), computed on demand without the r × N
   * Jacobian (cached per batch). `core` 'folded': the GGN's H folded into the factor (identity
   * core, H = L Lᵀ rank-cut as NGD-Woodbury does; the same A to rounding). Optional: absent when
   * the model has no layer structure.
   */
  layered?(kind: CurvatureKind, core?: 'block' | 'folded'): LayeredFactors;
  /**
   * The same curvature as JVP/VJP products (cached per kind; each product reruns the model's
   * passes). Optional: absent when the model has no forward-mode product.
   */
  products?(kind: CurvatureKind): CurvatureProducts;
  /**
   * Per dense layer Kronecker factors of this batch's curvature (K-FAC). Optional: absent when
   * the oracle has no layer structure; throws when the model has layers K-FAC does not cover.
   */
  kronecker?(sensitivities: KfacSensitivities, rng: SampleSource): KroneckerLayer[];
}

/** Per-step accounting that every optimizer reports, so budgets compare like with like. */
export interface StepStats {
  /** seconds of host compute spent inside the optimizer step */
  hostSeconds: number;
  /** analog time on the device, in τ (0 for digital optimizers) */
  deviceTau?: number;
  /** bytes sent to / received from a device */
  bytesOut?: number;
  bytesIn?: number;
  /** matrix-vector products or CG iterations, where meaningful */
  matvecs?: number;
}

export interface Optimizer {
  readonly name: string;
  /** Updates params in place from the batch at the current params. */
  step(params: Float64Array, batch: BatchOracle): Promise<StepStats>;
  /** JSON-serialisable state (typed arrays as plain number arrays) for checkpoints. */
  saveState(): unknown;
  loadState(state: unknown): void;
}
