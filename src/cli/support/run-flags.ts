// Run-level and hyperparameter flags shared by `tngd train` and `tngd compare`: their
// definitions (one table for the hyperparameters), their zod validation into a TrainConfig, and
// the mapping of config problems back to the flag the user typed.
import type { Command } from 'commander';
import { resolve } from 'node:path';
import { z } from 'zod';
import { getOptimizerSpec } from '../../host-loop/optimizers/registry.ts';
import { PROFILE_NAMES } from '../../emulator/index.ts';
import { DEFAULT_DEVICE_URL, type TrainConfigInput, type TrainConfigOverrides } from '../../host-loop/train/index.ts';
import { numberFrom, zodProblems } from './flags.ts';
import type { ReportOptions } from './errors.ts';
import { OptimizerOptionsError } from '../../host-loop/optimizers/errors.ts';
import { ModelDataMismatchError } from '../../host-loop/models/evaluate.ts';
import { DataFileError } from '../../host-loop/data/idx.ts';
import { LinkError } from '../../driver/transports/errors.ts';
import { DeviceTooSmallError, LinkLostError, TrainUsageError } from '../../host-loop/train/index.ts';

/** CLI flag (commander's camelCase key) → optimizer option key. */
export const HYPERPARAMETER_FLAGS: Readonly<Record<string, { key: string; flag: string; kind: 'num' | 'int' | 'str' | 'bool' }>> = {
  lr: { key: 'lr', flag: '--lr', kind: 'num' },
  momentum: { key: 'momentum', flag: '--momentum', kind: 'num' },
  beta1: { key: 'beta1', flag: '--beta1', kind: 'num' },
  beta2: { key: 'beta2', flag: '--beta2', kind: 'num' },
  eps: { key: 'eps', flag: '--eps', kind: 'num' },
  weightDecay: { key: 'weightDecay', flag: '--weight-decay', kind: 'num' },
  lambda: { key: 'damping', flag: '--lambda', kind: 'num' },
  curvature: { key: 'curvature', flag: '--curvature', kind: 'str' },
  curvatureForm: { key: 'curvatureForm', flag: '--curvature-form', kind: 'str' },
  inner: { key: 'inner', flag: '--inner', kind: 'str' },
  cgIters: { key: 'maxIter', flag: '--cg-iters', kind: 'int' },
  cgTol: { key: 'tol', flag: '--cg-tol', kind: 'num' },
  tTau: { key: 'tTau', flag: '--t-tau', kind: 'num' },
  kappa0: { key: 'kappa0', flag: '--kappa0', kind: 'num' },
  integrator: { key: 'integrator', flag: '--integrator', kind: 'str' },
  dt: { key: 'dt', flag: '--dt', kind: 'num' },
  start: { key: 'start', flag: '--start', kind: 'str' },
  delay: { key: 'delay', flag: '--delay', kind: 'num' },
  readout: { key: 'readout', flag: '--readout', kind: 'str' },
  pipelined: { key: 'pipelined', flag: '--pipelined', kind: 'bool' },
};

export function addHyperparameterOptions(cmd: Command): Command {
  return cmd
    .option('--lr <η>', 'learning rate (default per optimizer: sgd 0.1, adam 3e-3, ngd-* 0.1, tngd 0.1, tngd-adam 3e-3)')
    .option('--momentum <μ>', 'SGD momentum (sgd, and the SGD rule of ngd-*/tngd)')
    .option('--beta1 <β1>', 'Adam β1 (adam, tngd-adam, and --inner adam)')
    .option('--beta2 <β2>', 'Adam β2')
    .option('--eps <ε>', 'Adam ε')
    .option('--weight-decay <w>', 'L2 weight decay')
    .option('--lambda <λ>', 'damping λ of the curvature A = F + λI (ngd-*, tngd; default 0.1)')
    .option('--curvature <kind>', 'ggn | ef (generalised Gauss-Newton or empirical Fisher; default ggn)')
    .option('--curvature-form <form>', 'auto | explicit | layered | jvp: J per layer (the host never writes the r × N Jacobian), explicit, or (ngd-cg only) JVP/VJP products, which ngd-cg takes for conv models under auto and layered (ngd-cg, ngd-woodbury, tngd; default auto)')
    .option('--inner <rule>', 'update rule applied to the NGD direction: sgd | adam')
    .option('--cg-iters <n>', 'CG iterations per step (ngd-cg; default 20)')
    .option('--cg-tol <tol>', 'CG relative residual tolerance (ngd-cg)')
    .option('--t-tau <t>', 'analog run time per step in τ (tngd)')
    .option('--kappa0 <κ0>', 'device noise strength κ₀ (tngd)')
    .option('--integrator <kind>', 'euler | exact (tngd, emulator)')
    .option('--dt <δt>', 'Euler step in τ (tngd, --integrator euler)')
    .option('--start <mode>', 'carry | reset | gradient: device state at the start of each run (tngd)')
    .option('--delay <t_d>', 'delay t_d in τ: the device keeps evolving under the previous system (tngd)')
    .option('--readout <kind>', 'mean | final (tngd)')
    .option('--profile <name>', 'emulator profile, e.g. ideal | prototype (tngd on emu:)')
    .option('--pipelined', 'overlap the device run with the next gradient (tngd)')
    .option('--set <key=value...>', 'any other optimizer option, e.g. --set nesterov=true (compare: adam.lr=0.003)');
}

