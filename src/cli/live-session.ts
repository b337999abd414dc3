// CLI plumbing for the live run page, shared by `tngd train` and `tngd compare`: the --serve
// options, their checks, and a session that records the run (device.json, state.json, periodic
// report) and, with --serve, serves the page while the run goes on.
import type { Command } from 'commander';
import { LiveRecorder } from '../host-loop/run/live/recorder.ts';
import { LiveServer, LiveServerUsageError } from '../host-loop/run/live/server.ts';
import { TrainUsageError } from '../host-loop/train/errors.ts';

export const DEFAULT_SERVE_PORT = 8750;

export function addServeOptions(cmd: Command): Command {
  return cmd
    .option('--serve [port]', `serve a live page of the run on http://127.0.0.1:PORT/ while it trains (default port ${DEFAULT_SERVE_PORT}; 0 = any free port)`)
    .option('--serve-host <addr>', 'with --serve: address to bind (loopback unless --allow-remote)')
    .option('--allow-remote', 'with --serve: allow a non-loopback --serve-host (needs --serve-secret)')
    .option('--serve-secret <secret>', 'with --serve: secret the page asks for (?token=…; default $TNGD_SECRET)')
    .option('--sample-state', 'record x(t) traces for the page even with the exact integrator and κ₀ > 0, where streaming changes the noise draws (not bit-identical)');
}

export interface ServeSettings {
  port: number;
  host: string;
  allowRemote: boolean;
  secret: string | undefined;
}

/** Validated --serve settings (null without --serve); problems are appended. */
export function serveSettingsFromFlags(flags: Record<string, unknown>, problems: string[]): ServeSettings | null {
  const s = flags.serve;
  if (s === undefined || s === false) {
    for (const f of ['serveHost', 'allowRemote', 'serveSecret'] as const)
      if (flags[f] !== undefined) problems.push(`--${f.replace(/[A-Z]/g, (c) => '-' + c.toLowerCase())} applies with --serve only`);
    return null;
  }
  let port = DEFAULT_SERVE_PORT;
  if (typeof s === 'string') {
    port = Number(s);
    if (!/^\d+$/.test(s) || port > 65535) problems.push(`--serve: expected a port number 0..65535, got '${s}'`);
  }
  return {
    port,
    host: typeof flags.serveHost === 'string' ? flags.serveHost : '127.0.0.1',
    allowRemote: flags.allowRemote === true,
    secret: typeof flags.serveSecret === 'string' ? flags.serveSecret : process.env.TNGD_SECRET || undefined,
  };
}

export interface LiveSession {
  recorder: LiveRecorder;
  server: LiveServer | null;
  /** a last poll for connected pages, then the server stops */
  close(): Promise<void>;
}

/** Starts recording (always) and, with settings, serving `root` (a run folder or a comparison's). */
export async function startLiveSession(root: string, title: string, serve: ServeSettings | null, say: (line: string) => void, sampleState = false): Promise<LiveSession> {
  const recorder = new LiveRecorder({ root, title, traceAnyRun: sampleState });
  let server: LiveServer | null = null;
  if (serve) {
    let url: string;
    try {
      server = new LiveServer({ roots: [root], title, port: serve.port, host: serve.host, allowRemote: serve.allowRemote, secret: serve.secret });
      url = await server.start();
    } catch (e) {
      await server?.close();
      if (e instanceof LiveServerUsageError) throw new TrainUsageError([`--serve: ${e.message}`]);
      const code = (e as NodeJS.ErrnoException).code;
      if (code === 'EADDRINUSE') throw new TrainUsageError([`--serve: port ${serve.port} on ${serve.host} is in use; pick another (--serve 0 = any free port)`]);
      if (code === 'EADDRNOTAVAIL') throw new TrainUsageError([`--serve-host ${serve.host}: no such local address`]);
      throw e;
    }
    say(`live page: ${url}${serve.secret !== undefined ? '?token=<secret>' : ''}`);
  }
  return {
    recorder,
    server,
    close: async () => {
      await server?.close();
    },
  };
}

/** --serve flags → a live session for `root` (a usage error for bad flags); progress lines go to stderr. */
export function liveSessionFromFlags(flags: Record<string, unknown>, root: string, title: string): Promise<LiveSession> {
  const problems: string[] = [];
  const serve = serveSettingsFromFlags(flags, problems);
  if (problems.length) throw new TrainUsageError(problems);
  return startLiveSession(root, title, serve, (l) => process.stderr.write(`${l}\n`), flags.sampleState === true);
}
