// CI smoke test: every study's --quick variant runs (in-process, as `npm run example:<study> --
// --quick` would) and writes sane output: manifest, parseable JSON with finite numbers,
// well-formed SVG figures, and numbers that mean what the study says.
import { spawnSync } from 'node:child_process';
import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { main as costMain } from '../../examples/cost.ts';
import { main as fashionMain } from '../../examples/fashion-mnist.ts';
import { main as sweepsMain } from '../../examples/sweeps.ts';
import { main as gapsMain } from '../../examples/gaps.ts';
import { projectTngdDevice } from '../../examples/lib/device-model.ts';
import { checkStudyOutput, checkSvgWellFormed } from './check-output.ts';

const root = mkdtempSync(join(tmpdir(), 'tngd-examples-'));
afterAll(() => rmSync(root, { recursive: true, force: true }));

describe('device timing model', () => {
  it('charges b·d_z(b·d_z + 2N) + N words up, N words down, t·τ analogue', () => {
    // b = 32, d_z = 10 → r = 320; N = 1000; 16-bit; 50 Gb/s; t = 50τ, τ = 1 µs
    const p = projectTngdDevice(1000, 32, 10, { tauSeconds: 1e-6, analogTimeTau: 50, bits: 16, linkBytesPerSecond: 50e9 / 8 });
    expect(p.uploadBytes).toBe((320 * (320 + 2000) + 1000) * 2);
    expect(p.readoutBytes).toBe(2000);
    expect(p.uploadSeconds).toBeCloseTo(p.uploadBytes / 6.25e9, 15);
    expect(p.analogSeconds).toBeCloseTo(50e-6, 15);
    expect(p.deviceSeconds).toBeCloseTo(p.uploadSeconds + 50e-6 + 2000 / 6.25e9, 15);
  });
});

