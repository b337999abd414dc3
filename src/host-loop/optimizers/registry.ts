// Name → optimizer factory with zod-validated options. TNGD registers itself the same way
// (registerOptimizer(tngdSpec)) from its own module.
import type { z } from 'zod';
import type { Optimizer } from '../types.ts';
import { DirectionOptimizer, GradientDirection } from './direction.ts';
import { OptimizerOptionsError } from './errors.ts';
import {
  NgdCgDirection,
  NgdExactDirection,
  NgdWoodburyDirection,
  ngdCgOptionsSchema,
  ngdExactOptionsSchema,
  ngdWoodburyOptionsSchema,
} from './ngd.ts';
import { KfacDirection, kfacOptionsSchema } from './kfac.ts';
import { AdamRule, SgdRule, adamRuleOptionsSchema, createUpdateRule, sgdRuleOptionsSchema } from './update-rules.ts';

export interface OptimizerSpec<S extends z.ZodType = z.ZodType> {
  name: string;
  description: string;
  /** validates and fills defaults; should be a strict object so typos are reported */
  schema: S;
  /** `context` carries run-time handles that are not options (e.g. a connected device for TNGD). */
  create(options: z.output<S>, context: OptimizerContext): Optimizer;
}

export type OptimizerContext = Readonly<Record<string, unknown>>;

const registry = new Map<string, OptimizerSpec>();

export function registerOptimizer<S extends z.ZodType>(spec: OptimizerSpec<S>): void {
  if (registry.has(spec.name)) throw new Error(`optimizer '${spec.name}' is already registered`);
  registry.set(spec.name, spec as unknown as OptimizerSpec);
}

export function listOptimizers(): { name: string; description: string }[] {
  return [...registry.values()].map((s) => ({ name: s.name, description: s.description }));
}

export function getOptimizerSpec(name: string): OptimizerSpec | undefined {
  return registry.get(name);
}

/** Parses options with the optimizer's schema; throws OptimizerOptionsError listing every problem. */
export function parseOptimizerOptions(name: string, options: unknown): unknown {
  const spec = registry.get(name);
  if (!spec) throw new OptimizerOptionsError(name, [`unknown optimizer; available: ${[...registry.keys()].join(', ')}`]);
  const r = spec.schema.safeParse(options ?? {});
  if (!r.success) throw OptimizerOptionsError.fromZod(name, r.error);
  return r.data;
}

export function createOptimizer(name: string, options: unknown, context: OptimizerContext = {}): Optimizer {
  const parsed = parseOptimizerOptions(name, options);
  return registry.get(name)!.create(parsed, context);
}

function nesterovNeedsMomentum(o: { nesterov: boolean; momentum: number }, ctx: z.RefinementCtx): void {
  if (o.nesterov && o.momentum === 0) ctx.addIssue({ code: 'custom', path: ['nesterov'], message: 'nesterov needs momentum > 0' });
}

function decayNeedsWarmStart(o: { warmStart: boolean; warmDecay: number }, ctx: z.RefinementCtx): void {
  if (!o.warmStart && o.warmDecay !== 1) ctx.addIssue({ code: 'custom', path: ['warmDecay'], message: 'warmDecay needs warmStart: true' });
}

registerOptimizer({
  name: 'sgd',
  description: 'stochastic gradient descent with optional (Nesterov) momentum and weight decay',
  schema: sgdRuleOptionsSchema.superRefine(nesterovNeedsMomentum),
  create: (o) => new DirectionOptimizer('sgd', new GradientDirection(), new SgdRule(o)),
});

registerOptimizer({
  name: 'adam',
  description: 'Adam with bias correction',
  schema: adamRuleOptionsSchema,
  create: (o) => new DirectionOptimizer('adam', new GradientDirection(), new AdamRule(o)),
});

registerOptimizer({
  name: 'ngd-exact',
  description: 'exact damped natural gradient (dense Cholesky, small N only)',
  schema: ngdExactOptionsSchema.superRefine(nesterovNeedsMomentum),
  create: (o) => new DirectionOptimizer('ngd-exact', new NgdExactDirection(o.damping, o.curvature, o.maxParams), createUpdateRule(o.inner, o)),
});

registerOptimizer({
  name: 'ngd-cg',
  description: 'damped natural gradient by matrix-free conjugate gradient',
  schema: ngdCgOptionsSchema.superRefine(nesterovNeedsMomentum).superRefine(decayNeedsWarmStart),
  create: (o) =>
    new DirectionOptimizer('ngd-cg', new NgdCgDirection(o.damping, o.curvature, o.tol, o.maxIter, o.warmStart, o.warmDecay, o.curvatureForm), createUpdateRule(o.inner, o)),
});

registerOptimizer({
  name: 'ngd-woodbury',
  description: 'damped natural gradient through the Woodbury identity on the factored curvature',
  schema: ngdWoodburyOptionsSchema.superRefine(nesterovNeedsMomentum),
  create: (o) => new DirectionOptimizer('ngd-woodbury', new NgdWoodburyDirection(o.damping, o.curvature, o.curvatureForm), createUpdateRule(o.inner, o)),
});

registerOptimizer({
  name: 'kfac',
  description: 'K-FAC: per-layer Kronecker-factored natural gradient (dense layers; GGN or sampled sensitivities, factored or exact damping)',
  schema: kfacOptionsSchema.superRefine(nesterovNeedsMomentum),
  create: (o, ctx) => new DirectionOptimizer('kfac', new KfacDirection(o, typeof ctx.seed === 'number' ? ctx.seed : 0), createUpdateRule(o.inner, o)),
});
