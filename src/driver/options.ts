// Driver options: what a caller may set (DriverOptions, each field with its unit and default) and
// the complete object the driver runs on (ResolvedDriverOptions). resolveDriverOptions is the one
// place that fills defaults and checks bounds; the rest of the driver never writes `?? default`.
import { hostname } from 'node:os';
import pino from 'pino';
import type { Logger } from 'pino';
import { DTYPES, FEATURES, MAX_MAX_FRAME_BYTES, MIN_MAX_FRAME_BYTES } from '../protocol/index.ts';
import type { Capabilities } from '../protocol/index.ts';
import type { DtypeChoice } from './convert.ts';
import { ArgumentError } from './errors.ts';

type Feature = Capabilities['features'][number];

export interface DriverOptions {
  /** pino logger; the driver logs through a child per link. Default: silent. */
  logger?: Logger;
  /** Per-request timeout, ms. Default 2000. */
  timeoutMs?: number;
  /** Extra attempts for idempotent requests after a timeout. Default 2. */
  retries?: number;
  /** Hello (and the Status after it) timeout per attempt, ms. Default timeoutMs. */
  handshakeTimeoutMs?: number;
  /** Largest frame the host accepts (advertised in Hello), bytes. Default 65535. */
  hostMaxFrameBytes?: number;
  /** Heartbeat when the link has been quiet this long, ms; 0 disables. Default 1000. */
  heartbeatIntervalMs?: number;
  /** Consecutive unanswered heartbeats that declare the device gone. Default 3. */
  heartbeatMisses?: number;
  /** Wire dtype for uploads. Default 'auto'. */
  dtype?: DtypeChoice;
  /** Upper bound on a run's wall time however long the device reports RUNNING, ms. Default 600000 (10 min). */
  maxRunMs?: number;
  /** Fail at open unless the device offers at least this much. Default: nothing required. */
  require?: { cells?: number; rank?: number; features?: Capabilities['features'] };
  /** Free-form host identification sent in Hello (cut to 64 characters). Default `tngd-driver@<hostname>`. */
  hostName?: string;
  /** Cap on bulk chunk bytes in flight (e.g. a USB bridge with a small buffer). Default: the device's window alone (Infinity). */
  maxInFlightBytes?: number;
  /**
   * Schema fingerprint mismatch (same major): 'strict' (default) refuses the device with a
   * HandshakeError; 'warn' logs and continues, as PROTOCOL.md §7.1 permits between minors.
   */
  fingerprint?: 'strict' | 'warn';
}

/** DriverOptions with every default filled in and every bound checked. */
export interface ResolvedDriverOptions {
  logger: Logger;
  timeoutMs: number;
  retries: number;
  handshakeTimeoutMs: number;
  hostMaxFrameBytes: number;
  heartbeatIntervalMs: number;
  heartbeatMisses: number;
  dtype: DtypeChoice;
  maxRunMs: number;
  require: { cells?: number; rank?: number; features: readonly Feature[] };
  hostName: string;
  maxInFlightBytes: number;
  fingerprint: 'strict' | 'warn';
}

export const DRIVER_DEFAULTS = {
  timeoutMs: 2000,
  retries: 2,
  hostMaxFrameBytes: MAX_MAX_FRAME_BYTES,
  heartbeatIntervalMs: 1000,
  heartbeatMisses: 3,
  dtype: 'auto',
  maxRunMs: 600_000,
  maxInFlightBytes: Infinity,
  fingerprint: 'strict',
} as const;

const silent = pino({ level: 'silent' });

/**
 * Fills defaults and checks every field; one ArgumentError lists all bad fields. Keys it does not
 * know are ignored: connect() passes its ConnectOptions, which extend these with link settings.
 */
