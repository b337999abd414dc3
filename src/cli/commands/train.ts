// `tngd train`: one optimizer, one seed, through the training loop in src/host-loop/train.
// Option strings are validated with zod into a TrainConfig; exit codes: 0 done, 1 run-time
// failure (data files, checkpoint, device, divergence), 2 bad usage, 130 interrupted (Ctrl-C).
import type { Command } from 'commander';
import { resolve } from 'node:path';
import { z } from 'zod';
import { DataFileError } from '../../host-loop/data/idx.ts';
import { ModelDataMismatchError } from '../../host-loop/models/evaluate.ts';
import { ModelSpecError } from '../../host-loop/models/spec.ts';
import { OptimizerLimitError, OptimizerOptionsError } from '../../host-loop/optimizers/errors.ts';
import { getOptimizerSpec } from '../../host-loop/optimizers/registry.ts';
import { TngdDeviceError } from '../../host-loop/optimizers/tngd.ts';
import { DriverError } from '../../driver/errors.ts';
import { LinkError } from '../../driver/transports/errors.ts';
import { PROFILE_NAMES } from '../../emulator/index.ts';
import { CheckpointError } from '../../host-loop/run/checkpoint.ts';
import { formatSummaryTable } from '../../host-loop/run/table.ts';
import {
  DEFAULT_DEVICE_URL,
  needsDevice,
  TrainRunError,
  TrainUsageError,
  defaultRunName,
  parseTrainConfig,
  terminalProgress,
  train,
  locateCheckpoint,
  type TrainConfigInput,
  type TrainConfigOverrides,
} from '../../host-loop/train/index.ts';

import { addServeOptions, serveSettingsFromFlags, startLiveSession, type LiveSession } from '../live-session.ts';
import { lineProgress } from '../../host-loop/run/progress-line.ts';

// ---------- shared with `tngd compare` ----------

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

const flagName = (k: string): string => '--' + k.replace(/[A-Z]/g, (c) => '-' + c.toLowerCase());

function numberFrom(flag: string, int: boolean) {
  return z.string().transform((s, ctx) => {
    const v = Number(s);
    if (s.trim() === '' || !Number.isFinite(v)) {
      ctx.addIssue({ code: 'custom', message: `${flag}: expected a number, got '${s}'` });
      return z.NEVER;
    }
    if (int && !Number.isInteger(v)) {
      ctx.addIssue({ code: 'custom', message: `${flag}: expected an integer, got '${s}'` });
      return z.NEVER;
    }
    return v;
  });
}

