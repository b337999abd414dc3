// A real pseudo-terminal for a device, so any serial program (serialport, pyserial, minicom)
// opens it like hardware. socat (Debian package `socat`) owns the pty master; its other end is
// either our stdio pipes wired to an in-process device, or a command it runs (EXEC variant, e.g.
// `tngd emulate --stdio`). The pty survives hosts opening and closing it; if the device powers
// off, socat exits and the host sees the port vanish, as with a USB unplug.
import { spawn, type ChildProcess } from 'node:child_process';
import { lstatSync, rmSync } from 'node:fs';
import type { DeviceFactory } from './device.ts';

export class SocatMissingError extends Error {
  constructor(bin: string) {
    super(`cannot run '${bin}': the pty transport needs socat. Install the Debian package socat (apt-get install socat).`);
    this.name = 'SocatMissingError';
  }
}

export interface StartPtyOptions {
  /** In-process device served over the pty (STDIO variant). Exactly one of factory / exec. */
  factory?: DeviceFactory;
  /** Command socat runs with its stdin/stdout as the device (EXEC variant); no shell. */
  exec?: string;
  /** Stable symlink to the pty (e.g. /tmp/tngd-spu); removed on close. */
  link?: string;
  /** socat binary, default 'socat'. */
  socatPath?: string;
  /** How long socat may take to create the pty. Default 5000 ms. */
  readyTimeoutMs?: number;
}

export interface PtyDevice {
  /** What a host opens: the link if one was asked for, else /dev/pts/N. */
  readonly path: string;
  /** The /dev/pts/N that socat allocated. */
  readonly ptsPath: string;
  readonly pid: number;
  /** Settles when socat exits, for whatever reason. */
  readonly exited: Promise<{ code: number | null; signal: NodeJS.Signals | null }>;
  /** Stops socat, powers the device off and removes the link. Idempotent. */
  close(): Promise<void>;
}

// socat address syntax gives meaning to these; refuse rather than half-escape.
const SOCAT_SPECIAL = /[,:!"'\\\s]/;

const live = new Set<{ child: ChildProcess; link?: string }>();
let exitHookInstalled = false;
function installExitHook(): void {
  if (exitHookInstalled) return;
  exitHookInstalled = true;
  // A crashed or interrupted emulator must not leave socat and a dangling link behind.
  process.once('exit', () => {
    for (const p of live) {
      p.child.kill('SIGTERM');
      if (p.link) rmSync(p.link, { force: true });
    }
  });
}

export async function startPty(options: StartPtyOptions): Promise<PtyDevice> {
  const { factory, exec, link, socatPath = 'socat', readyTimeoutMs = 5000 } = options;
  if ((factory === undefined) === (exec === undefined)) throw new TypeError('startPty needs exactly one of factory or exec');
  if (link !== undefined && (link.length === 0 || SOCAT_SPECIAL.test(link))) {
    throw new Error(`pty link path ${JSON.stringify(link)} contains characters socat cannot take (, : ! quotes, backslash, spaces)`);
  }
  if (link !== undefined) {
    // socat silently replaces whatever is at the link path and deletes it on exit: only a
    // (stale) symlink may be replaced, never a real file.
    const st = lstatSync(link, { throwIfNoEntry: false });
    if (st && !st.isSymbolicLink()) throw new Error(`refusing to use ${link} as the pty link: a file that is not a symlink exists there`);
  }
  if (exec !== undefined && /[,!]/.test(exec)) {
    throw new Error('the exec command cannot contain "," or "!" (socat address syntax); wrap it in a script');
  }
  const ptyAddr = `pty,raw,echo=0${link ? `,link=${link}` : ''}`;
  const peerAddr = exec !== undefined ? `EXEC:${exec}` : 'STDIO';
  const child = spawn(socatPath, ['-d', '-d', ptyAddr, peerAddr], {
    stdio: [exec !== undefined ? 'ignore' : 'pipe', exec !== undefined ? 'ignore' : 'pipe', 'pipe'],
  });
  const entry = { child, link };
  live.add(entry);
  installExitHook();

  const exited = new Promise<{ code: number | null; signal: NodeJS.Signals | null }>((resolve) => {
    child.once('exit', (code, signal) => {
      live.delete(entry);
      if (link) rmSync(link, { force: true });
      resolve({ code, signal });
    });
  });

  let stderrTail = '';
  let ready = false;
  const ptsPath = await new Promise<string>((resolve, reject) => {
    let pts: string | null = null;
    const fail = (e: Error): void => {
      if (ready) return;
      ready = true;
      clearTimeout(timer);
      child.kill('SIGTERM');
      reject(e);
    };
    const timer = setTimeout(() => fail(new Error(`socat did not create a pty within ${readyTimeoutMs} ms: ${stderrTail.trim()}`)), readyTimeoutMs);
    child.once('error', (e: NodeJS.ErrnoException) => fail(e.code === 'ENOENT' ? new SocatMissingError(socatPath) : e));
    child.once('exit', (code) => fail(new Error(`socat exited (code ${code}) before the pty was ready: ${stderrTail.trim()}`)));
    // Keep draining socat's diagnostics so its stderr pipe never fills.
    child.stderr!.on('data', (d: Buffer) => {
      stderrTail = (stderrTail + d.toString()).slice(-4000);
      if (ready) return;
      pts ??= /PTY is (\S+)/.exec(stderrTail)?.[1] ?? null;
      // The link (if any) exists once socat enters its transfer loop.
      if (pts && /starting data transfer loop/.test(stderrTail)) {
        ready = true;
        clearTimeout(timer);
        resolve(pts);
      }
    });
  });

  const device = factory?.();
  if (device) {
    const toHost = child.stdin!;
    const fromHost = child.stdout!;
    toHost.on('error', () => {}); // EPIPE when socat is gone; the exit path handles it
    device.on('error', () => {});
    // device.pipe(toHost), except that the replies made in one turn (one per BulkChunk) reach
    // socat in one write
    let corked = false;
    device.on('data', (chunk: Buffer) => {
      if (!corked) {
        corked = true;
        toHost.cork();
        setImmediate(() => {
          corked = false;
          toHost.uncork();
        });
      }
      if (!toHost.write(chunk)) {
        device.pause();
        toHost.once('drain', () => device.resume());
      }
    });
    device.once('end', () => toHost.end());
    fromHost.pipe(device, { end: false });
    // Either side dying ends the pair: a dead device takes the pty away; a dead socat powers off.
    device.once('close', () => child.kill('SIGTERM'));
    device.once('end', () => child.kill('SIGTERM'));
    child.once('exit', () => device.destroy());
  }

  let closing: Promise<void> | null = null;
  return {
    path: link ?? ptsPath,
    ptsPath,
    pid: child.pid ?? -1,
    exited,
    close() {
      closing ??= (async () => {
        if (child.exitCode === null && child.signalCode === null) child.kill('SIGTERM');
        await exited;
        device?.destroy();
        if (link) rmSync(link, { force: true });
      })();
      return closing;
    },
  };
}
