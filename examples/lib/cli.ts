// Command-line plumbing shared by every study: --quick, --out, --seeds, validated option
// parsers, and the "run main() when executed as a script" entry with exit codes
// (0 ok, 1 the study failed, 2 bad usage).
import { Command, CommanderError, InvalidArgumentError } from 'commander';
import { resolve } from 'node:path';
import { fileURLToPath } from 'node:url';

export interface CommonOptions {
  quick: boolean;
  /** output folder (absolute) */
  out: string;
  /** number of seeds; seeds are 1..seeds */
  seeds: number;
}

export function positiveInt(what: string, max = 1_000_000): (v: string) => number {
  return (v) => {
    if (!/^[0-9]+$/.test(v.trim())) throw new InvalidArgumentError(`${what} must be a positive integer, got '${v}'`);
    const n = Number(v);
    if (n < 1 || n > max) throw new InvalidArgumentError(`${what} must be in [1, ${max}], got ${n}`);
    return n;
  };
}

export function positiveNumber(what: string): (v: string) => number {
  return (v) => {
    const n = Number(v);
    if (v.trim() === '' || !Number.isFinite(n) || n <= 0) throw new InvalidArgumentError(`${what} must be a positive number, got '${v}'`);
    return n;
  };
}

/** Comma-separated list of positive numbers, e.g. "1e-3,3e-3,1e-2". */
export function numberList(what: string, integer = false): (v: string) => number[] {
  return (v) => {
    const parts = v.split(',').map((s) => s.trim());
    if (parts.length === 0 || parts.some((s) => s === '')) throw new InvalidArgumentError(`${what} must be a comma-separated list of numbers, got '${v}'`);
    return parts.map((s) => {
      const n = Number(s);
      if (!Number.isFinite(n) || n <= 0 || (integer && !Number.isInteger(n)))
        throw new InvalidArgumentError(`${what}: '${s}' is not a positive ${integer ? 'integer' : 'number'}`);
      return n;
    });
  };
}

/**
 * A study command with the common options. Usage errors throw a CommanderError (exitOverride)
 * instead of exiting, so main(argv) can be called in-process by the smoke test.
 */
export function studyCommand(study: string, description: string, defaultSeeds: number): Command {
  return new Command()
    .name(`examples/${study}`)
    .description(description)
    .option('--quick', 'small smoke-test variant (shipped data subset, few iterations)', false)
    .option('--out <dir>', 'output folder', `results/examples/${study}`)
    .option('--seeds <n>', 'number of seeds (1..n)', positiveInt('--seeds', 100), defaultSeeds)
    .exitOverride()
    .configureOutput({ outputError: (s, write) => write(s) })
    .showHelpAfterError(false);
}

/** Parses argv (without node and script) into the common options plus the study's own. */
export function parseStudyArgs<T extends object>(cmd: Command, argv: string[]): CommonOptions & T {
  cmd.parse(argv, { from: 'user' });
  const o = cmd.opts<CommonOptions & T>();
  return { ...o, out: resolve(o.out) };
}

export function seedList(n: number): number[] {
  return Array.from({ length: n }, (_, i) => i + 1);
}

/** Runs `main(process.argv.slice(2))` if `moduleUrl` is the script node was started with. */
export function runIfMain(moduleUrl: string, main: (argv: string[]) => Promise<unknown>): void {
  const entry = process.argv[1];
  if (!entry || resolve(entry) !== fileURLToPath(moduleUrl)) return;
  main(process.argv.slice(2)).then(
    () => process.exit(0),
    (e: unknown) => {
      if (e instanceof CommanderError) {
        // help and version are not errors
        process.exit(e.code === 'commander.helpDisplayed' || e.code === 'commander.version' ? 0 : 2);
      }
      console.error(e instanceof Error ? (e.stack ?? e.message) : String(e));
      process.exit(1);
    },
  );
}
