// `tngd emulate`: serve the emulated SPU on a pty (socat), on stdin/stdout, or on TCP.
// stdout carries exactly one line (the device path or address) for --pty/--tcp and nothing but
// protocol bytes for --stdio; logs go to stderr (pretty on a TTY, JSON lines otherwise).
// Exit codes: 0 normal end (signal, host closed stdio), 1 runtime failure, 2 usage.
import type { Command } from 'commander';
import { Option } from 'commander';
import { pino } from 'pino';
import type { Logger } from 'pino';
import { OVERRIDE_BITS_MAX, OVERRIDE_BITS_MIN, PROFILE_NAMES, emulatorFactory, resolveOptions } from '../../emulator/firmware/index.ts';
import type { EmulatorOptions, ProfileName, ProfileOverrides } from '../../emulator/firmware/index.ts';
import { SocatMissingError, startPty } from '../../emulator/transports/pty.ts';
import { serveStdio } from '../../emulator/transports/stdio.ts';
import { untilStopRequested } from '../../emulator/transports/lifetime.ts';
import { RemoteBindRefusedError, serveTcp } from '../../emulator/transports/tcp-server.ts';

const EXIT = { ok: 0, failure: 1, usage: 2 } as const;
const LOG_LEVELS = ['trace', 'debug', 'info', 'warn', 'error', 'fatal', 'silent'] as const;

class UsageError extends Error {}

interface Flags {
  pty?: boolean;
  link?: string;
  stdio?: boolean;
  tcp?: string;
  host: string;
  allowRemote?: boolean;
  secret?: string;
  seed: string;
  profile: string;
  maxCells?: string;
  maxRank?: string;
  maxFrameBytes?: string;
  memory?: string;
  pace?: string;
  realtime?: boolean;
  tau?: string;
  dacBits?: string;
  adcBits?: string;
  mismatch?: string;
  logLevel: string;
}

function int(name: string, v: string | undefined, lo: number, hi: number): number | undefined {
  if (v === undefined) return undefined;
  if (!/^\d+$/.test(v) || Number(v) < lo || Number(v) > hi) throw new UsageError(`${name} must be an integer in ${lo}..${hi}, got '${v}'`);
  return Number(v);
}

function num(name: string, v: string | undefined): number | undefined {
  if (v === undefined) return undefined;
  const x = Number(v);
  if (v.trim() === '' || !(x > 0) || !Number.isFinite(x)) throw new UsageError(`${name} must be a positive number, got '${v}'`);
  return x;
}

/** --dac-bits / --adc-bits: an integer in the override range, or 0 / none = not quantised. */
function bits(name: string, v: string | undefined): number | null | undefined {
  if (v === undefined) return undefined;
  if (v === 'none' || v === '0') return null;
  if (!/^\d+$/.test(v) || Number(v) < OVERRIDE_BITS_MIN || Number(v) > OVERRIDE_BITS_MAX)
    throw new UsageError(`${name} must be an integer in ${OVERRIDE_BITS_MIN}..${OVERRIDE_BITS_MAX}, or 0 / none for no quantisation, got '${v}'`);
  return Number(v);
}

function sigma(v: string | undefined): number | undefined {
  if (v === undefined) return undefined;
  const x = Number(v);
  if (v.trim() === '' || !(x >= 0 && x < 0.5)) throw new UsageError(`--mismatch must be a number in [0, 0.5), got '${v}'`);
  return x;
}

