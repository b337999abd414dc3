// `tngd emulate`: serve the emulated SPU on a pty (socat), on stdin/stdout, or on TCP.
// stdout carries exactly one line (the device path or address) for --pty/--tcp and nothing but
// protocol bytes for --stdio; logs go to stderr (pretty on a TTY, JSON lines otherwise).
// Exit codes: 0 normal end (signal, host closed stdio), 1 runtime failure, 2 usage.
//
// The device flags (--seed, --max-cells, --dac-bits, …) are generated from the emulator's option
// fields (src/emulator/firmware/option-fields.ts): the same bounds and messages as EmulatorOptions
// and emu: URLs. Their defaults here are larger than the bare emulator's so that every preset and
// README command fits (a standalone device cannot be sized per run as emu: is).
import type { Command } from 'commander';
import { Option } from 'commander';
import type { Logger } from 'pino';
import { z } from 'zod';
import { OPTION_FIELDS, PROFILE_NAMES, emulatorFactory, parseFields, resolveOptions } from '../../emulator/firmware/index.ts';
import type { EmulatorOptions, EmulatorPacing, ProfileName, ProfileOverrides } from '../../emulator/firmware/index.ts';
import { SocatMissingError, startPty } from '../../emulator/transports/pty.ts';
import { serveStdio } from '../../emulator/transports/stdio.ts';
import { RemoteBindRefusedError, isLoopbackHost, serveTcp } from '../../emulator/transports/tcp-server.ts';
import { EXIT, UsageError, addLogLevelOption, addSecretOptions, cliLogger, defineCommand, numberFrom, parseFlags, resolveSecret } from '../support.ts';
import { untilStopRequested } from '../../emulator/transports/lifetime.ts';
import { keepFreedHeap } from '../../emulator/transports/heap-trim.ts';
import type { SecretFlags } from '../support.ts';

/**
 * Defaults of the served device where they differ from the emulator's: N ≤ 16384, r ≤ 1024 and
 * 1 GiB of upload memory hold the default model (mlp:196-32-10, b = 32: N = 6634, r = 320) and
 * every preset (a test checks them against deviceNeeds()).
 */
export const EMULATE_DEFAULTS = { maxCells: 16384, maxRank: 1024, memoryBytes: 2 ** 30 } as const;

/**
 * BulkChunks the served device accepts in flight (the bare emulator's is 8). A host in another
 * process, over TCP, sees 1–3 ms chunk round trips at ~400 MB/s: 8 chunks of 64 KiB did not cover
 * that (4 MiB uploads 13.3–14.5 ms against 12.1–12.3 ms with 16, 3 A/B pairs; TRANSPORTS.md §7).
 */
export const EMULATE_BULK_WINDOW = 16;

interface Flags extends SecretFlags {
  pty?: boolean;
  link?: string;
  stdio?: boolean;
  tcp?: string;
  host: string;
  allowRemote?: boolean;
  insecure?: boolean;
  profile: string;
  tau?: string;
  logLevel: string;
  [field: string]: unknown;
}

const commandFlags = z.object({
  tcp: numberFrom('--tcp', true, { min: 0, max: 65535 }).optional(),
  tau: numberFrom('--tau', false, { min: Number.MIN_VALUE }).optional(),
});

/** Flags → emulator options; every problem is reported at once as a UsageError (exit 2). */
export function emulatorOptionsFromFlags(f: Flags, logger: Logger): EmulatorOptions {
  const problems: string[] = [];
  const cmd = parseFlags(commandFlags, f, problems);
  // --realtime is a switch: commander gives true; the field reads text.
  const given = { ...f, ...(f.realtime === true ? { realtime: '1' } : {}) };
  const p = parseFields(OPTION_FIELDS, given, 'flag');
  problems.push(...p.problems);
  if (problems.length) throw new UsageError(problems);
  const opts: EmulatorOptions = { ...EMULATE_DEFAULTS, ...(p.device as Partial<EmulatorOptions>), profile: f.profile as ProfileName, logger };
  if (Object.keys(p.profileOverrides).length > 0) opts.profileOverrides = p.profileOverrides as ProfileOverrides;
  if (Object.keys(p.pacing).length > 0) opts.pacing = p.pacing as EmulatorPacing;
  opts.capabilities = { bulkWindow: EMULATE_BULK_WINDOW, ...(cmd.tau !== undefined ? { tauSeconds: cmd.tau } : {}) };
  try {
    resolveOptions(opts);
  } catch (e) {
    throw new UsageError((e as Error).message);
  }
  return opts;
}

