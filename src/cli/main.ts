import { Command } from 'commander';
import { readFileSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import { dirname, join } from 'node:path';
import { register as registerTrain } from './commands/train.ts';
import { register as registerCompare } from './commands/compare.ts';
import { register as registerEmulate } from './commands/emulate.ts';
import { register as registerInfo } from './commands/info.ts';
import { register as registerConformance } from './commands/conformance.ts';
import { register as registerServe } from './commands/serve.ts';
import { usageExit } from './support.ts';

// Each subcommand lives in src/cli/commands/<name>.ts, exports `register(program)` (built on
// defineCommand from ./support.ts) and is listed once below. Exit codes: 0 ok, 1 runtime
// failure, 2 bad usage (one line on stderr), 130 interrupted.
const here = dirname(fileURLToPath(import.meta.url));
const pkg = JSON.parse(readFileSync(join(here, '..', '..', 'package.json'), 'utf8')) as { version: string };

const COMMANDS: ((program: Command) => unknown)[] = [registerTrain, registerCompare, registerEmulate, registerInfo, registerConformance, registerServe];

export function buildProgram(): Command {
  const program = new Command();
  program
    .name('tngd')
    .description('Thermodynamic natural gradient descent: SPU emulator, driver, conformance and training')
    .version(pkg.version)
    // usage errors are written by usageExit (one line naming the command), not by commander
    .configureOutput({ outputError: () => {} })
    .exitOverride(usageExit('tngd'));
  for (const register of COMMANDS) register(program);
  return program;
}

const program = buildProgram();
await program.parseAsync(process.argv);