export function addRunOptions(cmd: Command): Command {
  return cmd
    .option('--model <spec>', 'model, e.g. mlp:196-32-10, softmax:196-10, conv:14x14x1-c4k3s2-32-10 (default mlp:196-32-10)')
    .option('--loss <kind>', 'ce | mse (default ce)')
    .option('--batch <b>', 'mini-batch size (default 32)')
    .option('--epochs <n>', 'passes over the training set (default 1)')
    .option('--iters <n>', 'iterations (instead of --epochs)')
    .option('--data <dir>', 'folder with the four MNIST-format IDX files, raw or .gz (default: the shipped 14×14 Fashion-MNIST subset)')
    .option('--downsample', '2×2 mean-pool the images (28×28 → 14×14)')
    .option('--eval-every <k>', 'evaluate on the test set every k iterations (default 50)')
    .option('--checkpoint-every <k>', 'checkpoint every k iterations (default 100)')
    .option('--keep-checkpoints <k>', 'checkpoints kept per run (default 3)')
    .option('--device <url>', `device for TNGD: emu:[?seed=&profile=&dacBits=&adcBits=&mismatch=], tcp://host:port, serial:///dev/tty… (default ${DEFAULT_DEVICE_URL}, the in-process emulator)`)
    .option('--json', 'print the result as JSON on stdout instead of a table')
    .option('--no-progress', 'no progress bar (it is shown only when stderr is a terminal anyway)');
}

/** The run-level flags as commander hands them over (strings), validated and converted. */
export const runFlagsSchema = z.object({
  model: z.string().optional(),
  loss: z.enum(['ce', 'mse'], { error: "--loss: expected 'ce' or 'mse'" }).optional(),
  batch: numberFrom('--batch', true).optional(),
  epochs: numberFrom('--epochs', true).optional(),
  iters: numberFrom('--iters', true).optional(),
  seed: numberFrom('--seed', true).optional(),
  data: z.string().optional(),
  downsample: z.boolean().optional(),
  evalEvery: numberFrom('--eval-every', true).optional(),
  checkpointEvery: numberFrom('--checkpoint-every', true).optional(),
  keepCheckpoints: numberFrom('--keep-checkpoints', true).optional(),
  device: z.string().optional(),
  profile: z.enum(PROFILE_NAMES as [string, ...string[]], { error: `--profile: expected one of ${PROFILE_NAMES.join(', ')}` }).optional(),
});

/** `--set k=v` values: numbers, booleans, else strings. */
function parseSetValue(v: string): unknown {
  if (v === 'true') return true;
  if (v === 'false') return false;
  if (v.trim() !== '' && Number.isFinite(Number(v))) return Number(v);
  return v;
}

/** Problems are appended to `problems`; the pairs that parse are returned. */
export function parseSetPairs(pairs: string[] | undefined, problems: string[]): { key: string; value: unknown }[] {
  const out: { key: string; value: unknown }[] = [];
  for (const p of pairs ?? []) {
    const i = p.indexOf('=');
    if (i <= 0) problems.push(`--set: expected key=value, got '${p}'`);
    else out.push({ key: p.slice(0, i), value: parseSetValue(p.slice(i + 1)) });
  }
  return out;
}

/** Hyperparameter flags given on the command line, as optimizer option keys (bad ones → problems). */
export function hyperparametersFromFlags(flags: Record<string, unknown>, problems: string[]): Record<string, { value: unknown; flag: string }> {
  const out: Record<string, { value: unknown; flag: string }> = {};
  for (const [k, spec] of Object.entries(HYPERPARAMETER_FLAGS)) {
    const raw = flags[k];
    if (raw === undefined) continue;
    if (spec.kind === 'bool') out[spec.key] = { value: raw === true, flag: spec.flag };
    else if (spec.kind === 'str') out[spec.key] = { value: String(raw), flag: spec.flag };
    else {
      const r = numberFrom(spec.flag, spec.kind === 'int').safeParse(String(raw));
      if (r.success) out[spec.key] = { value: r.data, flag: spec.flag };
      else problems.push(...zodProblems(r.error));
    }
  }
  return out;
}

