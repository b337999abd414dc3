// The run configuration of `train()`: what a checkpoint stores, what --resume checks, and the
// per-optimizer default hyperparameters. Everything here is plain JSON.
import { createHash } from 'node:crypto';
import { z } from 'zod';
import { parseModelSpec, formatModelSpec, ModelSpecError } from '../models/spec.ts';
import { getOptimizerSpec, listOptimizers, parseOptimizerOptions } from '../optimizers/registry.ts';
import { OptimizerOptionsError } from '../optimizers/errors.ts';
import { TrainUsageError } from './errors.ts';

export const DEFAULT_DEVICE_URL = 'emu:';

// Messages without the field name: issues are reported as `<field>: <message>`.
const posInt = () => z.number({ error: 'must be a number' }).int('must be an integer').positive('must be ≥ 1');

export const trainConfigSchema = z
  .strictObject({
    /** model spec string, e.g. mlp:196-32-10 (stored canonical) */
    model: z.string().default('mlp:196-32-10'),
    loss: z.enum(['ce', 'mse'], { error: "loss must be 'ce' or 'mse'" }).default('ce'),
    data: z
      .strictObject({
        /** folder with the four IDX files; null = the shipped subset */
        dir: z.string().nullable().default(null),
        /** 2×2 mean-pool images on load (28×28 → 14×14) */
        downsample: z.boolean().default(false),
      })
      .default({ dir: null, downsample: false }),
    optimizer: z.string().min(1, 'optimizer name is empty'),
    /** options for the optimizer's own schema, before its defaults are applied */
    optimizerOptions: z.record(z.string(), z.unknown()).default({}),
    batch: posInt().default(32),
    /** stop after this many iterations; exclusive with epochs */
    iters: posInt().optional(),
    /** stop after this many passes over the training set (default 1 when iters is absent) */
    epochs: posInt().optional(),
    /** drives model init, batch order and the emulator seed */
    seed: z.number({ error: 'must be a number' }).int('must be an integer').min(0, 'must be ≥ 0').max(2 ** 32 - 1, 'must be < 2^32').default(1),
    evalEvery: posInt().default(50),
    checkpointEvery: posInt().default(100),
    keepCheckpoints: posInt().default(3),
    /** device URL for optimizers that need one (TNGD); emu: is the in-process emulator */
    device: z.string().min(1).default(DEFAULT_DEVICE_URL),
  })
  .superRefine((c, ctx) => {
    if (c.iters !== undefined && c.epochs !== undefined)
      ctx.addIssue({ code: 'custom', path: ['iters'], message: 'give iters or epochs, not both' });
  });

export type TrainConfigInput = z.input<typeof trainConfigSchema>;
export type TrainConfig = z.output<typeof trainConfigSchema>;

/**
 * Defaults parseTrainConfig fills in when the user leaves a hyperparameter out, chosen on the
 * shipped data (mlp:196-32-10, b = 32). The optimizer's own schema still supplies the rest.
 */
const optimizerDefaults = new Map<string, Readonly<Record<string, unknown>>>([
  ['sgd', { lr: 0.1 }],
  ['adam', { lr: 3e-3 }],
  ['ngd-exact', { lr: 0.1, damping: 0.1 }],
  ['ngd-cg', { lr: 0.1, damping: 0.1, maxIter: 20 }],
  ['ngd-woodbury', { lr: 0.1, damping: 0.1 }],
]);

/** For optimizers registered elsewhere (TNGD): the defaults train() fills in. */
export function setOptimizerDefaults(name: string, defaults: Readonly<Record<string, unknown>>): void {
  optimizerDefaults.set(name, defaults);
}

export function getOptimizerDefaults(name: string): Readonly<Record<string, unknown>> {
  return optimizerDefaults.get(name) ?? {};
}

/** The optimizer options with the run defaults filled in for keys the user left out. */
export function withOptimizerDefaults(name: string, options: Record<string, unknown>): Record<string, unknown> {
  return { ...getOptimizerDefaults(name), ...options };
}

