// compare(): optimizers × seeds into one report with mean ± sd, and how command-line
// hyperparameters are routed to the optimizers that take them.
import { describe, expect, it } from 'vitest';
import { existsSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { compare, planCompare, TrainUsageError } from '../../../src/host-loop/train/index.ts';
import { buildCompare } from '../../../src/cli/commands/compare.ts';
import { tempDir } from './helpers.ts';

const dir = tempDir('compare');

describe('compare', () => {
  it('2 optimizers × 2 seeds: one report, mean ± sd rows, per-run folders; --resume reuses finished runs', async () => {
    const cfg = {
      base: { model: 'mlp:196-16-10', batch: 16, iters: 25, evalEvery: 25 },
      runs: [{ optimizer: 'adam' }, { optimizer: 'sgd', options: { lr: 0.1, momentum: 0.9 } }],
      seeds: [1, 2],
    };
    const out = join(dir, 'cmp');
    const res = await compare(cfg, { out });
    expect(res.runs.map((r) => `${r.optimizer}-s${r.seed}`)).toEqual(['adam-s1', 'adam-s2', 'sgd-s1', 'sgd-s2']);
    for (const r of res.runs) expect(existsSync(join(r.out, 'metrics.jsonl'))).toBe(true);
    expect(res.rows.map((r) => [r.optimizer, r.seeds, r.iterations.mean])).toEqual([
      ['adam', 2, 25],
      ['sgd', 2, 25],
    ]);
    // different seeds → different inits and batches → a non-zero spread
    for (const r of res.rows) expect(r.finalTestAccuracy.sd).toBeGreaterThan(0);
    expect(res.table).toMatch(/adam\s+2\s+25\s+[\d.]+ ± [\d.e-]+/);
    const html = readFileSync(res.reportPath, 'utf8');
    expect(html).toContain('mean ± sd over 2 seeds');
    expect(html).toContain('sgd: {&quot;lr&quot;:0.1,&quot;momentum&quot;:0.9}');
    const again = await compare(cfg, { out, resume: true });
    expect(again.runs.every((r) => r.reused)).toBe(true);
    expect(again.rows.map((r) => r.finalTestLoss.mean)).toEqual(res.rows.map((r) => r.finalTestLoss.mean));
  });

  it('validates every run before starting any', () => {
    expect(() => planCompare({ base: {}, runs: [{ optimizer: 'adam' }, { optimizer: 'adam' }], seeds: [1] })).toThrow(/'adam' is listed twice/);
    expect(() => planCompare({ base: { batch: 0 }, runs: [{ optimizer: 'adam', options: { lr: -1 } }], seeds: [1] })).toThrow(TrainUsageError);
  });

  it('routes flags: --lambda to NGD only, --set NAME.key to one optimizer, key=value to all that take it', () => {
    const { config } = buildCompare({ optimizers: 'adam,ngd-woodbury,ngd-cg', lambda: '0.5', set: ['adam.lr=0.01', 'maxIter=7'], seeds: '1..3' });
    const opts = Object.fromEntries(config.runs.map((r) => [r.optimizer, r.options]));
    expect(opts.adam).toEqual({ lr: 0.01 });
    expect(opts['ngd-woodbury']).toEqual({ damping: 0.5 });
    expect(opts['ngd-cg']).toEqual({ damping: 0.5, maxIter: 7 });
    expect(config.seeds).toEqual([1, 2, 3]);
    expect(() => buildCompare({ optimizers: 'adam', set: ['sgd.lr=1'] })).toThrow(/'sgd' is not one of --optimizers adam/);
    expect(() => buildCompare({ optimizers: 'adam', seeds: '1,x' })).toThrow(/--seeds: 'x' is not a non-negative integer/);
  });
});
