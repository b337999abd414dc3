// Natural-gradient directions x = (F + λI)⁻¹ g with F = scale·Jᵀ H J from batch.curvature(kind).
import { z } from 'zod';
import { CgWorkspace, conjugateGradient } from '../linalg/cg.ts';
import type { CgResult } from '../linalg/cg.ts';
import { choleskyInPlace, choleskySolve, formDenseCurvature } from '../linalg/dense.ts';
import { ShapeError } from '../linalg/errors.ts';
import { FactoredOperator } from '../linalg/factored.ts';
import { LayeredOperator } from '../linalg/layered.ts';
import { ProductOperator } from '../linalg/products.ts';
import { WoodburySolver } from '../linalg/woodbury.ts';
import { LayeredWoodburySolver } from '../linalg/woodbury-layered.ts';
import type { BatchOracle, CurvatureFactors, CurvatureKind, CurvatureProducts, LayeredFactors } from '../types.ts';
import type { DirectionSource, DirectionStats } from './direction.ts';
import { OptimizerLimitError, OptimizerStateError } from './errors.ts';
import { loadVec, parseState, saveVec, vecSchema } from './state-codec.ts';
import { innerRuleSchema } from './update-rules.ts';

const num = (name: string) => z.number({ error: `${name} must be a number` }).finite(`${name} must be finite`);

/**
 * Options every natural-gradient-style optimizer shares (NGD variants and, later, TNGD):
 * the damping, the curvature kind and the inner update rule with its hyperparameters.
 */
export const directionOptimizerBaseShape = {
  lr: num('lr').positive('lr (learning rate η) must be > 0'),
  inner: innerRuleSchema.default('sgd'),
  momentum: num('momentum').min(0, 'momentum must be ≥ 0').max(0.999999, 'momentum must be < 1').default(0),
  nesterov: z.boolean().default(false),
  weightDecay: num('weightDecay').min(0, 'weightDecay must be ≥ 0').default(0),
  beta1: num('beta1').min(0, 'beta1 must be ≥ 0').max(0.999999, 'beta1 must be < 1').default(0.9),
  beta2: num('beta2').min(0, 'beta2 must be ≥ 0').max(0.999999999, 'beta2 must be < 1').default(0.999),
  eps: num('eps').positive('eps must be > 0 (a zero direction would give 0/0)').default(1e-8),
  biasCorrection: z.boolean().default(true),
};

export const ngdBaseShape = {
  ...directionOptimizerBaseShape,
  damping: num('damping').positive('damping λ must be > 0 (A = F + λI must be positive definite)'),
  curvature: z.enum(['ggn', 'ef'], { error: "curvature must be 'ggn' or 'ef'" }).default('ggn'),
};

/**
 * How J reaches the solver (and TNGD's device): 'layered' per layer (dense layers as inputs ⊗
 * sensitivities, never the r × N Jacobian; needs a model that emits them), 'explicit' the r × N
 * J, 'auto' layered when the batch offers it.
 */
export const curvatureFormSchema = z
  .enum(['auto', 'explicit', 'layered'], { error: "curvatureForm must be 'auto', 'explicit' or 'layered'" })
  .default('auto');
export type CurvatureForm = z.infer<typeof curvatureFormSchema>;

/**
 * NGD-CG's forms: the shared ones plus 'jvp', products through the model's JVP/VJP passes (no
 * Jacobian rows or blocks at all). Under 'auto' and 'layered' a model whose layered form would
 * carry explicit conv blocks takes the products instead; dense-only models stay layered.
 */
export const ngdCgCurvatureFormSchema = z
  .enum(['auto', 'explicit', 'layered', 'jvp'], { error: "curvatureForm must be 'auto', 'explicit', 'layered' or 'jvp'" })
  .default('auto');
export type NgdCgCurvatureForm = z.infer<typeof ngdCgCurvatureFormSchema>;

