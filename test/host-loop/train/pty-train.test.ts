// `tngd train` with TNGD through a real serial device: `tngd emulate --pty` (socat) in one
// process, training in another, as a user with a prototype on /dev/ttyUSB0 would run it. The run
// must match, bit for bit, the same run on the in-process emulator.
import { describe, expect, it } from 'vitest';
import { spawn, spawnSync } from 'node:child_process';
import { existsSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { parseMetrics } from '../../../src/host-loop/run/index.ts';
import { tempDir, untimed } from './helpers.ts';

const bin = fileURLToPath(new URL('../../../bin/tngd.js', import.meta.url));
const haveSocat = spawnSync('socat', ['-V']).status === 0;
const dir = tempDir('pty-train');

function startEmulator(link: string): Promise<{ path: string; stop: () => Promise<number | null> }> {
  const child = spawn(process.execPath, [bin, 'emulate', '--pty', '--link', link, '--seed', '3'], { stdio: ['ignore', 'pipe', 'pipe'] });
  const exit = new Promise<number | null>((r) => child.once('exit', (code) => r(code)));
  return new Promise((resolve, reject) => {
    let buf = '';
    const timer = setTimeout(() => reject(new Error('tngd emulate printed no device path within 20 s')), 20_000);
    child.stdout.on('data', (d: Buffer) => {
      buf += d.toString();
      if (!buf.includes('\n')) return;
      clearTimeout(timer);
      resolve({
        path: buf.slice(0, buf.indexOf('\n')),
        stop: () => {
          child.kill('SIGINT');
          return exit;
        },
      });
    });
  });
}

function train(device: string, out: string): void {
  const args = ['train', '--device', device, '--seed', '3', '--model', 'mlp:196-8-10', '--batch', '8', '--iters', '6', '--eval-every', '3', '--t-tau', '5', '--out', out];
  const r = spawnSync(process.execPath, [bin, ...args], { encoding: 'utf8', timeout: 60_000 });
  expect(r.stderr).not.toMatch(/error/i);
  expect(r.status).toBe(0);
}

describe('tngd train through a real pty', () => {
  it.skipIf(!haveSocat)(`TNGD over /dev/pts via tngd emulate --pty gives the same metrics as the in-process emulator${haveSocat ? '' : ' (skipped: socat is not installed; .ci/run installs it)'}`, async () => {
    const emu = await startEmulator(join(dir, 'spu'));
    try {
      train(emu.path, join(dir, 'pty-run'));
    } finally {
      expect(await emu.stop()).toBe(0);
    }
    train('emu:?seed=3', join(dir, 'emu-run'));
    const pty = parseMetrics(readFileSync(join(dir, 'pty-run', 'metrics.jsonl'), 'utf8'));
    const inproc = parseMetrics(readFileSync(join(dir, 'emu-run', 'metrics.jsonl'), 'utf8'));
    expect(pty.records.length).toBe(6);
    // the device did the solves: analog time and bytes moved on every iteration
    for (const r of pty.records) {
      expect(r.deviceTau).toBeGreaterThan(0);
      expect(r.bytesOut).toBeGreaterThan(0);
    }
    expect(pty.records.map(untimed)).toEqual(inproc.records.map(untimed));
    expect(existsSync(join(dir, 'pty-run', 'report.html'))).toBe(true);
  });
});
