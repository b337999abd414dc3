// `tngd emulate` through the real CLI entry point (bin/tngd.js): TCP, stdio and pty, usage errors.
import { describe, expect, it } from 'vitest';
import { spawn, spawnSync } from 'node:child_process';
import type { ChildProcessWithoutNullStreams } from 'node:child_process';
import { existsSync } from 'node:fs';
import { createServer } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { SerialPort } from 'serialport';
import { FrameDecoder, PROTOCOL_VERSION, SCHEMA_FINGERPRINT, encodeFrame } from '../../src/protocol/index.ts';
import { openTcpLink } from '../../src/driver/transports/tcp-link.ts';
import { TestHost } from './host.ts';
import { EMULATE_BULK_WINDOW } from '../../src/cli/commands/emulate.ts';

const bin = fileURLToPath(new URL('../../bin/tngd.js', import.meta.url));
const haveSocat = spawnSync('socat', ['-V']).status === 0;
const NO_SOCAT = 'socat is not installed (Debian package socat; .ci/run installs it)';

function tngd(args: string[]): ChildProcessWithoutNullStreams & { exit: Promise<number | null>; stderrText: () => string } {
  const child = spawn(process.execPath, [bin, ...args], { stdio: ['pipe', 'pipe', 'pipe'] });
  let err = '';
  child.stderr.on('data', (d: Buffer) => (err += d.toString()));
  const exit = new Promise<number | null>((r) => child.once('exit', (code) => r(code)));
  return Object.assign(child, { exit, stderrText: () => err });
}

function firstLine(child: ChildProcessWithoutNullStreams, ms = 20_000): Promise<string> {
  return new Promise((resolve, reject) => {
    let buf = '';
    const timer = setTimeout(() => reject(new Error(`no stdout line within ${ms} ms`)), ms);
    const onData = (d: Buffer): void => {
      buf += d.toString();
      const i = buf.indexOf('\n');
      if (i < 0) return;
      clearTimeout(timer);
      child.stdout.off('data', onData);
      resolve(buf.slice(0, i));
    };
    child.stdout.on('data', onData);
  });
}

const HELLO = { major: PROTOCOL_VERSION.major, minor: 0, host: 'cli-test', maxFrameBytes: 4096, schemaFingerprint: SCHEMA_FINGERPRINT };

describe('tngd emulate', () => {
  it('--tcp 0 prints tcp://127.0.0.1:PORT, serves the protocol there, logs JSON on a non-TTY stderr, exits 0 on SIGTERM', async () => {
    const child = tngd(['emulate', '--tcp', '0', '--seed', '5', '--max-cells', '32']);
    const url = await firstLine(child);
    expect(url).toMatch(/^tcp:\/\/127\.0\.0\.1:\d+$/);
    const socket = await openTcpLink(url);
    const h = new TestHost(socket);
    const hello = await h.hello();
    expect(hello.identity.serial).toBe('EMU-00000005');
    expect(hello.capabilities.maxCells).toBe(32);
    // a window that covers a TCP round trip to another process (the bare emulator's is 8)
    expect(hello.capabilities.bulkWindow).toBe(EMULATE_BULK_WINDOW);
    h.close();
    child.kill('SIGTERM');
    expect(await child.exit).toBe(0);
    const lines = child.stderrText().trim().split('\n');
    const msgs = lines.map((l) => (JSON.parse(l) as { msg: string }).msg);
    expect(msgs).toContain('emulator serving on TCP');
    expect(msgs).toContain('emulator stopped');
  });

  it('--stdio puts nothing but protocol frames on stdout and exits 0 when stdin closes', async () => {
    const child = tngd(['emulate', '--stdio', '--log-level', 'debug']);
    const dec = new FrameDecoder({ maxFrameBytes: 65535 });
    const frames: ReturnType<FrameDecoder['push']> = [];
    child.stdout.on('data', (d: Buffer) => frames.push(...dec.push(d)));
    child.stdin.write(encodeFrame({ kind: 'HelloRequest', body: HELLO }, 1));
    child.stdin.write(encodeFrame({ kind: 'HeartbeatRequest', body: { nonce: 99 } }, 2));
    const t0 = Date.now();
    while (frames.length < 2 && Date.now() - t0 < 20_000) await new Promise((r) => setTimeout(r, 20));
    child.stdin.end();
    expect(await child.exit).toBe(0);
    expect(frames.map((f) => [f.message.kind, f.header.requestId])).toEqual([['HelloReply', 1], ['HeartbeatReply', 2]]);
    // no stray byte on stdout: everything decoded into the two frames (plus the leading 0x00)
    expect(dec.counters).toMatchObject({ badCrc: 0, undecodable: 0, oversize: 0, bytesDiscarded: 0 });
    expect(child.stderrText()).toMatch(/emulator serving on stdin\/stdout/);
  });

  it.skipIf(!haveSocat)(`--pty prints a path that the serialport package opens; SIGINT removes the link and exits 0${haveSocat ? '' : ` (skipped: ${NO_SOCAT})`}`, async () => {
    const link = join(tmpdir(), `tngd-emulate-test-${process.pid}`);
    const child = tngd(['emulate', '--pty', '--link', link]);
    const path = await firstLine(child);
    expect(path).toBe(link);
    const port = await new Promise<SerialPort>((resolve, reject) => {
      const p = new SerialPort({ path, baudRate: 921600 }, (e) => (e ? reject(e) : resolve(p)));
    });
    const h = new TestHost(port);
    expect((await h.hello()).identity.model).toBe('spu-emulator');
    expect((await h.ok('Heartbeat', { nonce: 3 })).nonce).toBe(3);
    await new Promise<void>((r) => port.close(() => r()));
    child.kill('SIGINT');
    expect(await child.exit).toBe(0);
    expect(existsSync(link)).toBe(false);
  });

  it('usage errors exit 2, runtime failures (port in use) exit 1, each with a clear message', async () => {
    const blocker = createServer();
    await new Promise<void>((r) => blocker.listen(0, '127.0.0.1', () => r()));
    const busyPort = (blocker.address() as { port: number }).port;
    const cases = [
      { args: ['emulate'], code: 2, msg: /exactly one of --pty, --stdio or --tcp/ },
      { args: ['emulate', '--stdio', '--tcp', '0'], code: 2, msg: /exactly one/ },
      { args: ['emulate', '--tcp', '0', '--host', '10.11.12.13'], code: 2, msg: /--allow-remote/ },
      { args: ['emulate', '--tcp', '0', '--max-cells', 'lots'], code: 2, msg: /--max-cells must be an integer/ },
      { args: ['emulate', '--tcp', '0', '--profile', 'golden'], code: 2, msg: /ideal, prototype|Allowed choices/ },
      { args: ['emulate', '--tcp', String(busyPort)], code: 1, msg: /already in use/ },
    ];
    const runs = cases.map((c) => {
      const child = tngd(c.args);
      child.stdin.end();
      return child.exit.then((code) => ({ code, err: child.stderrText() }));
    });
    const results = await Promise.all(runs);
    blocker.close();
    results.forEach((r, i) => {
      expect(r.code, cases[i].args.join(' ')).toBe(cases[i].code);
      expect(r.err, cases[i].args.join(' ')).toMatch(cases[i].msg);
    });
  });
});
