// Exit codes and the one error format of every tngd command. Errors carry a category (see
// host-loop/errors.ts); the CLI maps the category, not the class, to an exit code, so an
// error thrown anywhere with `category: 'usage'` exits 2 with one line and no stack trace.
import { errorCategoryOf } from '../../host-loop/errors.ts';
import type { ErrorCategory } from '../../host-loop/errors.ts';

export const EXIT = { ok: 0, failure: 1, usage: 2, interrupted: 130 } as const;
export type ExitCode = (typeof EXIT)[keyof typeof EXIT];

/** A bad command line; `problems` lists every issue, each naming its flag. */
export class UsageError extends Error {
  readonly category: ErrorCategory = 'usage';
  readonly problems: string[];
  constructor(problems: string | string[]) {
    const list = typeof problems === 'string' ? [problems] : problems;
    super(list.join('; '));
    this.name = 'UsageError';
    this.problems = list;
  }
}

/** The category of any error the CLI may see; undefined for a bug ('internal'), whose stack is printed. */
export function cliCategoryOf(e: unknown): ErrorCategory | undefined {
  const c = errorCategoryOf(e);
  return c === 'internal' ? undefined : c;
}

export function exitCodeOf(e: unknown): ExitCode {
  const c = cliCategoryOf(e);
  return c === 'usage' ? EXIT.usage : c === 'interrupted' ? EXIT.interrupted : EXIT.failure;
}

export interface ReportOptions {
  /** rewrites a usage error's problems into flag spellings (train/compare map option keys to flags) */
  problems?: (e: Error & { problems?: string[] }) => string[] | undefined;
  /** rewrites the one-line message of a categorised error (e.g. prefix 'device: ') */
  message?: (e: Error, category: ErrorCategory) => string;
}

/**
 * Prints `tngd <command>: error: <message>` on stderr (one line for every categorised error;
 * usage errors add the --help pointer on the same line) and returns the exit code. An error
 * without a category is a bug: its stack is printed too.
 */
export function reportError(command: string, e: unknown, opts: ReportOptions = {}): ExitCode {
  const prefix = `tngd ${command}: error: `;
  const category = cliCategoryOf(e);
  if (!(e instanceof Error) || category === undefined) {
    process.stderr.write(`${prefix}${e instanceof Error ? `${e.message}\n${e.stack ?? ''}` : String(e)}\n`);
    return EXIT.failure;
  }
  const oneLine = (s: string): string => s.replace(/\s*\n\s*(- )?/g, '; ');
  if (category === 'usage') {
    const problems = opts.problems?.(e) ?? (e as { problems?: string[] }).problems;
    const text = problems && problems.length > 0 ? problems.join('; ') : (opts.message?.(e, category) ?? e.message);
    process.stderr.write(`${prefix}${oneLine(text)} (see tngd ${command} --help)\n`);
    return EXIT.usage;
  }
  process.stderr.write(`${prefix}${oneLine(opts.message?.(e, category) ?? e.message)}\n`);
  return exitCodeOf(e);
}