describe('examples --quick', { timeout: 180_000 }, () => {
  it('cost: times per N, exact NGD only where allowed, TNGD projection', async () => {
    const dir = join(root, 'cost');
    await costMain(['--quick', '--out', dir]);
    const { json } = checkStudyOutput(dir, 'cost');
    const r = json['results.json'] as {
      rows: {
        n: number;
        r: number;
        hidden: number;
        iterSeconds: Record<string, number | null>;
        tngd: { uploadBytes: number };
        tngdExplicit: { uploadBytes: number };
        wireNumbersLayered: number;
        wireNumbersExplicit: number;
      }[];
      device: { bits: number };
    };
    expect(r.rows.map((x) => x.n)).toEqual([424, 838, 1666]); // mlp:196-H-10, H = 2, 4, 8
    for (const row of r.rows) {
      for (const k of ['sgd', 'adam', 'ngd-cg', 'ngd-woodbury', 'tngd-projected', 'tngd-projected-explicit']) expect(row.iterSeconds[k], k).toBeGreaterThan(0);
      // the quick variant runs NGD on the explicit J only up to N ≤ 900
      for (const k of ['ngd-cg-explicit', 'ngd-woodbury-explicit']) if (row.n > 900) expect(row.iterSeconds[k], k).toBeNull();
      else expect(row.iterSeconds[k], k).toBeGreaterThan(0);
      expect(row.r).toBe(320);
      expect(row.tngdExplicit.uploadBytes).toBe((row.r * (row.r + 2 * row.n) + row.n) * (r.device.bits / 8));
      // layered, the CE core folded into D (rank d_z − 1 = 9 per sample, r′ = 288): A (b·196, b·H),
      // D (r′·H, r′·10) and g (N), each once
      const h = row.hidden;
      const layered = 32 * 196 + 288 * h + 32 * h + 288 * 10 + row.n;
      expect(row.wireNumbersLayered).toBe(layered);
      expect(row.tngd.uploadBytes).toBe(layered * (r.device.bits / 8));
      expect(row.wireNumbersExplicit).toBe(320 * row.n + 3200 + row.n);
    }
    // the quick variant caps exact NGD at N ≤ 900
    expect(r.rows.map((x) => x.iterSeconds['ngd-exact'] !== null)).toEqual([true, true, false]);
  });

  it('fashion-mnist: tuned grids, every optimizer learns on the shipped subset', async () => {
    const dir = join(root, 'fashion-mnist');
    await fashionMain(['--quick', '--out', dir]);
    // a diverged tuning run scores +∞ by design
    const { json, svgs } = checkStudyOutput(dir, 'fashion-mnist', (f, p) => f === 'tuning.json' && (p.endsWith('validationLoss') || /perSeedLoss\[\d+\]$/.test(p)));
    expect(svgs).toEqual(expect.arrayContaining(['train-loss-vs-iter.svg', 'test-acc-vs-iter.svg', 'test-acc-vs-time.svg', 'lr-tuning.svg']));
    const res = json['results.json'] as {
      groups: { label: string; seeds: number[]; finalTestAccuracy: { mean: number }; finalTestLoss: { mean: number } }[];
      chosenLr: Record<string, number>;
    };
    const tuning = json['tuning.json'] as { tuning: { family: string; best: number; grid: { lr: number }[] }[] };
    for (const t of tuning.tuning) expect(t.grid.map((g) => g.lr)).toContain(t.best);
    const labels = res.groups.map((g) => g.label);
    expect(labels).toEqual(['SGD+momentum', 'Adam', 'NGD-Woodbury', 'NGD-CG', 'TNGD', 'TNGD-Adam']);
    for (const g of res.groups) {
      expect(g.seeds).toEqual([1, 2]);
      expect(g.finalTestAccuracy.mean).toBeGreaterThanOrEqual(0);
      expect(g.finalTestAccuracy.mean).toBeLessThanOrEqual(1);
    }
    // 24 iterations of b = 8 (seeds 1, 2): the natural-gradient runs beat chance (10%, loss ln 10)
    for (const l of ['NGD-Woodbury', 'NGD-CG']) {
      const g = res.groups.find((x) => x.label === l)!;
      expect(g.finalTestAccuracy.mean).toBeGreaterThan(0.3);
      expect(g.finalTestLoss.mean).toBeLessThan(Math.log(10));
    }
    expect(readFileSync(join(dir, 'summary.md'), 'utf8')).toContain('NGD-Woodbury');
  });

  it('sweeps: device solve error shrinks with analogue time and grows with noise', async () => {
    const dir = join(root, 'sweeps');
    await sweepsMain(['--quick', '--out', dir]);
    const { json } = checkStudyOutput(dir, 'sweeps');
    type P = { x: number; label: string; relErr: { mean: number } };
    const s = (json['results.json'] as { solve: { tSweep: P[]; kappaSweep: P[] } }).solve;
    // noise-free relaxation from x₀ = 0: the error ‖e^{−At}x*‖/‖x*‖ falls monotonically with t
    const reset0 = s.tSweep.filter((p) => p.label === 'x₀ = 0, κ₀ = 0').map((p) => p.relErr.mean);
    expect(reset0.length).toBe(4); // t = 1, 5, 20, 50 τ
    for (let i = 1; i < reset0.length; i++) expect(reset0[i]).toBeLessThan(reset0[i - 1]);
    expect(reset0[0]).toBeLessThanOrEqual(1);
    // at t = 20τ the error grows with κ₀ (0, 1e-3, 1e-2, 1e-1)
    const k20 = s.kappaSweep.filter((p) => p.label === 't = 20τ').map((p) => p.relErr.mean);
    for (let i = 1; i < k20.length; i++) expect(k20[i]).toBeGreaterThan(k20[i - 1]);
    // training level: every arm of the three sweeps ran its seeds through the emulated device
    const tr = (json['results.json'] as { training: Record<string, { groups: { label: string; seeds: number[] }[] }> }).training;
    expect(Object.keys(tr)).toEqual(['fig4a-t', 'fig4b-delay', 'fig7-kappa']);
    expect(tr['fig4a-t'].groups.map((g) => g.label)).toEqual(['TNGD t=5τ', 'TNGD t=50τ', 'NGD (exact solve)']);
    for (const sw of Object.values(tr)) for (const g of sw.groups) expect(g.seeds).toEqual([1, 2]);
  });

  it('gaps: quantisation error falls with bits, mismatch error grows with σ, Euler converges to exact', async () => {
    const dir = join(root, 'gaps');
    await gapsMain(['--quick', '--out', dir]);
    const { json, svgs } = checkStudyOutput(dir, 'gaps');
    type P = { x: number; label: string; relErr: { mean: number } };
    const r = json['results.json'] as { precision: { points: P[] }; mismatch: { points: P[] }; euler: { points: P[] }; training: Record<string, unknown> };
    for (const label of ['DAC', 'ADC, g matched']) {
      const e = r.precision.points.filter((p) => p.label === label).map((p) => p.relErr.mean); // 4, 8, 16 bits
      expect(e[1]).toBeLessThan(e[0]);
      expect(e[2]).toBeLessThan(e[1] / 10);
      expect(e[2]).toBeLessThan(1e-2); // 16 bits
    }
    const m = r.mismatch.points.map((p) => p.relErr.mean); // σ = 1e-3, 1e-2
    expect(m[1]).toBeGreaterThan(m[0]);
    // Euler's error against the exact transition is O(δt): halving δt roughly halves it
    const eu = r.euler.points.map((p) => p.relErr.mean); // δt = 0.1, 0.05
    expect(eu[1] / eu[0]).toBeGreaterThan(0.35);
    expect(eu[1] / eu[0]).toBeLessThan(0.65);
    expect(Object.keys(r.training)).toEqual(['curvature', 'start', 'integrator', 'profile']);
    // precision and mismatch in training: each arm trained its seeds on an emu: device with that override
    const td = (json['results.json'] as { trainingDevice: { arms: { label: string; device: string; seeds: number[]; completed: number; refused: number }[] } }).trainingDevice;
    expect(td.arms.map((a) => [a.label, a.device])).toEqual([
      ['DAC 8 bits', 'emu:?profile=ideal&dacBits=8'],
      ['DAC 16 bits', 'emu:?profile=ideal&dacBits=16'],
      ['ADC 8 bits', 'emu:?profile=ideal&adcBits=8'],
      ['mismatch σ=0.01', 'emu:?profile=ideal&mismatch=0.01'],
    ]);
    for (const a of td.arms) {
      expect(a.seeds).toEqual([1, 2]);
      expect(a.completed + a.refused).toBe(2);
    }
    expect(svgs).toEqual(expect.arrayContaining(['precision-bits-train.svg', 'mismatch-sigma-train.svg']));
  });

  it('the npm entry rejects bad options with exit code 2 and a message', () => {
    const r = spawnSync(process.execPath, ['--import', 'tsx', 'examples/cost.ts', '--seeds', '0'], { encoding: 'utf8', timeout: 60_000 });
    expect(r.status).toBe(2);
    expect(r.stderr).toMatch(/--seeds must be a positive integer|--seeds must be in/);
  });

  it('the SVG checker catches what it should', () => {
    expect(() => checkSvgWellFormed('<svg><g></svg>')).toThrow(/closes/);
    expect(() => checkSvgWellFormed('<svg><path d="M0 0"/><text x="NaN">a</text></svg>')).toThrow(/NaN/);
    expect(checkSvgWellFormed('<svg width="10"><path d="M0 0"/></svg>')).toEqual(['svg', 'path']);
  });
});