/** The JVP/VJP products NGD-CG uses under `form`, or null for the layered or explicit path. */
export function productsFor(batch: BatchOracle, kind: CurvatureKind, n: number, form: NgdCgCurvatureForm): CurvatureProducts | null {
  if (form === 'explicit') return null;
  if (!batch.products) {
    if (form === 'jvp') throw new OptimizerLimitError(`ngd-cg: curvatureForm 'jvp' needs a model with JVP/VJP products (this batch has none); use 'auto' or 'explicit'`);
    return null;
  }
  const p = batch.products(kind);
  if (p.n !== n) throw new ShapeError(`curvature has n = ${p.n}, parameters ${n}`);
  // dense-only models: the layered products are cheaper than two passes
  if (form !== 'jvp' && p.explicitLayers === 0) return null;
  return p;
}

/** The layered factors to use under `form`, or null for the explicit path. */
export function layeredFor(batch: BatchOracle, kind: CurvatureKind, n: number, form: CurvatureForm, who: string): LayeredFactors | null {
  if (form === 'explicit') return null;
  if (!batch.layered) {
    if (form === 'layered') throw new OptimizerLimitError(`${who}: curvatureForm 'layered' needs a model that emits per-layer factors (this batch has none); use 'auto' or 'explicit'`);
    return null;
  }
  const f = batch.layered(kind);
  if (f.n !== n) throw new ShapeError(`curvature has n = ${f.n}, parameters ${n}`);
  return f;
}

/** Hard ceiling for exact NGD: an N×N matrix of 8192² doubles is 512 MiB. */
export const NGD_EXACT_MAX_PARAMS_LIMIT = 8192;

export const ngdExactOptionsSchema = z.strictObject({
  ...ngdBaseShape,
  maxParams: z
    .number()
    .int('maxParams must be an integer')
    .positive()
    .max(NGD_EXACT_MAX_PARAMS_LIMIT, `maxParams must be ≤ ${NGD_EXACT_MAX_PARAMS_LIMIT} (dense N×N memory)`)
    .default(2048),
});
export const ngdCgOptionsSchema = z.strictObject({
  ...ngdBaseShape,
  tol: num('tol').positive('tol must be > 0').max(1, 'tol must be ≤ 1').default(1e-6),
  maxIter: z.number().int('maxIter must be an integer').positive('maxIter must be ≥ 1').default(100),
  warmStart: z.boolean().default(false),
  /**
   * Warm start from warmDecay·x_prev (with warmStart; default 1 = the plain previous solution).
   * warmDecay = e^{−λt} is the control for TNGD's carried device state: outside the current
   * batch's curvature the carried state decays as e^{−λt} over a run of length t.
   */
  warmDecay: num('warmDecay').min(0, 'warmDecay must be in [0, 1]').max(1, 'warmDecay must be in [0, 1]').default(1),
  curvatureForm: ngdCgCurvatureFormSchema,
});
export const ngdWoodburyOptionsSchema = z.strictObject({ ...ngdBaseShape, curvatureForm: curvatureFormSchema });

export type NgdExactOptions = z.infer<typeof ngdExactOptionsSchema>;
export type NgdCgOptions = z.infer<typeof ngdCgOptionsSchema>;
export type NgdWoodburyOptions = z.infer<typeof ngdWoodburyOptionsSchema>;

function curvatureFor(batch: BatchOracle, kind: CurvatureKind, n: number): CurvatureFactors {
  const f = batch.curvature(kind);
  if (f.n !== n) throw new ShapeError(`curvature has n = ${f.n}, parameters ${n}`);
  return f;
}

function noState(state: unknown, what: string): void {
  if (state !== null) throw new OptimizerStateError(`${what} direction has no state; expected null`);
}

/** Exact damped NGD: forms A densely and factors it by Cholesky. O(N³ + r·N²) time, N² memory. */
export class NgdExactDirection implements DirectionSource {
  private a = new Float64Array(0);
  constructor(
    private readonly lambda: number,
    private readonly kind: CurvatureKind,
    private readonly maxParams: number,
  ) {}

  compute(params: Float64Array, batch: BatchOracle, out: Float64Array): DirectionStats {
    const n = params.length;
    if (n > this.maxParams)
      throw new OptimizerLimitError(
        `ngd-exact forms a dense N×N curvature: N = ${n} exceeds maxParams = ${this.maxParams} ` +
          `(${((n * n * 8) / 2 ** 20).toFixed(0)} MiB, ~N³/3 = ${((n ** 3) / 3).toExponential(1)} flops per step); use ngd-woodbury or ngd-cg`,
      );
    const f = curvatureFor(batch, this.kind, n);
    if (this.a.length !== n * n) this.a = new Float64Array(n * n);
    formDenseCurvature(f, this.lambda, this.a);
    choleskyInPlace(this.a, n, `damped curvature F + λI (λ = ${this.lambda})`);
    choleskySolve(this.a, n, batch.grad, out);
    return {};
  }
  saveState(): unknown {
    return null;
  }
  loadState(state: unknown): void {
    noState(state, 'ngd-exact');
  }
}

