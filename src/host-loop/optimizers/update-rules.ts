// "direction → update": an UpdateRule turns a search direction (a gradient, a natural gradient,
// or a device readout for TNGD) into a parameter update. SGD and Adam live here once and are
// shared by the digital baselines, the NGD variants and TNGD / TNGD-Adam.
import { z } from 'zod';
import { ShapeError } from '../linalg/errors.ts';
import { OptimizerStateError } from './errors.ts';
import { loadVec, parseState, saveVec, vecSchema } from './state-codec.ts';

export interface UpdateRule {
  readonly kind: 'sgd' | 'adam';
  /** params ← params − (update computed from direction); in place, no allocation after the first call. */
  apply(params: Float64Array, direction: Float64Array): void;
  saveState(): unknown;
  loadState(state: unknown): void;
}

const nonNeg = (name: string) => z.number({ error: `${name} must be a number` }).finite().min(0, `${name} must be ≥ 0`);

export const sgdRuleOptionsSchema = z.strictObject({
  lr: z.number({ error: 'lr must be a number' }).finite().positive('lr (learning rate η) must be > 0'),
  momentum: nonNeg('momentum').max(0.999999, 'momentum must be < 1').default(0),
  nesterov: z.boolean().default(false),
  weightDecay: nonNeg('weightDecay').default(0),
});
export type SgdRuleOptions = z.infer<typeof sgdRuleOptionsSchema>;

export const adamRuleOptionsSchema = z.strictObject({
  lr: z.number({ error: 'lr must be a number' }).finite().positive('lr (learning rate η) must be > 0'),
  beta1: nonNeg('beta1').max(0.999999, 'beta1 must be < 1').default(0.9),
  beta2: nonNeg('beta2').max(0.999999999, 'beta2 must be < 1').default(0.999),
  eps: z.number({ error: 'eps must be a number' }).finite().positive('eps must be > 0 (a zero direction would give 0/0)').default(1e-8),
  biasCorrection: z.boolean().default(true),
  weightDecay: nonNeg('weightDecay').default(0),
});
export type AdamRuleOptions = z.infer<typeof adamRuleOptionsSchema>;

function checkLength(params: Float64Array, direction: Float64Array): void {
  if (params.length !== direction.length)
    throw new ShapeError(`direction has length ${direction.length}, parameters ${params.length}`);
}

const sgdStateSchema = z.strictObject({ kind: z.literal('sgd'), buf: vecSchema });

/**
 * SGD with optional heavy-ball or Nesterov momentum and coupled weight decay (PyTorch semantics,
 * no dampening): d = dir + wd·θ; buf = μ·buf + d; θ −= lr·(nesterov ? d + μ·buf : buf).
 */
export class SgdRule implements UpdateRule {
  readonly kind = 'sgd' as const;
  readonly opts: SgdRuleOptions;
  private buf: Float64Array | null = null;

  constructor(opts: SgdRuleOptions) {
    if (opts.nesterov && opts.momentum === 0) throw new ShapeError('Nesterov momentum needs momentum > 0');
    this.opts = opts;
  }

  apply(params: Float64Array, direction: Float64Array): void {
    checkLength(params, direction);
    const { lr, momentum: mu, nesterov, weightDecay: wd } = this.opts;
    const n = params.length;
    if (mu === 0) {
      for (let i = 0; i < n; i++) params[i] -= lr * (direction[i] + wd * params[i]);
      return;
    }
    if (this.buf === null || this.buf.length !== n) this.buf = new Float64Array(n);
    const buf = this.buf;
    for (let i = 0; i < n; i++) {
      const d = direction[i] + wd * params[i];
      const b = mu * buf[i] + d;
      buf[i] = b;
      params[i] -= lr * (nesterov ? d + mu * b : b);
    }
  }

  saveState(): unknown {
    return { kind: 'sgd', buf: saveVec(this.buf) };
  }

  loadState(state: unknown): void {
    const s = parseState(sgdStateSchema, state, 'SGD update rule');
    this.buf = loadVec(s.buf, 'SGD momentum buffer');
  }
}

const adamStateSchema = z.strictObject({
  kind: z.literal('adam'),
  t: z.number().int().min(0),
  m: vecSchema,
  v: vecSchema,
});

/**
 * Adam (Kingma & Ba) with coupled L2 weight decay: m, v are the first and second moment EMAs,
 * θ −= lr·m̂/(√v̂ + ε) with m̂ = m/(1−β₁ᵗ), v̂ = v/(1−β₂ᵗ) when biasCorrection is on.
 * With β₁ = β₂ = 0 (TNGD-Adam in the paper) the step is ≈ lr·sign(direction).
 */
export class AdamRule implements UpdateRule {
  readonly kind = 'adam' as const;
  readonly opts: AdamRuleOptions;
  private t = 0;
  private m: Float64Array | null = null;
  private v: Float64Array | null = null;

  constructor(opts: AdamRuleOptions) {
    this.opts = opts;
  }

  /** number of updates applied so far */
  get steps(): number {
    return this.t;
  }

  apply(params: Float64Array, direction: Float64Array): void {
    checkLength(params, direction);
    const { lr, beta1: b1, beta2: b2, eps, biasCorrection, weightDecay: wd } = this.opts;
    const n = params.length;
    if (this.m === null || this.m.length !== n) this.m = new Float64Array(n);
    if (this.v === null || this.v.length !== n) this.v = new Float64Array(n);
    const m = this.m;
    const v = this.v;
    this.t++;
    const c1 = biasCorrection ? 1 - Math.pow(b1, this.t) : 1;
    const c2 = biasCorrection ? 1 - Math.pow(b2, this.t) : 1;
    for (let i = 0; i < n; i++) {
      const g = direction[i] + wd * params[i];
      const mi = b1 * m[i] + (1 - b1) * g;
      const vi = b2 * v[i] + (1 - b2) * g * g;
      m[i] = mi;
      v[i] = vi;
      params[i] -= (lr * (mi / c1)) / (Math.sqrt(vi / c2) + eps);
    }
  }

  saveState(): unknown {
    return { kind: 'adam', t: this.t, m: saveVec(this.m), v: saveVec(this.v) };
  }

  loadState(state: unknown): void {
    const s = parseState(adamStateSchema, state, 'Adam update rule');
    const m = loadVec(s.m, 'Adam first moment');
    const v = loadVec(s.v, 'Adam second moment');
    if ((m === null) !== (v === null) || (m !== null && v !== null && m.length !== v.length))
      throw new OptimizerStateError('Adam state has mismatched moment vectors');
    this.t = s.t;
    this.m = m;
    this.v = v;
  }
}

/** Inner-optimizer choice shared by every "direction" optimizer (NGD variants, TNGD). */
export const innerRuleSchema = z.enum(['sgd', 'adam']);

/** Builds the rule from the flat option bag of a direction optimizer. */
export function createUpdateRule(
  inner: 'sgd' | 'adam',
  o: { lr: number; momentum: number; nesterov: boolean; weightDecay: number; beta1: number; beta2: number; eps: number; biasCorrection: boolean },
): UpdateRule {
  return inner === 'sgd'
    ? new SgdRule({ lr: o.lr, momentum: o.momentum, nesterov: o.nesterov, weightDecay: o.weightDecay })
    : new AdamRule({ lr: o.lr, beta1: o.beta1, beta2: o.beta2, eps: o.eps, biasCorrection: o.biasCorrection, weightDecay: o.weightDecay });
}
