// `tngd train`: one optimizer, one seed, through the training loop in src/host-loop/train.
// Option strings are validated with zod into a TrainConfig; exit codes: 0 done, 1 run-time
// failure (data files, checkpoint, device, divergence), 2 bad usage, 130 interrupted (Ctrl-C).
import type { Command } from 'commander';
import { resolve } from 'node:path';
import { formatSummaryTable } from '../../host-loop/run/table.ts';
import { lineProgress } from '../../host-loop/run/progress-line.ts';
import { addServeOptions, liveSessionFromFlags, type LiveSession } from '../live-session.ts';
import {
  needsDevice,
  TrainUsageError,
  defaultRunName,
  parseTrainConfig,
  terminalProgress,
  train,
  locateCheckpoint,
  type TrainConfigInput,
  type TrainConfigOverrides,
} from '../../host-loop/train/index.ts';
import {
  EXIT,
  addHyperparameterOptions,
  addRunOptions,
  addSecretOptions,
  defineCommand,
  flagName,
  hyperparametersFromFlags,
  installInterruptHandlers,
  parseSetPairs,
  resolveSecret,
  runConfigFromFlags,
  runFlagsSchema,
  runReportOptions,
} from '../support.ts';

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

interface TrainFlags extends Record<string, unknown> {
  optimizer?: string;
  out?: string;
  resume?: string;
  overwrite?: boolean;
  secretFile?: string;
  json?: boolean;
  progress?: boolean;
}

export function register(program: Command): void {
  defineCommand<TrainFlags>(program, {
    name: 'train',
    description: 'train a model with one optimizer (TNGD through a device, or a digital baseline) and write metrics, checkpoints and a report',
    configure: (cmd) => {
      cmd
        .option('--optimizer <name>', 'tngd | tngd-adam | sgd | adam | ngd-exact | ngd-cg | ngd-woodbury (default tngd, on --device)')
        .option('--seed <n>', 'seed for model init, batch order and the emulator (default 1)')
        .option('--out <dir>', 'run folder (default results/train-<optimizer>-<model>-b<batch>-<length>-s<seed>-<hash of the other settings>)')
        .option('--resume <path>', 'continue from a checkpoint file, a run folder or its checkpoints folder')
        .option('--overwrite', 'replace the run already in --out (default: refuse a folder that is not empty)');
      addRunOptions(cmd);
      addHyperparameterOptions(cmd);
      addSecretOptions(cmd, 'tcp devices');
      addServeOptions(cmd);
      cmd.addHelpText(
        'after',
        '\nExit codes: 0 done, 1 run-time failure (data files, checkpoint, device, divergence), 2 bad usage, 130 interrupted.\n' +
          'Ctrl-C finishes the current iteration and writes a checkpoint; --resume <out> continues bit-identically.\n' +
          'A device link lost mid-run is reconnected and restored; if it stays down the run stops with a checkpoint and the --resume command.\n',
      );
    },
    run: runTrain,
    report: (flags) => runReportOptions(typeof flags.optimizer === 'string' ? flags.optimizer : DEFAULT_OPTIMIZER),
  });
}

async function runTrain(flags: TrainFlags): Promise<number> {
  const { signal, dispose } = installInterruptHandlers();
  let live: LiveSession | null = null;
  try {
    const built = buildTrainInput(flags);
    const optimizer = built.optimizer;
    const secret = resolveSecret(flags);
    const resume = typeof flags.resume === 'string' ? flags.resume : undefined;
    if (resume && flags.overwrite) throw new TrainUsageError(['--resume and --overwrite: give one, not both']);
    let out = typeof flags.out === 'string' ? resolve(flags.out) : undefined;
    if (!resume && out === undefined) out = resolve('results', defaultRunName(parseTrainConfig(built.input)));
    live = await liveSessionFromFlags(flags, out ?? locateCheckpoint(resume!).out, `tngd train: ${optimizer}`);
    if ((flags.device !== undefined || flags.profile !== undefined) && !resume && !needsDevice(optimizer))
      process.stderr.write(`note: ${optimizer} is a digital optimizer; --device/--profile are not used\n`);
    const progress = flags.progress === false || flags.json ? null : (terminalProgress() ?? lineProgress());
    const result = await train(resume ? undefined : built.input, {
      out,
      resume,
      overwrite: flags.overwrite === true,
      overrides: resume ? built.given : undefined,
      secret,
      signal,
      progress,
      log: (l) => process.stderr.write(`${l}\n`),
      observer: live.recorder,
    });
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
  } finally {
    await live?.close();
    dispose();
  }
}
