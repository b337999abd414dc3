// `tngd info URL`: connect, print identity, capabilities and status (or --json), disconnect.
// Logs go to stderr (pretty on a TTY, JSON lines otherwise). Exit codes: 0 ok, 1 the device
// could not be reached or answered wrongly, 2 usage (bad option or URL).
import type { Command } from 'commander';
import { Option } from 'commander';
import { pino } from 'pino';
import type { Logger } from 'pino';
import { connect } from '../../connect.ts';
import type { ConnectOptions } from '../../connect.ts';
import { DriverError } from '../../driver/errors.ts';
import type { SpuDriver } from '../../driver/driver.ts';
import type { DeviceInfo, DeviceStatus } from '../../driver/types.ts';
import { LinkError } from '../../driver/transports/errors.ts';
import { SCHEMA_FINGERPRINT } from '../../protocol/index.ts';

export const EXIT = { ok: 0, failure: 1, usage: 2 } as const;
export const LOG_LEVELS = ['trace', 'debug', 'info', 'warn', 'error', 'fatal', 'silent'] as const;

export class UsageError extends Error {}

export interface DeviceFlags {
  json?: boolean;
  logLevel: string;
  secret?: string;
  timeout: string;
  allowFingerprintMismatch?: boolean;
}

/** Options shared by commands that talk to a device (info, conformance). */
export function addDeviceOptions(cmd: Command): Command {
  return cmd
    .option('--json', 'print machine-readable JSON on stdout')
    .addOption(new Option('--secret <secret>', 'tcp: shared secret of the device server').env('TNGD_SECRET'))
    .option('--timeout <ms>', 'per-request timeout in milliseconds', '3000')
    .option('--allow-fingerprint-mismatch', 'connect to a device built from another revision of the v1 schemas (warn instead of refusing)')
    .addOption(new Option('--log-level <level>', 'log level on stderr').choices(LOG_LEVELS).default('warn'));
}

export function cliLogger(level: string, cmd: string): Logger {
  if (!(LOG_LEVELS as readonly string[]).includes(level)) throw new UsageError(`--log-level must be one of ${LOG_LEVELS.join(', ')}, got '${level}'`);
  const opts = { level, base: { cmd } };
  if (process.stderr.isTTY) return pino({ ...opts, transport: { target: 'pino-pretty', options: { destination: 2, colorize: true } } });
  return pino(opts, pino.destination({ dest: 2, sync: true }));
}

export function driverOptions(f: DeviceFlags, logger: Logger): ConnectOptions {
  const timeoutMs = Number(f.timeout);
  if (!/^\d+$/.test(f.timeout) || timeoutMs < 1 || timeoutMs > 600_000) throw new UsageError(`--timeout must be an integer number of milliseconds in 1..600000, got '${f.timeout}'`);
  return {
    logger,
    timeoutMs,
    heartbeatIntervalMs: 0,
    ...(f.secret !== undefined ? { secret: f.secret } : {}),
    ...(f.allowFingerprintMismatch ? { fingerprint: 'warn' as const } : {}),
  };
}

/** Maps a failure to an exit code and a one-line message on stderr. */
export function reportFailure(e: unknown, logger: Logger): number {
  if (e instanceof UsageError || (e instanceof LinkError && e.code === 'BAD_URL')) {
    process.stderr.write(`error: ${(e as Error).message}\n`);
    return EXIT.usage;
  }
  if (e instanceof DriverError || e instanceof LinkError) {
    process.stderr.write(`error: ${e.message}\n`);
    logger.debug({ err: e }, 'failed');
    return EXIT.failure;
  }
  throw e;
}

function yesNo(b: boolean): string {
  return b ? 'yes' : 'no';
}

