// `tngd emulate --pty` must not outlive the process that launched it (npm's wrapper when run as
// `npx tngd emulate --pty &`), and socat must not outlive the emulator — whichever process the
// user signals. Real processes: an npm-like wrapper (titled "npm exec …", running the emulator
// through `sh -c` and, on SIGTERM, killing only that shell, as npm does), the real CLI and socat.
// Every process is found by pid and killed in afterEach if a test left it behind.
import { spawn, spawnSync } from 'node:child_process';
import type { ChildProcess } from 'node:child_process';
import { existsSync, readFileSync, readdirSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { afterEach, describe, expect, it } from 'vitest';
import { isNpmProcess, launchChain } from '../../src/emulator/transports/lifetime.ts';

const bin = fileURLToPath(new URL('../../bin/tngd.js', import.meta.url));
const haveSocat = spawnSync('socat', ['-V']).status === 0;
const haveProc = existsSync('/proc/self/stat');

describe('launchChain: which ancestors are watched', () => {
  const procs: Record<number, { ppid: number; argv: string[] }> = {
    10: { ppid: 1, argv: ['bash'] },
    20: { ppid: 10, argv: ['npm exec tngd emulate --pty'] },
    30: { ppid: 20, argv: ['sh', '-c', "'tngd' emulate --pty"] },
    40: { ppid: 10, argv: ['sh', '-c', 'tngd emulate --pty'] },
    50: { ppid: 10, argv: ['node', '/usr/lib/node_modules/npm/bin/npx-cli.js', 'tngd'] },
    60: { ppid: 50, argv: ['/bin/sh', '-c', 'tngd emulate'] },
    70: { ppid: 60, argv: ['bash', '-c', 'tngd emulate'] },
  };
  const info = (pid: number) => procs[pid] ?? null;
  it('up to and including npm when npm launched us through shells', () => {
    expect(launchChain(30, info)).toEqual([30, 20]);
    expect(launchChain(20, info)).toEqual([20]);
    expect(launchChain(70, info)).toEqual([70, 60, 50]);
  });
  it('only the parent otherwise, and nothing under init', () => {
    expect(launchChain(40, info)).toEqual([40]);
    expect(launchChain(10, info)).toEqual([10]);
    expect(launchChain(1, info)).toEqual([]);
    expect(launchChain(999, info)).toEqual([999]);
  });
  it('recognises npm and npx by title or by their CLI script', () => {
    expect(isNpmProcess(['npm exec tngd emulate --pty'])).toBe(true);
    expect(isNpmProcess(['npm', 'run', 'x'])).toBe(true);
    expect(isNpmProcess(['node', '/x/npm/bin/npm-cli.js', 'exec'])).toBe(true);
    expect(isNpmProcess(['node', 'bin/tngd.js'])).toBe(false);
    expect(isNpmProcess(['npmish'])).toBe(false);
  });
});

/** A stand-in for `npm exec`: npm's title, the command through `sh -c`, SIGTERM → kill the shell only. */
const WRAPPER = `
process.title = 'npm exec tngd emulate --pty';
const { spawn } = require('node:child_process');
const sh = spawn('sh', ['-c', process.argv[1] + '; true'], { stdio: 'inherit' });
process.on('SIGTERM', () => { sh.kill('SIGTERM'); process.exit(143); });
sh.on('exit', (c) => process.exit(c ?? 1));
`;

const started: number[] = [];
afterEach(() => {
  for (const pid of started.splice(0)) if (alive(pid)) process.kill(pid, 'SIGKILL');
});

/** Alive and not a zombie. */
function alive(pid: number): boolean {
  try {
    const stat = readFileSync(`/proc/${pid}/stat`, 'latin1');
    return stat.slice(stat.lastIndexOf(')') + 2)[0] !== 'Z';
  } catch {
    return false;
  }
}

function childrenOf(pid: number): { pid: number; comm: string }[] {
  const out: { pid: number; comm: string }[] = [];
  for (const d of readdirSync('/proc')) {
    if (!/^\d+$/.test(d)) continue;
    try {
      const stat = readFileSync(`/proc/${d}/stat`, 'latin1');
      const comm = stat.slice(stat.indexOf('(') + 1, stat.lastIndexOf(')'));
      if (Number(stat.slice(stat.lastIndexOf(')') + 2).split(' ')[1]) === pid) out.push({ pid: Number(d), comm });
    } catch {
      // gone meanwhile
    }
  }
  return out;
}

async function until(what: string, cond: () => boolean, ms = 10_000): Promise<void> {
  const t0 = Date.now();
  while (!cond()) {
    if (Date.now() - t0 > ms) throw new Error(`timed out after ${ms} ms waiting for: ${what}`);
    await new Promise((r) => setTimeout(r, 50));
  }
}

function firstLine(child: ChildProcess, ms = 30_000): Promise<string> {
  return new Promise((resolve, reject) => {
    let buf = '';
    const timer = setTimeout(() => reject(new Error(`no stdout line within ${ms} ms`)), ms);
    child.stdout!.on('data', (d: Buffer) => {
      buf += d.toString();
      const i = buf.indexOf('\n');
      if (i >= 0) {
        clearTimeout(timer);
        resolve(buf.slice(0, i));
      }
    });
  });
}

interface Tree {
  link: string;
  /** the process the user started: the npm-like wrapper, or the emulator itself */
  top: ChildProcess;
  shell?: number;
  emulator: number;
  socat: number;
}

let serial = 0;
async function start(viaNpm: boolean): Promise<Tree> {
  const link = join(tmpdir(), `tngd-lifetime-${process.pid}-${++serial}`);
  const cmd = [process.execPath, bin, 'emulate', '--pty', '--link', link, '--log-level', 'warn'];
  const top = viaNpm
    ? spawn(process.execPath, ['-e', WRAPPER, cmd.map((a) => `'${a}'`).join(' ')], { stdio: ['ignore', 'pipe', 'inherit'] })
    : spawn(cmd[0], cmd.slice(1), { stdio: ['ignore', 'pipe', 'inherit'] });
  started.push(top.pid!);
  expect(await firstLine(top)).toBe(link);
  let emulator = top.pid!;
  let shell: number | undefined;
  if (viaNpm) {
    const [sh] = childrenOf(top.pid!);
    shell = sh.pid;
    started.push(shell);
    const below = childrenOf(shell);
    // a shell may exec its last command itself; then the emulator is the shell's pid
    emulator = below.find((c) => c.comm === 'node')?.pid ?? shell;
  }
  started.push(emulator);
  const socat = childrenOf(emulator).find((c) => c.comm === 'socat')!.pid;
  started.push(socat);
  expect(existsSync(link)).toBe(true);
  return { link, top, shell, emulator, socat };
}

const gone = async (t: Tree, what: string): Promise<void> => {
  await until(`${what}: the emulator (pid ${t.emulator}) exits`, () => !alive(t.emulator));
  await until(`${what}: socat (pid ${t.socat}) exits`, () => !alive(t.socat));
  await until(`${what}: the pty link is removed`, () => !existsSync(t.link), 3_000);
};

describe.skipIf(!haveSocat || !haveProc)('tngd emulate --pty: process lifetime (real processes)', () => {
  it('SIGTERM to an npm-like wrapper (which kills only its shell): emulator and socat exit, the link is removed', async () => {
    const t = await start(true);
    process.kill(t.top.pid!, 'SIGTERM');
    await gone(t, 'wrapper SIGTERMed');
  }, 60_000);

  it('SIGKILL to the npm-like wrapper (its shell survives): emulator and socat still exit', async () => {
    const t = await start(true);
    process.kill(t.top.pid!, 'SIGKILL');
    await gone(t, 'wrapper SIGKILLed');
    if (t.shell !== undefined) await until('the orphaned shell ends with its command', () => !alive(t.shell!));
  }, 60_000);

  it('SIGKILL to the emulator: socat sees its pipes close and exits', async () => {
    const t = await start(false);
    process.kill(t.emulator, 'SIGKILL');
    await until('socat exits after the emulator was killed', () => !alive(t.socat));
  }, 60_000);

  it('SIGTERM to socat: the emulator stops (exit 1: its pty is gone)', async () => {
    const t = await start(false);
    const code = new Promise<number | null>((r) => t.top.once('exit', (c) => r(c)));
    process.kill(t.socat, 'SIGTERM');
    expect(await code).toBe(1);
    await gone(t, 'socat SIGTERMed');
  }, 60_000);

  it('SIGHUP (terminal closed) stops the emulator cleanly: exit 0, socat gone, link removed', async () => {
    const t = await start(false);
    const code = new Promise<number | null>((r) => t.top.once('exit', (c) => r(c)));
    process.kill(t.emulator, 'SIGHUP');
    expect(await code).toBe(0);
    await gone(t, 'SIGHUP');
  }, 60_000);
});
