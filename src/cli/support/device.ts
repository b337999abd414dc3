// Options shared by commands that reach a device or serve one: the shared secret (never on disk
// or in logs: --secret-file or $TNGD_SECRET), the per-request timeout, the log level.
import { readFileSync } from 'node:fs';
import type { Command } from 'commander';
import { Option } from 'commander';
import { pino } from 'pino';
import type { Logger } from 'pino';
import { z } from 'zod';
import type { ConnectOptions } from '../../connect.ts';
import { UsageError } from './errors.ts';
import { numberFrom, parseFlags } from './flags.ts';

export const LOG_LEVELS = ['trace', 'debug', 'info', 'warn', 'error', 'fatal', 'silent'] as const;
export const SECRET_ENV = 'TNGD_SECRET';

export interface SecretFlags {
  secretFile?: string;
  /** only on commands that had it before --secret-file (emulate, info, conformance) */
  secret?: string;
}

/**
 * --secret-file PATH (and, where `plain`, --secret S); $TNGD_SECRET otherwise. A secret given
 * as an argument lands in shell history and `ps`, so the file and the variable are preferred.
 */
export function addSecretOptions(cmd: Command, what: string, plain = false): Command {
  cmd.option('--secret-file <path>', `${what}: read the shared secret from this file (default: $${SECRET_ENV})`);
  if (plain) cmd.option('--secret <secret>', `${what}: the shared secret itself (visible in ps and shell history; prefer --secret-file or $${SECRET_ENV})`);
  return cmd;
}

/** The secret from --secret-file, --secret or $TNGD_SECRET (in that order), or undefined. */
export function resolveSecret(f: SecretFlags, env: NodeJS.ProcessEnv = process.env): string | undefined {
  if (f.secretFile !== undefined && f.secret !== undefined) throw new UsageError('--secret-file and --secret: give one, not both');
  if (f.secretFile !== undefined) {
    let text: string;
    try {
      text = readFileSync(f.secretFile, 'utf8');
    } catch (e) {
      throw new UsageError(`--secret-file: cannot read ${f.secretFile} (${(e as NodeJS.ErrnoException).code ?? (e as Error).message})`);
    }
    const secret = text.replace(/\r?\n$/, '');
    if (secret === '') throw new UsageError(`--secret-file: ${f.secretFile} is empty`);
    return secret;
  }
  if (f.secret !== undefined) {
    if (f.secret === '') throw new UsageError('--secret: empty secret');
    return f.secret;
  }
  const v = env[SECRET_ENV];
  return v === undefined || v === '' ? undefined : v;
}

export function addLogLevelOption(cmd: Command, dflt: (typeof LOG_LEVELS)[number]): Command {
  return cmd.addOption(new Option('--log-level <level>', 'log level on stderr').choices(LOG_LEVELS).default(dflt));
}

/** A pino logger on stderr: pretty on a terminal, JSON lines otherwise. */
export function cliLogger(level: string, cmd: string): Logger {
  const opts = { level, base: { cmd } };
  if (process.stderr.isTTY) return pino({ ...opts, transport: { target: 'pino-pretty', options: { destination: 2, colorize: true } } });
  return pino(opts, pino.destination({ dest: 2, sync: true }));
}

export interface DeviceFlags extends SecretFlags {
  json?: boolean;
  logLevel: string;
  timeout: string;
  allowFingerprintMismatch?: boolean;
}

/** Options shared by commands that talk to a device (info, conformance). */
export function addDeviceOptions(cmd: Command): Command {
  cmd.option('--json', 'print machine-readable JSON on stdout');
  addSecretOptions(cmd, 'tcp', true);
  cmd
    .option('--timeout <ms>', 'per-request timeout in milliseconds', '3000')
    .option('--allow-fingerprint-mismatch', 'connect to a device built from another revision of the v1 schemas (warn instead of refusing)');
  return addLogLevelOption(cmd, 'warn');
}

const deviceFlagsSchema = z.object({ timeout: numberFrom('--timeout', true, { min: 1, max: 600_000 }) });

/** Driver options from the device flags; every bad value is a UsageError naming its flag. */
export function driverOptions(f: DeviceFlags, logger: Logger): ConnectOptions {
  const problems: string[] = [];
  const parsed = parseFlags(deviceFlagsSchema, f as unknown as Record<string, unknown>, problems);
  let secret: string | undefined;
  try {
    secret = resolveSecret(f);
  } catch (e) {
    if (!(e instanceof UsageError)) throw e;
    problems.push(...e.problems);
  }
  if (problems.length) throw new UsageError(problems);
  return {
    logger,
    timeoutMs: parsed.timeout!,
    heartbeatIntervalMs: 0,
    ...(secret !== undefined ? { secret } : {}),
    ...(f.allowFingerprintMismatch ? { fingerprint: 'warn' as const } : {}),
  };
}