/** Flags → emulator options; every problem is a UsageError (exit 2). */
export function emulatorOptionsFromFlags(f: Flags, logger: Logger): EmulatorOptions {
  if (!(PROFILE_NAMES as string[]).includes(f.profile)) throw new UsageError(`--profile must be one of ${PROFILE_NAMES.join(', ')}, got '${f.profile}'`);
  const opts: EmulatorOptions = {
    seed: int('--seed', f.seed, 0, 0xffffffff),
    profile: f.profile as ProfileName,
    maxCells: int('--max-cells', f.maxCells, 1, 1 << 24),
    maxRank: int('--max-rank', f.maxRank, 1, 1 << 16),
    maxFrameBytes: int('--max-frame-bytes', f.maxFrameBytes, 1024, 65535),
    memoryBytes: int('--memory', f.memory, 1024, 2 ** 40),
    logger,
  };
  const ov: ProfileOverrides = {};
  const dac = bits('--dac-bits', f.dacBits);
  const adc = bits('--adc-bits', f.adcBits);
  const sg = sigma(f.mismatch);
  if (dac !== undefined) ov.dacBits = dac;
  if (adc !== undefined) ov.adcBits = adc;
  if (sg !== undefined) ov.mismatchSigma = sg;
  if (Object.keys(ov).length > 0) opts.profileOverrides = ov;
  const rate = num('--pace', f.pace);
  if (rate !== undefined || f.realtime) opts.pacing = { linkBytesPerSecond: rate, analogRealtime: f.realtime === true };
  const tau = num('--tau', f.tau);
  if (tau !== undefined) opts.capabilities = { tauSeconds: tau };
  try {
    resolveOptions(opts);
  } catch (e) {
    throw new UsageError((e as Error).message);
  }
  return opts;
}

function makeLogger(level: string): Logger {
  if (!(LOG_LEVELS as readonly string[]).includes(level)) throw new UsageError(`--log-level must be one of ${LOG_LEVELS.join(', ')}, got '${level}'`);
  const opts = { level, base: { cmd: 'emulate' } };
  if (process.stderr.isTTY) return pino({ ...opts, transport: { target: 'pino-pretty', options: { destination: 2, colorize: true } } });
  return pino(opts, pino.destination({ dest: 2, sync: true }));
}

async function emulate(f: Flags): Promise<number> {
  const modes = [f.pty, f.stdio, f.tcp !== undefined].filter(Boolean).length;
  if (modes !== 1) throw new UsageError('choose exactly one of --pty, --stdio or --tcp PORT');
  if (f.link !== undefined && !f.pty) throw new UsageError('--link applies to --pty only');
  if ((f.secret !== undefined || f.allowRemote) && f.tcp === undefined) throw new UsageError('--secret and --allow-remote apply to --tcp only');
  const log = makeLogger(f.logLevel);
  const opts = emulatorOptionsFromFlags(f, log);
  const factory = emulatorFactory(opts);
  // SIGINT/SIGTERM/SIGHUP, or the launching process (e.g. npm's wrapper) gone: stop cleanly
  const signal = untilStopRequested();
  try {
    if (f.stdio) {
      const session = serveStdio(factory);
      log.info({ seed: opts.seed, profile: opts.profile, overrides: opts.profileOverrides }, 'emulator serving on stdin/stdout');
      const how = await Promise.race([session.done.then(() => 'host closed' as const), signal.promise]);
      session.close();
      log.info({ reason: how }, 'emulator stopped');
      return EXIT.ok;
    }
    if (f.pty) {
      const pty = await startPty({ factory, link: f.link });
      process.stdout.write(`${pty.path}\n`);
      log.info({ path: pty.path, pts: pty.ptsPath, seed: opts.seed, profile: opts.profile, overrides: opts.profileOverrides }, 'emulator serving on a pty');
      const how = await Promise.race([pty.exited.then(() => 'socat exited' as const), signal.promise]);
      await pty.close();
      log.info({ reason: how }, 'emulator stopped');
      return how === 'socat exited' ? EXIT.failure : EXIT.ok;
    }
    const port = int('--tcp', f.tcp, 0, 65535)!;
    const server = await serveTcp(factory, { port, host: f.host, secret: f.secret ?? process.env.TNGD_SECRET, allowRemote: f.allowRemote, logger: log });
    process.stdout.write(`${server.url}\n`);
    log.info({ url: server.url, auth: f.secret !== undefined || process.env.TNGD_SECRET !== undefined, seed: opts.seed, profile: opts.profile, overrides: opts.profileOverrides }, 'emulator serving on TCP');
    const sig = await signal.promise;
    await server.close();
    log.info({ reason: sig }, 'emulator stopped');
    return EXIT.ok;
  } catch (e) {
    if (e instanceof RemoteBindRefusedError) throw new UsageError(e.message.replace('allowRemote: true (CLI: --allow-remote)', '--allow-remote'));
    if (e instanceof SocatMissingError) log.error(e.message);
    else if ((e as NodeJS.ErrnoException).code === 'EADDRINUSE') log.error(`TCP port ${f.tcp} on ${f.host} is already in use; pick another port (0 = any free port)`);
    else if ((e as NodeJS.ErrnoException).code === 'EADDRNOTAVAIL') log.error(`cannot bind ${f.host}: no such local address`);
    else log.error({ err: e }, (e as Error).message ?? String(e));
    process.stderr.write(`tngd emulate: error: ${(e as Error).message ?? String(e)}\n`);
    return EXIT.failure;
  } finally {
    signal.dispose();
    log.flush?.();
  }
}