async function emulate(f: Flags): Promise<number> {
  const modes = [f.pty, f.stdio, f.tcp !== undefined].filter(Boolean).length;
  const problems: string[] = [];
  if (modes !== 1) problems.push('choose exactly one of --pty, --stdio or --tcp PORT');
  if (f.link !== undefined && !f.pty) problems.push('--link applies to --pty only');
  if ((f.secret !== undefined || f.secretFile !== undefined || f.allowRemote || f.insecure) && f.tcp === undefined)
    problems.push('--secret, --secret-file, --allow-remote and --insecure apply to --tcp only');
  if (problems.length) throw new UsageError(problems);
  const log = cliLogger(f.logLevel, 'emulate');
  const opts = emulatorOptionsFromFlags(f, log);
  const secret = f.tcp !== undefined ? resolveSecret(f) : undefined;
  const remote = f.tcp !== undefined && !isLoopbackHost(f.host);
  if (remote && f.allowRemote && secret === undefined) {
    // An unauthenticated device on a network interface: anyone who reaches the port drives it.
    if (!f.insecure)
      throw new UsageError(`--host ${f.host} serves the device beyond this machine without a shared secret; give --secret-file (or $TNGD_SECRET), or --insecure to serve it unauthenticated`);
    process.stderr.write(`WARNING: tngd emulate is serving an UNAUTHENTICATED device on ${f.host}: anyone who can reach this port can drive it (--insecure)\n`);
  }
  const factory = emulatorFactory(opts);
  // bulk uploads arrive as one fresh buffer per socket read: keep glibc from unmapping them
  await keepFreedHeap();
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
    const port = Number(f.tcp);
    const server = await serveTcp(factory, { port, host: f.host, secret, allowRemote: f.allowRemote, logger: log });
    process.stdout.write(`${server.url}\n`);
    log.info({ url: server.url, auth: secret !== undefined, seed: opts.seed, profile: opts.profile, overrides: opts.profileOverrides }, 'emulator serving on TCP');
    const sig = await signal.promise;
    await server.close();
    log.info({ reason: sig }, 'emulator stopped');
    return EXIT.ok;
  } catch (e) {
    if (e instanceof RemoteBindRefusedError) throw new UsageError(e.message.replace('allowRemote: true (CLI: --allow-remote)', '--allow-remote'));
    const code = (e as NodeJS.ErrnoException).code;
    const msg =
      e instanceof SocatMissingError
        ? e.message
        : code === 'EADDRINUSE'
          ? `TCP port ${f.tcp} on ${f.host} is already in use; pick another port (0 = any free port)`
          : code === 'EADDRNOTAVAIL'
            ? `cannot bind ${f.host}: no such local address`
            : ((e as Error).message ?? String(e));
    log.debug({ err: e }, msg);
    process.stderr.write(`tngd emulate: error: ${msg}\n`);
    return EXIT.failure;
  } finally {
    signal.dispose();
    log.flush?.();
  }
}

/** One option per emulator field, from its definition (flag, help, default). */
function addFieldOptions(cmd: Command): void {
  for (const field of OPTION_FIELDS) {
    if (field.key === 'analogRealtime') {
      cmd.option(field.flag, field.help);
      continue;
    }
    const dflt = (EMULATE_DEFAULTS as Record<string, number>)[field.key];
    const help = dflt !== undefined ? field.help.replace(/default \d+/, `default ${dflt}`) : field.help;
    cmd.option(`${field.flag} <${/integer/.test(field.help) ? 'n' : 'value'}>`, help);
  }
}

export function register(program: Command): Command {
  return defineCommand<Flags>(program, {
    name: 'emulate',
    description: 'Serve the emulated SPU as a device: a pty (via socat), stdin/stdout, or TCP',
    configure: (cmd) => {
      cmd
        .addOption(new Option('--pty', 'create a pseudo-terminal (needs socat) and print its path'))
        .addOption(new Option('--link <path>', 'with --pty: stable symlink to the pty (removed on exit)'))
        .addOption(new Option('--stdio', 'speak the protocol on stdin/stdout (for socat EXEC:"tngd emulate --stdio")'))
        .addOption(new Option('--tcp <port>', 'listen on TCP PORT (0 = any free port) and print tcp://host:port'))
        .option('--host <host>', 'with --tcp: address to bind (loopback unless --allow-remote)', '127.0.0.1')
        .option('--allow-remote', 'with --tcp: allow binding a non-loopback address (needs a secret, or --insecure)')
        .option('--insecure', 'with --allow-remote: serve without a shared secret (anyone reaching the port drives the device)');
      addSecretOptions(cmd, 'with --tcp: hosts must prove it', true);
      cmd.addOption(new Option('--profile <name>', 'non-ideality profile').choices(PROFILE_NAMES).default('ideal'));
      addFieldOptions(cmd);
      cmd.option('--tau <seconds>', 'advertised time constant τ in seconds (default 1e-6)');
      addLogLevelOption(cmd, 'info');
      cmd.addHelpText(
        'after',
        '\nExamples:\n  tngd emulate --pty                 # prints /dev/pts/N; open it with tngd info /dev/pts/N\n  tngd emulate --tcp 0               # prints tcp://127.0.0.1:PORT\n  socat pty,raw,echo=0,link=/tmp/spu EXEC:"tngd emulate --stdio"\n',
      );
    },
    run: (flags) => emulate(flags),
  });
}