export function formatInfo(info: DeviceInfo, status: DeviceStatus, rttMs: number): string {
  const c = info.capabilities;
  const id = info.identity;
  const fpNote = info.schemaFingerprint === SCHEMA_FINGERPRINT ? 'matches this host' : `host has ${SCHEMA_FINGERPRINT}`;
  const counters = Object.entries(status.counters)
    .map(([k, v]) => `${k} ${v}`)
    .join(', ');
  const bits = (b: number): string => (b > 0 ? `${b} bit` : 'ideal');
  return [
    `device       ${id.vendor} ${id.model}, serial ${id.serial}, firmware ${id.firmware}`,
    `link         ${info.link}`,
    `protocol     ${info.protocol.major}.${info.protocol.minor}, schema fingerprint ${info.schemaFingerprint} (${fpNote}), session ${info.sessionId}`,
    'capabilities',
    `  size       N ≤ ${c.maxCells} cells, rank r ≤ ${c.maxRank}`,
    `  tensors    ${c.dtypes.join(', ')}; DAC ${bits(c.dacBits)}, ADC ${bits(c.adcBits)}, full scale ${c.fullScale}`,
    `  analog     τ = ${c.tauSeconds} s, κ₀ ∈ [${c.kappa0Min}, ${c.kappa0Max}]`,
    `  link       frames ≤ ${c.maxFrameBytes} B, rate ${c.linkBytesPerSecond > 0 ? `${c.linkBytesPerSecond} B/s` : 'unknown'}, ${c.maxOpenTransfers} transfers, window ${c.bulkWindow}`,
    `  buffers    sample ring ${c.sampleRingBlocks} blocks, error queue ${c.errorQueueDepth}`,
    `  features   ${c.features.join(', ') || '(none)'}`,
    'status',
    `  state      ${status.state}, uptime ${(status.uptimeMs / 1000).toFixed(1)} s, heartbeat round trip ${rttMs.toFixed(2)} ms`,
    `  loaded     n = ${status.n}, curvature ${yesNo(status.hasCurvature)}, gradient ${yesNo(status.hasGradient)}, open transfers ${status.openTransfers}, last run ${status.runId}${status.runIndex !== undefined ? `, run counter ${status.runIndex}` : ''}`,
    `  errors     ${status.errorQueueLength} queued${status.lastError ? `, last 0x${status.lastError.code.toString(16)}: ${status.lastError.message}` : ''}`,
    `  link rx    ${counters}`,
  ].join('\n');
}

async function info(url: string, f: DeviceFlags): Promise<number> {
  const logger = cliLogger(f.logLevel, 'info');
  let dev: SpuDriver | null = null;
  try {
    dev = await connect(url, driverOptions(f, logger));
    const hb = await dev.heartbeat();
    const status = await dev.status();
    if (f.json) process.stdout.write(`${JSON.stringify({ info: dev.info, status, heartbeatRttMs: hb.rttMs }, null, 2)}\n`);
    else process.stdout.write(`${formatInfo(dev.info, status, hb.rttMs)}\n`);
    return EXIT.ok;
  } catch (e) {
    return reportFailure(e, logger);
  } finally {
    await dev?.close();
  }
}

export function register(program: Command): void {
  addDeviceOptions(
    program
      .command('info')
      .description('Connect to a device and print its identity, capabilities and status')
      .argument('<url>', 'device: /dev/ttyUSB0, serial:///dev/ttyUSB0?baud=921600, tcp://host:port, emu:?seed=1'),
  )
    .addHelpText('after', '\nExamples:\n  tngd info /dev/pts/3\n  tngd info tcp://127.0.0.1:5555 --json\n  tngd info "emu:?seed=1&profile=prototype"\n')
    .exitOverride((err) => process.exit(err.exitCode === 0 ? EXIT.ok : EXIT.usage))
    .action(async (url: string, flags: DeviceFlags) => {
      try {
        process.exitCode = await info(url, flags);
      } catch (e) {
        if (!(e instanceof UsageError)) throw e;
        process.stderr.write(`error: ${e.message}\n`);
        process.exitCode = EXIT.usage;
      }
    });
}
