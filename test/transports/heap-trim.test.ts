// keepFreedHeap() (what `tngd emulate` runs at start): on glibc it raises the heap trim threshold
// (true), elsewhere or with TNGD_KEEP_FREED_HEAP=0 it leaves the allocator alone (false); once per
// process. Each case runs in a child process of its own (the tuning is process-wide and one-way).
// What it buys, the device process's page faults per upload, is measured by the driver bench
// (`npm run bench -- driver`: "minor page faults" row), not asserted here: fault counts follow the
// collector's timing, which a loaded machine moves.
import { spawnSync } from 'node:child_process';
import { resolve } from 'node:path';
import { pathToFileURL } from 'node:url';
import { describe, expect, it } from 'vitest';
import { onGlibc } from '../../src/emulator/transports/heap-trim.ts';

const MODULE = pathToFileURL(resolve('src/emulator/transports/heap-trim.ts')).href;

function run(env: Record<string, string>): string {
  const script = `const m = await import(${JSON.stringify(MODULE)}); const a = m.keepFreedHeap(); const b = m.keepFreedHeap(); console.log(JSON.stringify({ same: a === b, applied: await a }));`;
  const r = spawnSync(process.execPath, ['--import', 'tsx', '--input-type=module', '-e', script], { encoding: 'utf8', env: { ...process.env, ...env }, timeout: 60_000 });
  if (r.status !== 0) throw new Error(`child failed (${r.status}): ${r.stderr}`);
  return r.stdout.trim().split('\n').pop()!;
}

describe('keepFreedHeap', () => {
  it('applies on glibc only, once per process; TNGD_KEEP_FREED_HEAP=0 switches it off', { timeout: 60_000 }, () => {
    expect(JSON.parse(run({ TNGD_KEEP_FREED_HEAP: '1' }))).toEqual({ same: true, applied: onGlibc() });
    expect(JSON.parse(run({ TNGD_KEEP_FREED_HEAP: '0' }))).toEqual({ same: true, applied: false });
  });
});
