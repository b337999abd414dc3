import { describe, it, expect } from 'vitest';
import { spawn, spawnSync } from 'node:child_process';
import { existsSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join, dirname } from 'node:path';
import { fileURLToPath } from 'node:url';
import { SerialPort } from 'serialport';
import { startPty, SocatMissingError } from '../../src/emulator/transports/pty.ts';
import { openLink } from '../../src/driver/transports/open-link.ts';
import { reverseDevice, echoDevice, patternBytes, collect } from './devices.ts';

const root = join(dirname(fileURLToPath(import.meta.url)), '..', '..');
const fixture = join(root, 'test', 'transports', 'fixtures', 'stdio-reverse-device.ts');
const haveSocat = spawnSync('socat', ['-V']).status === 0;
const SKIP_REASON = 'socat is not installed (Debian package socat; .ci/run installs it)';

function openSerial(path: string): Promise<SerialPort> {
  return new Promise((resolve, reject) => {
    const p = new SerialPort({ path, baudRate: 921600 }, (err) => (err ? reject(err) : resolve(p)));
  });
}
const closeSerial = (p: SerialPort): Promise<void> => new Promise((r) => (p.isOpen ? p.close(() => r()) : r()));

describe('stdio serving through a child process', () => {
  it('answers on stdout with protocol bytes only (diagnostics stay on stderr) and exits when stdin closes', async () => {
    const child = spawn(process.execPath, ['--import', 'tsx', fixture], { cwd: root, stdio: ['pipe', 'pipe', 'pipe'] });
    let stderr = '';
    child.stderr.on('data', (d) => (stderr += d));
    const out: Buffer[] = [];
    child.stdout.on('data', (d: Buffer) => out.push(d));
    const exited = new Promise<number | null>((r) => child.once('exit', r));
    child.stdin.write(Buffer.from('abc\0'));
    child.stdin.write(Buffer.from('12'));
    child.stdin.write(Buffer.from('3\0'));
    child.stdin.end();
    expect(await exited).toBe(0);
    expect(Buffer.concat(out).toString('latin1')).toBe('cba\x00321\x00');
    expect(stderr).toMatch(/ready/);
    expect(stderr).toMatch(/host closed/);
  });
});

describe.skipIf(!haveSocat)(`pty via socat${haveSocat ? '' : ` (skipped: ${SKIP_REASON})`}`, () => {
  it('serves an in-process device on a pty that the real serialport package opens; 256 KiB round-trip', async () => {
    const link = join(tmpdir(), `tngd-pty-test-${process.pid}`);
    const pty = await startPty({ factory: echoDevice, link });
    try {
      expect(pty.path).toBe(link);
      expect(pty.ptsPath).toMatch(/^\/dev\/pts\/\d+$/);
      const port = await openSerial(pty.path);
      const data = patternBytes(256 * 1024, 11);
      const back = collect(port, data.length);
      for (let i = 0; i < data.length; i += 4096) port.write(data.subarray(i, i + 4096));
      expect((await back).equals(data)).toBe(true);
      // A second open of the same pty fails the way a locked serial port does.
      await expect(openSerial(pty.path)).rejects.toThrow(/Cannot lock port/);
      await closeSerial(port);
      // The pty outlives a host closing it: reopen and talk again.
      const again = await openSerial(pty.path);
      const pong = collect(again, 4);
      again.write('pong');
      expect((await pong).toString()).toBe('pong');
      await closeSerial(again);
    } finally {
      await pty.close();
    }
    expect(existsSync(link)).toBe(false);
  });

  it('EXEC variant: socat runs a --stdio device process behind the pty', async () => {
    const pty = await startPty({ exec: `${process.execPath} --import tsx ${fixture}` });
    try {
      const port = await openSerial(pty.path);
      const answer = collect(port, 6);
      port.write(Buffer.from('hello\0'));
      expect((await answer).toString()).toBe('olleh\0');
      await closeSerial(port);
    } finally {
      await pty.close();
    }
  });

  it('a device that powers off takes the pty away: the host link reports a disconnect (20 power-offs)', async () => {
    // 20 rounds because the stock binding missed this about 1 time in 20 (0-byte read loop).
    for (let round = 0; round < 20; round++) {
      let dev: ReturnType<typeof reverseDevice> | undefined;
      const pty = await startPty({ factory: () => (dev = reverseDevice()) });
      try {
        const link = await openLink(pty.path);
        link.stream.on('data', () => {});
        dev!.destroy();
        const c = await Promise.race([link.closed, new Promise<'hung'>((r) => setTimeout(() => r('hung'), 3000))]);
        expect(c, `round ${round}: no disconnect within 3 s`).not.toBe('hung');
        expect((c as { disconnected: boolean }).disconnected).toBe(true);
        await pty.exited;
        await link.close();
      } finally {
        await pty.close();
      }
    }
  });

  it('says how to install socat when it is missing', async () => {
    await expect(startPty({ factory: echoDevice, socatPath: 'socat-not-installed-here' })).rejects.toBeInstanceOf(SocatMissingError);
    await expect(startPty({ factory: echoDevice, socatPath: 'socat-not-installed-here' })).rejects.toThrow(/Debian package socat/);
  });
});
