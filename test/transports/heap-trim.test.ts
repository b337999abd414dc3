// keepFreedHeap() in `tngd emulate`: a device receiving bulk uploads over TCP reuses the heap its
// freed socket reads leave, instead of faulting every page of every upload back in (measured
// before the fix: ~900 minor faults per 4 MiB upload, half the device process's CPU). The same
// uploads to two emulator processes, one with the tuning switched off (TNGD_KEEP_FREED_HEAP=0),
// counting the device process's minor page faults (/proc/PID/stat); glibc only.
import { spawn } from 'node:child_process';
import { existsSync, readFileSync } from 'node:fs';
import { createInterface } from 'node:readline';
import { pino } from 'pino';
import { describe, expect, it } from 'vitest';
import { connect } from '../../src/connect.ts';
import { bulkUpload } from '../../src/driver/bulk-upload.ts';
import { onGlibc } from '../../src/emulator/transports/heap-trim.ts';
import { tensorFromFloat64 } from '../../src/protocol/index.ts';

const minorFaults = (pid: number): number => Number(readFileSync(`/proc/${pid}/stat`, 'utf8').split(') ')[1].split(' ')[7]);

/** Minor page faults of the emulator process per 4 MiB upload (transfer, then abort), after warm-up. */
async function faultsPerUpload(keep: boolean): Promise<number> {
  const env = { ...process.env, TNGD_KEEP_FREED_HEAP: keep ? '1' : '0' };
  const child = spawn(process.execPath, ['bin/tngd.js', 'emulate', '--tcp', '0', '--max-frame-bytes', '65535', '--log-level', 'warn'], { env, stdio: ['ignore', 'pipe', 'inherit'] });
  try {
    const url = await new Promise<string>((resolve, reject) => {
      createInterface({ input: child.stdout! }).once('line', (l) => resolve(l.trim()));
      child.once('exit', (c) => reject(new Error(`tngd emulate exited (${c})`)));
    });
    const dev = await connect(url, { heartbeatIntervalMs: 0, timeoutMs: 20_000 });
    try {
      const n = 4096;
      const r = 128; // 4 MiB of f64
      const t = tensorFromFloat64(Float64Array.from({ length: r * n }, (_, i) => Math.sin(i)), [r, n], 'f64');
      const log = pino({ level: 'silent' });
      const upload = async (): Promise<void> => {
        const up = await bulkUpload(dev.channel, t, { deviceMaxFrameBytes: dev.capabilities.maxFrameBytes, maxInFlightBytes: dev.maxInFlightBytes, log });
        await dev.request('BulkAbort', { transferId: up.transferId });
      };
      for (let k = 0; k < 10; k++) await upload();
      const before = minorFaults(child.pid!);
      const uploads = 12;
      for (let k = 0; k < uploads; k++) await upload();
      return (minorFaults(child.pid!) - before) / uploads;
    } finally {
      await dev.close();
    }
  } finally {
    child.kill('SIGINT');
  }
}

describe('tngd emulate keeps freed heap (glibc)', () => {
  it.runIf(onGlibc() && existsSync('/proc/self/stat'))(
    '4 MiB uploads over TCP: the device process faults at most a quarter of the pages it does with the tuning off',
    { timeout: 120_000 },
    async () => {
      const off = await faultsPerUpload(false);
      const on = await faultsPerUpload(true);
      // 4 MiB is 1 024 pages: with the tuning off most of them fault back in on every upload
      expect(off).toBeGreaterThan(300);
      expect(on, JSON.stringify({ off, on })).toBeLessThan(off / 4);
    },
  );
});