export function resolveDriverOptions(o: DriverOptions = {}): ResolvedDriverOptions {
  const problems: string[] = [];
  const num = (name: string, v: unknown, dflt: number, ok: (x: number) => boolean, want: string): number => {
    if (v === undefined) return dflt;
    if (typeof v === 'number' && ok(v)) return v;
    problems.push(`${name} must be ${want}, got ${String(v)}`);
    return dflt;
  };
  const int = (lo: number, hi: number) => (x: number) => Number.isInteger(x) && x >= lo && x <= hi;
  const positive = (x: number) => x > 0 && Number.isFinite(x);

  const timeoutMs = num('timeoutMs', o.timeoutMs, DRIVER_DEFAULTS.timeoutMs, positive, 'a finite number > 0');
  const resolved: ResolvedDriverOptions = {
    logger: o.logger ?? silent,
    timeoutMs,
    retries: num('retries', o.retries, DRIVER_DEFAULTS.retries, int(0, 100), 'an integer in [0, 100]'),
    handshakeTimeoutMs: num('handshakeTimeoutMs', o.handshakeTimeoutMs, timeoutMs, positive, 'a finite number > 0'),
    hostMaxFrameBytes: num('hostMaxFrameBytes', o.hostMaxFrameBytes, DRIVER_DEFAULTS.hostMaxFrameBytes, int(MIN_MAX_FRAME_BYTES, MAX_MAX_FRAME_BYTES), `an integer in [${MIN_MAX_FRAME_BYTES}, ${MAX_MAX_FRAME_BYTES}]`),
    heartbeatIntervalMs: num('heartbeatIntervalMs', o.heartbeatIntervalMs, DRIVER_DEFAULTS.heartbeatIntervalMs, (x) => x >= 0 && Number.isFinite(x), 'a finite number ≥ 0 (0 disables heartbeats)'),
    heartbeatMisses: num('heartbeatMisses', o.heartbeatMisses, DRIVER_DEFAULTS.heartbeatMisses, int(1, 1000), 'an integer in [1, 1000]'),
    dtype: DRIVER_DEFAULTS.dtype,
    maxRunMs: num('maxRunMs', o.maxRunMs, DRIVER_DEFAULTS.maxRunMs, positive, 'a finite number > 0'),
    require: { features: [] },
    hostName: `tngd-driver@${hostname()}`.slice(0, 64),
    maxInFlightBytes: num('maxInFlightBytes', o.maxInFlightBytes, DRIVER_DEFAULTS.maxInFlightBytes, (x) => x > 0, 'a number > 0 (Infinity: no cap)'),
    fingerprint: DRIVER_DEFAULTS.fingerprint,
  };
  if (o.dtype !== undefined) {
    if ((o.dtype as string) === 'auto' || (DTYPES as readonly string[]).includes(o.dtype)) resolved.dtype = o.dtype;
    else problems.push(`dtype must be auto or one of ${DTYPES.join(', ')}, got ${String(o.dtype)}`);
  }
  if (o.fingerprint !== undefined) {
    if (o.fingerprint === 'strict' || o.fingerprint === 'warn') resolved.fingerprint = o.fingerprint;
    else problems.push(`fingerprint must be strict or warn, got ${String(o.fingerprint)}`);
  }
  if (o.hostName !== undefined) {
    if (typeof o.hostName === 'string') resolved.hostName = o.hostName.slice(0, 64);
    else problems.push(`hostName must be a string, got ${String(o.hostName)}`);
  }
  if (o.require !== undefined) {
    const r = o.require;
    const need = (name: 'cells' | 'rank'): number | undefined => {
      const v = r[name];
      return v === undefined ? undefined : num(`require.${name}`, v, 0, int(1, 2 ** 32 - 1), 'an integer ≥ 1');
    };
    const cells = need('cells');
    const rank = need('rank');
    const features = r.features ?? [];
    const unknown = Array.isArray(features) ? features.filter((f) => !(FEATURES as readonly string[]).includes(f)) : null;
    if (unknown === null) problems.push('require.features must be an array of feature names');
    else if (unknown.length) problems.push(`require.features: unknown feature(s) ${unknown.join(', ')} (known: ${FEATURES.join(', ')})`);
    resolved.require = { ...(cells !== undefined ? { cells } : {}), ...(rank !== undefined ? { rank } : {}), features: unknown === null ? [] : [...features] };
  }
  if (problems.length) throw new ArgumentError(problems.length === 1 ? problems[0] : `invalid driver options:\n  - ${problems.join('\n  - ')}`);
  return resolved;
}
