// How long a served emulator lives (`tngd emulate`): until SIGINT, SIGTERM or SIGHUP, or until the
// process that launched it is gone. The last case matters under npm: `npx tngd emulate --pty &`
// puts npm's wrapper in `$!`; npm runs us through `sh -c`, and SIGTERM to npm kills only that
// shell (we are re-parented), SIGKILL to npm kills nothing below it. Node has no parent-death
// signal, so the launch chain is polled: our parent, and — when npm/npx launched us — every
// ancestor up to and including that npm process. socat, our child, needs no watch: it reads our
// pipes and exits on their EOF however we end (pty.ts kills it on a clean stop).
import { readFileSync } from 'node:fs';

export type StopReason = 'SIGINT' | 'SIGTERM' | 'SIGHUP' | 'parent-exited';

export interface StopWatch {
  /** Settles with the first reason to stop. */
  readonly promise: Promise<StopReason>;
  /** The ancestors watched, nearest first (empty: not watching, e.g. the parent is init). */
  readonly watched: readonly number[];
  /** Removes the signal handlers and stops polling. */
  dispose(): void;
}

export interface StopWatchOptions {
  /** Poll period of the launch chain in ms (default 250). */
  pollMs?: number;
  /** Watch the launch chain (default true). */
  watchParent?: boolean;
}

/** ppid and argv of a process from Linux /proc; null if it is gone or /proc is unavailable. */
function procInfo(pid: number): { ppid: number; argv: string[] } | null {
  try {
    const stat = readFileSync(`/proc/${pid}/stat`, 'latin1');
    // "pid (comm) state ppid …": comm may hold spaces and parentheses, so split after the last ')'
    const ppid = Number(stat.slice(stat.lastIndexOf(')') + 2).split(' ')[1]);
    const argv = readFileSync(`/proc/${pid}/cmdline`, 'utf8').split('\0').filter((a) => a.length > 0);
    return Number.isInteger(ppid) ? { ppid, argv } : null;
  } catch {
    return null;
  }
}

const SHELLS = new Set(['sh', 'dash', 'bash', 'zsh', 'ash', 'busybox']);
const base = (p: string) => p.slice(p.lastIndexOf('/') + 1);

/** npm and npx rewrite their title to "npm exec …" / "npm run …"; older ones keep npm-cli.js in argv. */
export function isNpmProcess(argv: readonly string[]): boolean {
  const first = (argv[0] ?? '').split(' ')[0];
  return ['npm', 'npx'].includes(base(first)) || argv.some((a) => /(^|\/)(npm|npx)-cli\.js$/.test(a));
}

function isShellCommand(argv: readonly string[]): boolean {
  return SHELLS.has(base(argv[0] ?? '')) && argv.includes('-c');
}

/**
 * The ancestors to watch, nearest first: the parent; and if an npm/npx process launched us
 * through shells (`sh -c`), every ancestor up to and including it. Never init (pid 1).
 */
export function launchChain(selfPpid = process.ppid, info = procInfo): number[] {
  if (selfPpid <= 1) return [];
  const chain = [selfPpid];
  for (let pid = selfPpid, depth = 0; depth < 4; depth++) {
    const p = info(pid);
    if (!p) break;
    if (isNpmProcess(p.argv)) return chain; // the chain ends with npm itself
    if (!isShellCommand(p.argv) || p.ppid <= 1) break;
    chain.push(p.ppid);
    pid = p.ppid;
  }
  return [selfPpid];
}

/** True while every watched ancestor still has the parent it had when watching began. */
function chainIntact(chain: readonly number[], info = procInfo): boolean {
  if (process.ppid !== chain[0]) return false;
  for (let k = 1; k < chain.length; k++) {
    const p = info(chain[k - 1]);
    if (!p || p.ppid !== chain[k]) return false;
  }
  return true;
}

/** Resolves on SIGINT, SIGTERM or SIGHUP, or when a watched ancestor exits. */
export function untilStopRequested(opts: StopWatchOptions = {}): StopWatch {
  const pollMs = opts.pollMs ?? 250;
  let resolve!: (r: StopReason) => void;
  const promise = new Promise<StopReason>((r) => (resolve = r));
  const handlers = (['SIGINT', 'SIGTERM', 'SIGHUP'] as const).map((sig) => {
    const h = (): void => resolve(sig);
    process.once(sig, h);
    return [sig, h] as const;
  });
  const watched = opts.watchParent === false ? [] : launchChain();
  const timer =
    watched.length > 0
      ? setInterval(() => {
          if (!chainIntact(watched)) resolve('parent-exited');
        }, pollMs)
      : null;
  // never the reason the process stays alive
  timer?.unref();
  return {
    promise,
    watched,
    dispose() {
      if (timer) clearInterval(timer);
      for (const [sig, h] of handlers) process.off(sig, h);
    },
  };
}
