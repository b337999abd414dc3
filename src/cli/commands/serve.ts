// `tngd serve RUN_DIR…`: the live run page over run folders, read-only, until Ctrl-C. A folder may
// be one run (tngd train's) or a comparison's (its run sub-folders); runs still being written
// update live. Exit codes: 0 stopped by a signal, 1 runtime failure (port taken), 2 bad usage.
import type { Command } from 'commander';
import { existsSync, statSync } from 'node:fs';
import { basename, resolve } from 'node:path';
import { LiveServer, LiveServerUsageError } from '../../host-loop/run/live/server.ts';
import { DEFAULT_SERVE_PORT } from '../live-session.ts';
import { EXIT, defineCommand, untilSignal } from '../support.ts';

type ServeFlags = Record<string, unknown>;

export function register(program: Command): Command {
  return defineCommand<ServeFlags>(program, {
    name: 'serve',
    description: 'serve the live run page for run folders (tngd train/compare output), read-only; runs still going update live',
    args: [['<run-dir...>', 'run folders, or comparison folders holding run folders']],
    configure: (cmd) => {
      cmd
        .option('--port <port>', `TCP port (0 = any free port)`, String(DEFAULT_SERVE_PORT))
        .option('--host <addr>', 'address to bind (loopback unless --allow-remote)', '127.0.0.1')
        .option('--allow-remote', 'allow a non-loopback --host (needs --secret)')
        .option('--secret <secret>', 'secret the page asks for (?token=…; default $TNGD_SECRET)')
        .option('--title <text>', 'page title');
    },
    run: (flags, args) => runServe(args.flat(), flags),
  });
}

async function runServe(dirs: string[], flags: Record<string, unknown>): Promise<number> {
  const say = (l: string): void => {
    process.stderr.write(`${l}\n`);
  };
  const problems: string[] = [];
  const roots = dirs.map((d) => resolve(d));
  for (const [i, r] of roots.entries()) if (!existsSync(r) || !statSync(r).isDirectory()) problems.push(`${dirs[i]}: not a folder`);
  const portText = String(flags.port);
  const port = Number(portText);
  if (!/^\d+$/.test(portText) || port > 65535) problems.push(`--port: expected a port number 0..65535, got '${portText}'`);
  if (problems.length) {
    say(`tngd serve: error: ${problems.length === 1 ? problems[0] : `invalid options:\n  - ${problems.join('\n  - ')}`}`);
    return EXIT.usage;
  }
  const host = String(flags.host);
  let server: LiveServer;
  try {
    server = new LiveServer({
      roots,
      title: typeof flags.title === 'string' ? flags.title : `tngd serve: ${roots.map((r) => basename(r)).join(', ')}`,
      port,
      host,
      allowRemote: flags.allowRemote === true,
      secret: typeof flags.secret === 'string' ? flags.secret : process.env.TNGD_SECRET || undefined,
    });
    const url = await server.start();
    process.stdout.write(`${url}\n`);
    say(`serving ${roots.length} folder(s) read-only on ${url}${flags.secret !== undefined || process.env.TNGD_SECRET ? '?token=<secret>' : ''} (Ctrl-C stops)`);
  } catch (e) {
    if (e instanceof LiveServerUsageError) {
      say(`tngd serve: error: ${e.message}`);
      return EXIT.usage;
    }
    const code = (e as NodeJS.ErrnoException).code;
    if (code === 'EADDRINUSE') say(`tngd serve: error: port ${port} on ${host} is in use; pick another (--port 0 = any free port)`);
    else if (code === 'EADDRNOTAVAIL') say(`tngd serve: error: cannot bind ${host}: no such local address`);
    else say(`tngd serve: error: ${(e as Error).message}`);
    return EXIT.failure;
  }
  const stop = untilSignal();
  const sig = await stop.promise;
  stop.dispose();
  say(`${sig}: stopping`);
  await server.close();
  return EXIT.ok;
}
