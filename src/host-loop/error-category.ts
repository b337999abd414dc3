// What an error of the host loop asks of its caller, as data: the CLI maps a category to an exit
// code (usage → 2, the rest → 1) instead of enumerating classes, so an error thrown anywhere with
// `category: 'usage'` exits 2.
//   usage   the input (options, config, model spec) is wrong: fix the command
//   data    a data file is missing or damaged
//   run     the run itself failed (checkpoint unreadable, divergence, a resource limit)
//   device  the device refused, vanished or is too small for the run
export type ErrorCategory = 'usage' | 'data' | 'run' | 'device';

export const ERROR_CATEGORIES: readonly ErrorCategory[] = ['usage', 'data', 'run', 'device'];

/** The category an error declares (a `category` field holding one of ERROR_CATEGORIES), if any. */
export function categoryOf(e: unknown): ErrorCategory | undefined {
  const c = (e as { category?: unknown } | null)?.category;
  return typeof c === 'string' && (ERROR_CATEGORIES as readonly string[]).includes(c) ? (c as ErrorCategory) : undefined;
}