/**
 * Validates a config: zod shape, model spec, optimizer name and options (with defaults). Every
 * problem is reported at once as a TrainUsageError. Returns the config with the model canonical.
 */
export function parseTrainConfig(input: unknown): TrainConfig {
  const r = trainConfigSchema.safeParse(input);
  const problems: string[] = [];
  if (!r.success) for (const i of r.error.issues) problems.push(i.path.length ? `${i.path.join('.')}: ${i.message}` : i.message);
  // Model and optimizer are checked even when the shape failed, so every problem shows at once.
  const raw = (typeof input === 'object' && input !== null ? input : {}) as Record<string, unknown>;
  const modelText = r.success ? r.data.model : typeof raw.model === 'string' ? raw.model : undefined;
  let model: string | undefined;
  if (modelText !== undefined) {
    try {
      model = formatModelSpec(parseModelSpec(modelText));
    } catch (e) {
      if (!(e instanceof ModelSpecError)) throw e;
      problems.push(e.message);
    }
  }
  const name = r.success ? r.data.optimizer : typeof raw.optimizer === 'string' ? raw.optimizer : undefined;
  let options: Record<string, unknown> = {};
  if (name !== undefined) {
    const given = (r.success ? r.data.optimizerOptions : raw.optimizerOptions) ?? {};
    options = withOptimizerDefaults(name, typeof given === 'object' ? (given as Record<string, unknown>) : {});
    if (!getOptimizerSpec(name)) {
      problems.push(`unknown optimizer '${name}'; available: ${listOptimizers().map((o) => o.name).join(', ')}`);
    } else {
      try {
        parseOptimizerOptions(name, options);
      } catch (e) {
        if (!(e instanceof OptimizerOptionsError)) throw e;
        problems.push(...e.problems.map((p) => `optimizer '${name}': ${p}`));
      }
    }
  }
  if (problems.length || !r.success) throw new TrainUsageError(problems);
  return { ...r.data, model: model!, optimizerOptions: options };
}

/** Fields a resumed run may change; anything else must match the checkpoint. */
export const RESUMABLE_OVERRIDES = ['iters', 'epochs', 'evalEvery', 'checkpointEvery', 'keepCheckpoints', 'device'] as const;

export type TrainConfigOverrides = Partial<Omit<TrainConfig, 'data'>> & { data?: Partial<TrainConfig['data']> };

/**
 * The saved config with the allowed overrides applied. Overrides of other fields are accepted
 * only when equal to the saved value; otherwise a TrainUsageError names each conflict.
 */
export function mergeResumeConfig(saved: TrainConfig, overrides: TrainConfigOverrides): TrainConfig {
  const out: TrainConfig = structuredClone(saved);
  const conflicts: string[] = [];
  const same = (a: unknown, b: unknown): boolean => JSON.stringify(a) === JSON.stringify(b);
  for (const [k, v] of Object.entries(overrides) as [keyof TrainConfig, unknown][]) {
    if (v === undefined) continue;
    if ((RESUMABLE_OVERRIDES as readonly string[]).includes(k)) continue;
    if (k === 'optimizerOptions') {
      for (const [ok, ov] of Object.entries(v as Record<string, unknown>)) {
        if (ov === undefined) continue;
        const sv = saved.optimizerOptions[ok];
        if (!same(sv, ov)) conflicts.push(`optimizer option ${ok}: checkpoint has ${JSON.stringify(sv) ?? '(default)'}, command line ${JSON.stringify(ov)}`);
      }
      continue;
    }
    if (k === 'data') {
      for (const [dk, dv] of Object.entries(v as Record<string, unknown>)) {
        const sv = (saved.data as Record<string, unknown>)[dk];
        if (dv !== undefined && !same(sv, dv)) conflicts.push(`data.${dk}: checkpoint has ${JSON.stringify(sv)}, command line ${JSON.stringify(dv)}`);
      }
      continue;
    }
    let cmp = v;
    if (k === 'model' && typeof v === 'string') {
      try {
        cmp = formatModelSpec(parseModelSpec(v));
      } catch {
        /* reported as a conflict below */
      }
    }
    if (!same(saved[k], cmp)) conflicts.push(`${k}: checkpoint has ${JSON.stringify(saved[k])}, command line ${JSON.stringify(v)}`);
  }
  if (conflicts.length) throw new TrainUsageError(conflicts.map((c) => `--resume: ${c} (start a new run, or drop the option)`));
  if (overrides.iters !== undefined) {
    out.iters = overrides.iters;
    delete out.epochs;
  }
  if (overrides.epochs !== undefined) {
    out.epochs = overrides.epochs;
    delete out.iters;
  }
  for (const k of ['evalEvery', 'checkpointEvery', 'keepCheckpoints', 'device'] as const) {
    const v = overrides[k];
    if (v !== undefined) (out as Record<string, unknown>)[k] = v;
  }
  return parseTrainConfig(out);
}

