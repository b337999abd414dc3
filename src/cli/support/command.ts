// How a tngd command is declared: one call wires commander's usage errors to exit 2 with one
// line, runs the action, and maps whatever it throws through reportError(). A new command is a
// module exporting `register(program)` that calls defineCommand, listed once in main.ts; a new
// option is one `.option()` (or an option group from this module) in the command's `configure`.
import type { Command, CommanderError } from 'commander';
import { EXIT, reportError, type ReportOptions } from './errors.ts';

export interface CommandSpec<F extends object> {
  name: string;
  description: string;
  /** positional arguments: [commander syntax, description] */
  args?: [string, string][];
  /** options (and help text) */
  configure(cmd: Command): void;
  /** runs the command; returns the exit code */
  run(flags: F, args: string[]): Promise<number>;
  /** message rewriting for reportError (may depend on the flags) */
  report?: (flags: F) => ReportOptions;
}

/** Declares a command on `program` (see the file comment). */
export function defineCommand<F extends object>(program: Command, spec: CommandSpec<F>): Command {
  const cmd = program.command(spec.name).description(spec.description);
  for (const [a, d] of spec.args ?? []) cmd.argument(a, d);
  spec.configure(cmd);
  cmd.showHelpAfterError(false).exitOverride(usageExit(`tngd ${spec.name}`));
  cmd
    .action(async (...a: unknown[]) => {
      const command = a[a.length - 1] as Command;
      const flags = command.opts() as F;
      const positional = a.slice(0, -2) as string[];
      try {
        process.exitCode = await spec.run(flags, positional);
      } catch (e) {
        process.exitCode = reportError(spec.name, e, spec.report?.(flags));
      }
    });
  return cmd;
}

/**
 * commander's own usage errors ("error: unknown option '--x'") as one line like ours, exit 2;
 * help and version exit 0. (Commander's output settings are shared between a program and its
 * commands, so the line is written here, where the command is known, and outputError is muted.)
 */
export function usageExit(prefix: string): (err: CommanderError) => never {
  return (err) => {
    if (err.exitCode !== 0 && err.code !== 'commander.help' && err.code !== 'commander.helpDisplayed')
      process.stderr.write(`${prefix}: ${err.message.trim().replace(/\s*\n\s*/g, ' ')} (see ${prefix} --help)\n`);
    process.exit(err.exitCode === 0 ? EXIT.ok : EXIT.usage);
  };
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

/** Resolves on SIGINT/SIGTERM (handlers removed by dispose). */
export function untilSignal(): { promise: Promise<NodeJS.Signals>; dispose(): void } {
  let resolve!: (s: NodeJS.Signals) => void;
  const promise = new Promise<NodeJS.Signals>((r) => (resolve = r));
  const onInt = (): void => resolve('SIGINT');
  const onTerm = (): void => resolve('SIGTERM');
  process.once('SIGINT', onInt);
  process.once('SIGTERM', onTerm);
  return { promise, dispose: () => (process.off('SIGINT', onInt), process.off('SIGTERM', onTerm)) };
}
