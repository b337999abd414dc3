// Peak memory of a large curvature upload over the in-process message link at N = 1e5, r = 640
// (J = 512 MB): host J, the device's staging buffer, and the physics core's copy of J in WASM
// kernel memory (pair-interleaved for the f64x2 kernels, EMULATOR.md §14), which the staged buffer
// cannot become. Measured 3.29 × J (main before this session: 5.3 ×). The 2.5 × target
// needs staging to write straight into kernel memory: not done yet. Measured in a child process of
// its own, whose peak RSS (getrusage maxrss) covers node itself too.
import { spawnSync } from 'node:child_process';
import { describe, expect, it } from 'vitest';

function probe(...args: string[]) {
  const r = spawnSync(process.execPath, ['--import', 'tsx', 'bench/upload-memory-probe.ts', ...args], { encoding: 'utf8', timeout: 240_000 });
  if (r.status !== 0) throw new Error(`probe failed (${r.status}): ${r.stderr}`);
  return JSON.parse(r.stdout.trim().split('\n').pop()!) as { jBytes: number; rssBefore: number; peakRss: number; peakOverJ: number };
}

describe('memory of a J upload on the in-process link', () => {
  it('N = 1e5, r = 640 (J = 512 MB): peak RSS of the whole process ≤ 3.5 × J when J is handed over', { timeout: 300_000 }, () => {
    const m = probe('100000', '640', 'messages', 'transfer');
    expect(m.jBytes).toBe(512_000_000);
    expect(m.peakRss).toBeLessThanOrEqual(3.5 * m.jBytes);
    // and the upload itself added at most host J, staging and the kernel copy (+ 10 % slack)
    expect(m.peakRss - m.rssBefore).toBeLessThanOrEqual(3.1 * m.jBytes);
  });
});
