// Study 5 (controls): the paired-interval arithmetic, the SNR table, and the --quick smoke run
// (every part, 2 seeds, in-process as `npm run example:controls -- --quick` would).
import { mkdirSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { main as controlsMain, snrRows, toCsv } from '../../examples/controls.ts';
import { pairedDiff, tQuantile975 } from '../../examples/lib/paired.ts';
import { main as figuresMain, signTestP } from '../../examples/controls-figures.ts';
import { checkStudyOutput } from './check-output.ts';

const root = mkdtempSync(join(tmpdir(), 'tngd-controls-'));
afterAll(() => rmSync(root, { recursive: true, force: true }));

const seeds = (vals: number[]) => new Map(vals.map((v, i) => [i + 1, v]));

describe('paired 95 % intervals', () => {
  it('t quantiles: table values and the large-df expansion (t₉ = 2.262, t₃₀ = 2.042, t₁₂₀ = 1.980 ± 1e-3, → 1.960)', () => {
    expect(tQuantile975(9)).toBe(2.262);
    expect(tQuantile975(30)).toBe(2.042);
    expect(tQuantile975(120)).toBeCloseTo(1.98, 3);
    expect(tQuantile975(100000)).toBeCloseTo(1.96, 3);
    expect(() => tQuantile975(0)).toThrow(RangeError);
  });

  it('differences are taken per seed, so a shift shared by both arms cancels', () => {
    // arm = reference + 0.1 + small noise; the reference varies a lot between seeds
    const ref = [1.0, 1.5, 0.7, 2.0, 1.2];
    const noise = [0.01, -0.01, 0.02, -0.02, 0];
    const d = pairedDiff('test loss', { label: 'arm', bySeed: seeds(ref.map((r, i) => r + 0.1 + noise[i])) }, { label: 'ref', bySeed: seeds(ref) });
    expect(d.n).toBe(5);
    expect(d.mean).toBeCloseTo(0.1, 12);
    const sd = Math.sqrt(noise.reduce((s, x) => s + x * x, 0) / 4);
    expect(d.sd).toBeCloseTo(sd, 12);
    expect(d.hi - d.mean).toBeCloseTo((2.776 * sd) / Math.sqrt(5), 12);
    expect(d.verdict).toBe('higher');
  });

  it('an interval containing 0 gives no verdict; non-finite (diverged) seeds are left out of the pairs', () => {
    const d = pairedDiff('test loss', { label: 'a', bySeed: seeds([1, 2, NaN, 1]) }, { label: 'r', bySeed: seeds([1.1, 1.9, 1, 1]) });
    expect(d.n).toBe(3);
    expect(d.perSeed.map((p) => p.seed)).toEqual([1, 2, 4]);
    expect(d.verdict).toBe('no difference shown');
    expect(pairedDiff('x', { label: 'a', bySeed: seeds([1, 1.2, 1.1]) }, { label: 'r', bySeed: seeds([2, 2.1, 2.3]) }).verdict).toBe('lower');
  });
});

describe('study helpers', () => {
  it('SNR against the full scale: sd √(κ₀(1 − e^{−2λt})/λ) after t, √(κ₀/λ) at equilibrium', () => {
    const [r] = snrRows([1e-2], 0.01, 10, 8);
    expect(r.sdStationary).toBeCloseTo(1, 12);
    expect(r.sdAtT).toBeCloseTo(Math.sqrt(1 - Math.exp(-0.2)), 12);
    expect(r.snrDbStationary).toBeCloseTo(20 * Math.log10(8), 12);
  });

  it('CSV: one header, one line per row, commas quoted, non-finite as NaN', () => {
    expect(toCsv([{ arm: 'CG warm, 5 it', seed: 1, loss: NaN, ok: true }])).toBe('arm,seed,loss,ok\n"CG warm, 5 it",1,NaN,true');
  });
});

describe('controls-figures: tables and figures from committed per-seed data', () => {
  it('exact sign test: 0 of 10 → 2/1024, 5 of 10 → 1, 2 of 10 → 2·56/1024', () => {
    expect(signTestP(0, 10)).toBeCloseTo(2 / 1024, 15);
    expect(signTestP(10, 10)).toBeCloseTo(2 / 1024, 15);
    expect(signTestP(5, 10)).toBe(1);
    expect(signTestP(2, 10)).toBeCloseTo((2 * (1 + 10 + 45)) / 1024, 15);
  });

  it('recomputes paired intervals, collapsed runs and sign counts from per-seed.json + results.json', () => {
    const data = join(root, 'data');
    const figs = join(root, 'figs');
    mkdirSync(join(data, 'controls-carry-b4'), { recursive: true });
    mkdirSync(figs, { recursive: true });
    // arm = reference − 0.1 on seeds 1–3, with a shared per-seed shift; seed 3 of the arm collapsed
    const rows = [1, 2, 3].flatMap((seed) => [
      { part: 'carry', batch: 4, arm: 'ref', lr: 0.1, seed, diverged: false, testLoss: 1 + seed, testAccuracy: 0.5 },
      { part: 'carry', batch: 4, arm: 'arm', lr: 0.03, seed, diverged: false, testLoss: 0.9 + seed, testAccuracy: seed === 3 ? 0.1 : 0.6 },
    ]);
    writeFileSync(join(data, 'controls-carry-b4', 'per-seed.json'), JSON.stringify({ command: 'cmd', commit: 'a'.repeat(40), iters: 7, rows }));
    writeFileSync(
      join(data, 'controls-carry-b4', 'results.json'),
      JSON.stringify({ parts: [{ part: 'carry', key: 'carry-b4', batch: 4, reference: 'ref', tuning: [{ family: 'carry-b4-arm', best: 0.03, atEdge: true, grid: [] }] }] }),
    );
    const { tables, figures } = figuresMain(['--data', data, '--figures', figs, '--out', join(root, 'tables.md')]);
    const armLine = tables.split('\n').find((l) => l.startsWith('| arm | 0.03'))!;
    expect(armLine).toContain('0.03 (grid edge)');
    expect(armLine).toContain('| 1 |'); // one run at chance
    expect(armLine).toContain('−0.100 [−0.100, −0.100]');
    expect(armLine).toContain('3 of 3 (p = 0.25)');
    expect(tables).toContain('- arm: without seed(s) 3 (a run of this pair ended at chance): Δ test loss −0.100 [−0.100, −0.100] over 2 seeds (lower).');
    expect(figures).toEqual(['controls-carry-vs-b.svg']);
    expect(readFileSync(join(figs, 'controls-carry-vs-b.svg'), 'utf8')).toContain('<svg');
  });
});

describe('examples/controls --quick', { timeout: 300_000 }, () => {
  it('runs every part with tuned η per arm, paired intervals per arm, per-seed CSV/JSON with command and commit', async () => {
    const dir = join(root, 'controls');
    await controlsMain(['--quick', '--out', dir]);
    // diverged tuning runs score +∞ by design
    const { json } = checkStudyOutput(dir, 'controls', (f, p) => f === 'results.json' && /tuning\[\d+\]\.grid\[\d+\]\.(validationLoss|perSeedLoss)/.test(p));
    const res = json['results.json'] as {
      parts: { part: string; reference: string; tuning: { grid: unknown[]; best: number }[]; paired: { arm: string; metric: string; n: number }[] }[];
      snr: unknown[];
    };
    expect(res.parts.map((p) => p.part)).toEqual(['carry', 'delay', 'adam', 'sweep-t', 'sweep-kappa', 'curvature']);
    const [carry, delay, adam, sweepT, sweepKappa, curvature] = res.parts;
    expect(carry.tuning).toHaveLength(6);
    expect(carry.paired.filter((d) => d.metric === 'test loss').map((d) => d.arm)).toEqual(['TNGD carry κ₀=0.001', 'TNGD reset κ₀=0', 'CG warm e^{−λt}, 5 it', 'CG cold, 5 it', 'NGD exact (Woodbury)']);
    for (const p of res.parts) for (const d of p.paired) expect(d.n).toBe(2);
    expect(delay.paired.filter((d) => d.metric === 'test loss').map((d) => d.arm)).toEqual(['TNGD t_d=0.2τ', 'TNGD t_d=1τ']);
    expect(adam.reference).toBe('Adam');
    expect(adam.tuning.every((t) => t.grid.length === 2)).toBe(true);
    expect(sweepT.paired.filter((d) => d.metric === 'test loss').map((d) => d.arm)).toEqual(['TNGD t=5τ', 'TNGD t=50τ']);
    expect(sweepT.tuning).toHaveLength(3);
    expect(sweepKappa.reference).toBe('TNGD κ₀=0');
    expect(sweepKappa.paired.filter((d) => d.metric === 'test loss').map((d) => d.arm)).toEqual(['TNGD κ₀=0.1']);
    expect(curvature.paired.filter((d) => d.metric === 'test loss').map((d) => d.arm)).toEqual(['TNGD EF', 'NGD GGN (Woodbury)', 'NGD EF (Woodbury)']);
    const perSeed = json['per-seed.json'] as { command: string; commit: string; rows: { part: string; seed: number; lr: number }[] };
    expect(perSeed.command).toContain('npm run example:controls -- --quick');
    expect(perSeed.commit).toMatch(/^[0-9a-f]{40}$|^unknown$/);
    expect(perSeed.rows).toHaveLength((6 + 3 + 4 + 3 + 2 + 4) * 2);
    const csv = readFileSync(join(dir, 'per-seed.csv'), 'utf8').trim().split('\n');
    // progress.csv: the same runs, one line each as it finished (header + rows)
    expect(readFileSync(join(dir, 'progress.csv'), 'utf8').trim().split('\n')).toHaveLength(1 + perSeed.rows.length);
    expect(csv[0]).toMatch(/^# npm run example:controls -- --quick/);
    expect(csv).toHaveLength(2 + 1 + perSeed.rows.length);
    expect(res.snr).toHaveLength(3);
  });
});
