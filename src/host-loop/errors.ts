// Error categories of the host loop: who must act when a training or comparison run fails. Every
// host-loop error class carries one (HostLoopError.category); errorCategoryOf also classifies the
// driver's and the link's errors that reach the loop, so a front end (the CLI) maps categories to
// exit codes instead of enumerating classes.
import { ArgumentError, DeviceError, DisconnectedError, DriverError, HandshakeError, TimeoutError } from '../driver/errors.ts';
import { LinkError } from '../driver/transports/errors.ts';

export const ERROR_CATEGORIES = ['usage', 'data', 'numerics', 'device', 'link', 'interrupted', 'internal'] as const;

/**
 * - usage: the command line or configuration is wrong; fix it and rerun (a CLI exits 2)
 * - data: an input file (data set, checkpoint, saved optimizer state) is missing or unusable
 * - numerics: the mathematics failed (a matrix not positive definite, a core not PSD)
 * - device: the SPU refused or failed an operation, or could not produce a usable result
 * - link: the connection to the SPU failed (no reply, disconnected, cannot open)
 * - interrupted: the run was stopped on request (an aborted signal)
 * - internal: none of these: a bug
 */
export type ErrorCategory = (typeof ERROR_CATEGORIES)[number];

/** Base of the host loop's errors: `name` is the class name, `category` says who must act. */
export abstract class HostLoopError extends Error {
  abstract readonly category: ErrorCategory;
  constructor(message: string, options?: ErrorOptions) {
    super(message, options);
    this.name = new.target.name;
  }
}

/** The category of anything a host-loop call may throw. */
export function errorCategoryOf(e: unknown): ErrorCategory {
  if (e instanceof HostLoopError) return e.category;
  const declared = declaredCategoryOf(e);
  if (declared) return declared;
  if (e instanceof LinkError) return e.code === 'BAD_URL' ? 'usage' : 'link';
  if (e instanceof TimeoutError || e instanceof DisconnectedError) return 'link';
  if (e instanceof HandshakeError) return e.reason === 'no-reply' ? 'link' : 'device';
  // The loop validates its options before it calls the driver: bad arguments there are a bug.
  if (e instanceof ArgumentError) return 'internal';
  if (e instanceof DeviceError || e instanceof DriverError) return 'device';
  if (e instanceof Error && e.name === 'AbortError') return 'interrupted';
  return 'internal';
}

/** A category an error of another layer declares as a `category` field (e.g. the CLI's UsageError). */
function declaredCategoryOf(e: unknown): ErrorCategory | undefined {
  const c = (e as { category?: unknown } | null)?.category;
  return typeof c === 'string' && (ERROR_CATEGORIES as readonly string[]).includes(c) ? (c as ErrorCategory) : undefined;
}