/** The run-level flags as commander hands them over (strings), validated and converted. */
const runFlagsSchema = z.object({
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

function zodProblems(err: z.ZodError): string[] {
  return err.issues.map((i) => (i.message.startsWith('--') ? i.message : `${i.path.length ? flagName(String(i.path[0])) : '(options)'}: ${i.message}`));
}

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
function flagifyProblems(problems: string[], optimizer: string): string[] {
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

// ---------- errors and exit codes ----------

export const EXIT = { ok: 0, failure: 1, usage: 2, interrupted: 130 } as const;

/** Prints an error the way every tngd command does and returns its exit code. */
export function reportError(command: string, e: unknown, optimizer?: string): number {
  const say = (msg: string): void => {
    process.stderr.write(`tngd ${command}: error: ${msg}\n`);
  };
  if (e instanceof TrainUsageError) {
    const ps = optimizer ? flagifyProblems(e.problems, optimizer) : e.problems;
    say(ps.length === 1 ? ps[0] : `invalid options:\n  - ${ps.join('\n  - ')}`);
    process.stderr.write(`(see tngd ${command} --help)\n`);
    return EXIT.usage;
  }
  if (e instanceof OptimizerOptionsError) {
    say(flagifyProblems(e.problems.map((p) => `optimizer '${e.optimizer}': ${p}`), e.optimizer).join('\n  - '));
    return EXIT.usage;
  }
  if (e instanceof ModelDataMismatchError || e instanceof ModelSpecError) {
    say(`${e.message}${e instanceof ModelDataMismatchError ? ' (check --model, or --downsample for 28×28 data)' : ''}`);
    return EXIT.usage;
  }
  if (e instanceof DataFileError) {
    say(`data: ${e.message}`);
    return EXIT.failure;
  }
  if (e instanceof CheckpointError || e instanceof TrainRunError || e instanceof OptimizerLimitError) {
    say(e.message);
    return EXIT.failure;
  }
  if (e instanceof LinkError && e.code === 'BAD_URL') {
    say(`--device: ${e.message}`);
    return EXIT.usage;
  }
  if (e instanceof LinkError || e instanceof DriverError || e instanceof TngdDeviceError) {
    say(`device: ${e.message}`);
    return EXIT.failure;
  }
  say(e instanceof Error ? `${e.message}\n${e.stack ?? ''}` : String(e));
  return EXIT.failure;
}

/**
 * Ctrl-C (and SIGTERM): the first asks the loop to finish the current iteration and write a
 * checkpoint; the second exits at once. Returns the signal and a function removing the handlers.
 */
export function installInterruptHandlers(): { signal: AbortSignal; dispose: () => void } {
  const ac = new AbortController();
  let hits = 0;
  const handler = (sig: NodeJS.Signals): void => {
    hits++;
    if (hits > 1) process.exit(sig === 'SIGTERM' ? 143 : EXIT.interrupted);
    process.stderr.write(`\n${sig}: finishing the current iteration and writing a checkpoint (press Ctrl-C again to quit now)\n`);
    ac.abort();
  };
  process.on('SIGINT', handler);
  process.on('SIGTERM', handler);
  return {
    signal: ac.signal,
    dispose: () => {
      process.off('SIGINT', handler);
      process.off('SIGTERM', handler);
    },
  };
}

/** Commander usage errors exit 2 (commander's own default is 1); help and version exit 0. */
export function usageExitCodes(cmd: Command): Command {
  return cmd.exitOverride((err) => process.exit(err.exitCode === 0 ? 0 : EXIT.usage));
}

// ---------- the command ----------

const DEFAULT_OPTIMIZER = 'tngd';

function buildTrainInput(flags: Record<string, unknown>): { input: TrainConfigInput; given: TrainConfigOverrides; optimizer: string } {
  const optimizer = typeof flags.optimizer === 'string' ? flags.optimizer : DEFAULT_OPTIMIZER;
  const problems: string[] = [];
  const run = runConfigFromFlags(flags, problems);
  const hp = hyperparametersFromFlags(flags, problems);
  const options: Record<string, unknown> = Object.fromEntries(Object.entries(hp).map(([k, v]) => [k, v.value]));
  for (const { key, value } of parseSetPairs(flags.set as string[] | undefined, problems)) options[key] = value;
  const input: TrainConfigInput = { ...run.base, optimizer, optimizerOptions: options, ...(run.seed !== undefined ? { seed: run.seed } : {}) };
  const given: TrainConfigOverrides = { ...run.given, ...(typeof flags.optimizer === 'string' ? { optimizer } : {}), optimizerOptions: options };
  if (flags.resume === undefined) {
    try {
      parseTrainConfig(input);
    } catch (e) {
      if (!(e instanceof TrainUsageError)) throw e;
      problems.push(...e.problems.map((p) => p.replace(/^([a-zA-Z]+): /, (_m, k: string) => (k in runFlagsSchema.shape ? `${flagName(k)}: ` : `${k}: `))));
    }
  }
  if (problems.length) throw new TrainUsageError(problems);
  return { input, given, optimizer };
}

export function register(program: Command): void {
  const cmd = program
    .command('train')
    .description('train a model with one optimizer (TNGD through a device, or a digital baseline) and write metrics, checkpoints and a report')
    .option('--optimizer <name>', 'tngd | tngd-adam | sgd | adam | ngd-exact | ngd-cg | ngd-woodbury (default tngd, on --device)')
    .option('--seed <n>', 'seed for model init, batch order and the emulator (default 1)')
    .option('--out <dir>', 'run folder (default results/<optimizer>-<model>-b<batch>-<length>-s<seed>)')
    .option('--resume <path>', 'continue from a checkpoint file, a run folder or its checkpoints folder');
  addRunOptions(cmd);
  addHyperparameterOptions(cmd);
  addServeOptions(cmd);
  usageExitCodes(cmd);
  cmd.addHelpText(
    'after',
    '\nExit codes: 0 done, 1 run-time failure (data files, checkpoint, device, divergence), 2 bad usage, 130 interrupted.\n' +
      'Ctrl-C finishes the current iteration and writes a checkpoint; --resume <out> continues bit-identically.\n',
  );
  cmd.action(async (flags: Record<string, unknown>) => {
    process.exitCode = await runTrain(flags);
  });
}

async function runTrain(flags: Record<string, unknown>): Promise<number> {
  let optimizer = typeof flags.optimizer === 'string' ? flags.optimizer : DEFAULT_OPTIMIZER;
  const { signal, dispose } = installInterruptHandlers();
  let live: LiveSession | null = null;
  try {
    const built = buildTrainInput(flags);
    optimizer = built.optimizer;
    const resume = typeof flags.resume === 'string' ? flags.resume : undefined;
    let out = typeof flags.out === 'string' ? resolve(flags.out) : undefined;
    if (!resume && out === undefined) out = resolve('results', defaultRunName(parseTrainConfig(built.input)));
    const serveProblems: string[] = [];
    const serve = serveSettingsFromFlags(flags, serveProblems);
    if (serveProblems.length) throw new TrainUsageError(serveProblems);
    const liveRoot = out ?? locateCheckpoint(resume!).out;
    live = await startLiveSession(liveRoot, `tngd train: ${optimizer}`, serve, (l) => process.stderr.write(`${l}\n`), flags.sampleState === true);
    if ((flags.device !== undefined || flags.profile !== undefined) && !resume && !needsDevice(optimizer))
      process.stderr.write(`note: ${optimizer} is a digital optimizer; --device/--profile are not used\n`);
    const progress = flags.progress === false || flags.json ? null : (terminalProgress() ?? lineProgress());
    const result = await train(resume ? undefined : built.input, {
      out,
      resume,
      overrides: resume ? built.given : undefined,
      signal,
      progress,
      log: (l) => process.stderr.write(`${l}\n`),
      observer: live.recorder,
    });
    optimizer = result.config.optimizer;
    if (flags.json) {
      process.stdout.write(
        JSON.stringify(
          {
            out: result.out,
            report: result.reportPath,
            metrics: result.metricsPath,
            checkpoint: result.checkpointPath,
            iterations: result.iterations,
            totalIterations: result.totalIterations,
            interrupted: result.interrupted,
            diverged: result.diverged,
            summary: result.summary,
            config: result.config,
          },
          null,
          2,
        ) + '\n',
      );
    } else {
      process.stdout.write(`${formatSummaryTable([result.summary])}\n\nreport: ${result.reportPath}\n`);
      if (result.checkpointPath) process.stdout.write(`checkpoint: ${result.checkpointPath}\n`);
    }
    if (result.interrupted) {
      process.stderr.write(`interrupted at iteration ${result.iterations}/${result.totalIterations}; continue with: tngd train --resume ${result.out}\n`);
      return EXIT.interrupted;
    }
    if (result.diverged) {
      process.stderr.write(`tngd train: error: training diverged (non-finite loss) at iteration ${result.iterations}; try a smaller --lr or a larger --lambda\n`);
      return EXIT.failure;
    }
    return EXIT.ok;
  } catch (e) {
    return reportError('train', e, optimizer);
  } finally {
    await live?.close();
    dispose();
  }
}