export function register(program: Command): Command {
  const cmd = program
    .command('emulate')
    .description('Serve the emulated SPU as a device: a pty (via socat), stdin/stdout, or TCP')
    .addOption(new Option('--pty', 'create a pseudo-terminal (needs socat) and print its path'))
    .addOption(new Option('--link <path>', 'with --pty: stable symlink to the pty (removed on exit)'))
    .addOption(new Option('--stdio', 'speak the protocol on stdin/stdout (for socat EXEC:"tngd emulate --stdio")'))
    .addOption(new Option('--tcp <port>', 'listen on TCP PORT (0 = any free port) and print tcp://host:port'))
    .option('--host <host>', 'with --tcp: address to bind (loopback unless --allow-remote)', '127.0.0.1')
    .option('--allow-remote', 'with --tcp: allow binding a non-loopback address')
    .option('--secret <secret>', 'with --tcp: shared secret hosts must prove (default: $TNGD_SECRET)')
    .option('--seed <n>', 'noise and mismatch seed (u32)', '0')
    .addOption(new Option('--profile <name>', 'non-ideality profile').choices(PROFILE_NAMES).default('ideal'))
    .option('--dac-bits <b>', `override the profile's DAC resolution: ${OVERRIDE_BITS_MIN}..${OVERRIDE_BITS_MAX}, or 0 / none = not quantised`)
    .option('--adc-bits <b>', `override the profile's ADC resolution: ${OVERRIDE_BITS_MIN}..${OVERRIDE_BITS_MAX}, or 0 / none = not quantised`)
    .option('--mismatch <sigma>', "override the profile's coupling mismatch σ, in [0, 0.5)")
    .option('--max-cells <n>', 'largest N the device accepts (default 4096)')
    .option('--max-rank <n>', 'largest factor rank r (default 256)')
    .option('--max-frame-bytes <n>', 'largest frame the device accepts, 1024..65535 (default 65535)')
    .option('--memory <bytes>', 'memory budget for uploads (default 67108864)')
    .option('--pace <bytesPerSecond>', 'send and receive no faster than this link rate (off by default)')
    .option('--realtime', 'runs take their analog time (duration × tau) of wall time')
    .option('--tau <seconds>', 'advertised time constant τ in seconds (default 1e-6)')
    .addOption(new Option('--log-level <level>', 'log level on stderr').choices(LOG_LEVELS).default('info'))
    .addHelpText('after', '\nExamples:\n  tngd emulate --pty                 # prints /dev/pts/N; open it with tngd info /dev/pts/N\n  tngd emulate --tcp 0               # prints tcp://127.0.0.1:PORT\n  socat pty,raw,echo=0,link=/tmp/spu EXEC:"tngd emulate --stdio"\n')
    .exitOverride((err) => process.exit(err.exitCode === 0 ? EXIT.ok : EXIT.usage))
    .action(async (flags: Flags) => {
      try {
        process.exitCode = await emulate(flags);
      } catch (e) {
        if (!(e instanceof UsageError)) throw e;
        process.stderr.write(`tngd emulate: error: ${e.message}\n(see tngd emulate --help)\n`);
        process.exitCode = EXIT.usage;
      }
    });
  return cmd;
}