/** Option keys an optimizer's schema accepts (its zod object shape), or null if unknown. */
export function optimizerOptionKeys(name: string): string[] | null {
  const schema = getOptimizerSpec(name)?.schema as unknown as { shape?: Record<string, unknown> } | undefined;
  return schema?.shape ? Object.keys(schema.shape) : null;
}

/** Flag spelling of an optimizer option key, for messages. */
export function flagForKey(key: string): string {
  for (const s of Object.values(HYPERPARAMETER_FLAGS)) if (s.key === key) return s.flag;
  return `--set ${key}=…`;
}

export interface RunFlags {
  base: Omit<TrainConfigInput, 'optimizer' | 'optimizerOptions' | 'seed'>;
  /** only what the user gave, for --resume checks */
  given: TrainConfigOverrides;
  seed?: number;
}

/**
 * Run-level flags → config fields; only flags the user gave appear in `given`. Bad flags are
 * reported in `problems` and left out, so later checks can still report theirs.
 */
export function runConfigFromFlags(flags: Record<string, unknown>, problems: string[]): RunFlags {
  let r = runFlagsSchema.safeParse(flags);
  if (!r.success) {
    problems.push(...zodProblems(r.error));
    const rest = { ...flags };
    for (const i of r.error.issues) delete rest[String(i.path[0])];
    r = runFlagsSchema.safeParse(rest);
    if (!r.success) return { base: {}, given: {} };
  }
  const f = r.data;
  if (f.iters !== undefined && f.epochs !== undefined) problems.push('--iters and --epochs: give one, not both');
  let device = f.device;
  if (f.profile !== undefined) {
    const url = device ?? DEFAULT_DEVICE_URL;
    if (!url.startsWith('emu:')) problems.push(`--profile applies to the emulator (emu:), not to ${url}`);
    else if (/[?&]profile=/.test(url)) problems.push('--profile: the --device URL already names a profile');
    else device = `${url}${url.includes('?') ? '&' : '?'}profile=${f.profile}`;
  }
  const given: TrainConfigOverrides = {
    model: f.model,
    loss: f.loss,
    batch: f.batch,
    iters: f.iters,
    epochs: f.epochs,
    evalEvery: f.evalEvery,
    checkpointEvery: f.checkpointEvery,
    keepCheckpoints: f.keepCheckpoints,
    device,
    seed: f.seed,
  };
  if (f.data !== undefined || f.downsample !== undefined)
    given.data = { ...(f.data !== undefined ? { dir: resolve(f.data) } : {}), ...(f.downsample !== undefined ? { downsample: f.downsample } : {}) };
  const base = Object.fromEntries(Object.entries(given).filter(([k, v]) => v !== undefined && k !== 'seed')) as RunFlags['base'];
  if (given.data) base.data = { dir: given.data.dir ?? null, downsample: given.data.downsample ?? false };
  return { base, given, seed: f.seed };
}

/** Maps a config error message about an option key back to the flag the user typed. */
export function flagifyProblems(problems: string[], optimizer: string): string[] {
  return problems.map((p) => {
    const unknown = /unknown options? (.+)$/.exec(p);
    if (unknown) {
      const keys = [...unknown[1].matchAll(/'([^']+)'/g)].map((m) => m[1]);
      const accepted = optimizerOptionKeys(optimizer) ?? [];
      return `${keys.map(flagForKey).join(', ')} ${keys.length > 1 ? 'do' : 'does'} not apply to optimizer '${optimizer}' (it takes ${accepted.map(flagForKey).join(', ')})`;
    }
    const m = /^optimizer '[^']+': ([A-Za-z0-9]+): (.*)$/.exec(p);
    if (m) return `${flagForKey(m[1])}: ${m[2]}`;
    return p;
  });
}


/** How train and compare word their errors: option keys as flags, hints that name the fix. */
export function runReportOptions(optimizer?: string): ReportOptions {
  return {
    problems: (e) => {
      if (e instanceof OptimizerOptionsError) return flagifyProblems(e.problems.map((p) => `optimizer '${e.optimizer}': ${p}`), e.optimizer);
      if (e instanceof TrainUsageError) return optimizer ? flagifyProblems(e.problems, optimizer) : e.problems;
      return undefined;
    },
    message: (e, category) => {
      if (e instanceof ModelDataMismatchError) return `${e.message} (check --model, or --downsample for 28×28 data)`;
      if (e instanceof DataFileError) return `data: ${e.message}`;
      if (e instanceof LinkError && e.code === 'BAD_URL') return `--device: ${e.message}`;
      if (e instanceof LinkLostError) return `${e.message}; continue with: ${e.resumeCommand}`;
      if ((category === 'device' || category === 'link') && !(e instanceof DeviceTooSmallError)) return `device: ${e.message}`;
      return e.message;
    },
  };
}