const cgStateSchema = z.strictObject({ prev: vecSchema });

/** Matrix-free damped CG on the factored operator; optional warm start from the last solution. */
export class NgdCgDirection implements DirectionSource {
  private ws: CgWorkspace | null = null;
  private prev: Float64Array | null = null;
  /** result of the most recent solve, for diagnostics */
  lastSolve: CgResult | null = null;

  constructor(
    private readonly lambda: number,
    private readonly kind: CurvatureKind,
    private readonly tol: number,
    private readonly maxIter: number,
    private readonly warmStart: boolean,
    private readonly warmDecay = 1,
    private readonly form: NgdCgCurvatureForm = 'auto',
  ) {}

  private operator(batch: BatchOracle, n: number): { apply(v: Float64Array, out: Float64Array): void } {
    // products (conv models, or 'jvp'): ~2 model passes per product, no Jacobian rows or blocks
    const p = productsFor(batch, this.kind, n, this.form);
    if (p) return new ProductOperator(p, this.lambda);
    // layered: each product costs O(b·N + r·Σ n_out) through the layers instead of O(r·N)
    const lf = layeredFor(batch, this.kind, n, this.form === 'jvp' ? 'auto' : this.form, 'ngd-cg');
    return lf ? new LayeredOperator(lf, this.lambda) : new FactoredOperator(curvatureFor(batch, this.kind, n), this.lambda);
  }

  compute(params: Float64Array, batch: BatchOracle, out: Float64Array): DirectionStats {
    const n = params.length;
    const op = this.operator(batch, n);
    if (this.ws === null || this.ws.n !== n) this.ws = new CgWorkspace(n);
    if (this.warmStart && this.prev !== null && this.prev.length === n) {
      const prev = this.prev;
      const c = this.warmDecay;
      if (c === 1) out.set(prev);
      else for (let i = 0; i < n; i++) out[i] = c * prev[i];
    } else out.fill(0);
    const res = conjugateGradient((v, o) => op.apply(v, o), batch.grad, out, { tol: this.tol, maxIter: this.maxIter }, this.ws);
    this.lastSolve = res;
    if (this.warmStart) {
      if (this.prev === null || this.prev.length !== n) this.prev = new Float64Array(n);
      this.prev.set(out);
    }
    return { matvecs: res.matvecs };
  }
  saveState(): unknown {
    return { prev: saveVec(this.prev) };
  }
  loadState(state: unknown): void {
    const s = parseState(cgStateSchema, state, 'ngd-cg direction');
    this.prev = loadVec(s.prev, 'ngd-cg warm-start vector');
  }
}

/**
 * NGD through the Woodbury identity on the factored curvature: O(r²N + r³) per step explicit;
 * layered, the r × r Gram comes from the layers (O(b²·Σ n_in + r²·Σ n_out + r³)).
 */
export class NgdWoodburyDirection implements DirectionSource {
  private readonly solver = new WoodburySolver();
  private readonly layeredSolver = new LayeredWoodburySolver();
  constructor(
    private readonly lambda: number,
    private readonly kind: CurvatureKind,
    private readonly form: CurvatureForm = 'auto',
  ) {}

  compute(params: Float64Array, batch: BatchOracle, out: Float64Array): DirectionStats {
    const lf = layeredFor(batch, this.kind, params.length, this.form, 'ngd-woodbury');
    if (lf) {
      this.layeredSolver.factor(lf, this.lambda);
      this.layeredSolver.solve(batch.grad, out);
      return {};
    }
    this.solver.factor(curvatureFor(batch, this.kind, params.length), this.lambda);
    this.solver.solve(batch.grad, out);
    return {};
  }
  saveState(): unknown {
    return null;
  }
  loadState(state: unknown): void {
    noState(state, 'ngd-woodbury');
  }
}