/** Total iterations of a run: iters, or epochs × batches per epoch (1 epoch by default). */
export function totalIterations(cfg: TrainConfig, batchesPerEpoch: number): number {
  if (cfg.iters !== undefined) return cfg.iters;
  return (cfg.epochs ?? 1) * batchesPerEpoch;
}

/**
 * The device URL without its ?secret= (a secret must not reach config.json, checkpoints or
 * reports) and the secret it held, if any.
 */
export function splitDeviceSecret(url: string): { url: string; secret?: string } {
  const m = /[?&]secret=([^&#]*)/i.exec(url);
  if (!m) return { url };
  let rest = url.slice(0, m.index) + url.slice(m.index + m[0].length);
  // the parameter after a removed first one takes its '?'
  if (url[m.index] === '?') rest = rest.replace(/^([^?#]*)&/, '$1?');
  return { url: rest, secret: decodeURIComponent(m[1]) };
}

/** Settings that change what a run computes; the rest (logging cadence, retention) do not. */
const RESULT_NEUTRAL = ['evalEvery', 'checkpointEvery', 'keepCheckpoints'] as const;

/** A short stable hash of a config's result-changing settings (the device URL without its secret). */
export function configHash(cfg: TrainConfig): string {
  const c: Record<string, unknown> = { ...cfg, device: splitDeviceSecret(cfg.device).url };
  for (const k of RESULT_NEUTRAL) delete c[k];
  return createHash('sha256').update(sortedKeyJson(c)).digest('hex').slice(0, 8);
}

/** JSON with object keys sorted, so equal configs hash equally whatever order they were built in (floats allowed, unlike the protocol's canonicalJson). */
export function sortedKeyJson(v: unknown): string {
  if (Array.isArray(v)) return `[${v.map(sortedKeyJson).join(',')}]`;
  if (v && typeof v === 'object')
    return `{${Object.keys(v)
      .filter((k) => (v as Record<string, unknown>)[k] !== undefined)
      .sort()
      .map((k) => `${JSON.stringify(k)}:${sortedKeyJson((v as Record<string, unknown>)[k])}`)
      .join(',')}}`;
  return JSON.stringify(v);
}

/**
 * A file-name-safe, timestamp-free name for a run: the same command gives the same folder, and
 * runs that differ in any result-changing setting (--lr, --lambda, --device, the data, …) get
 * different ones through the hash suffix.
 */
export function defaultRunName(cfg: TrainConfig): string {
  const len = cfg.iters !== undefined ? `i${cfg.iters}` : `e${cfg.epochs ?? 1}`;
  return sanitize(`train-${cfg.optimizer}-${cfg.model}-b${cfg.batch}-${len}-s${cfg.seed}-${configHash(cfg)}`);
}

export function sanitize(s: string): string {
  return s.replace(/[^A-Za-z0-9._+-]+/g, '_').replace(/^[._]+/, '').slice(0, 160);
}
