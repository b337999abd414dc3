// Guards the paper-budget study at tiny scale (shipped subset, b = 8, a 196-4-10 MLP, a few
// iterations): the tune → run → report stages hand each other the committed record schema the
// figure generator reads, the tuned η is the grid point with the lowest validation loss, a
// finished seed is not retrained, and a record of another shape is refused.
import { mkdirSync, mkdtempSync, readdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { main } from '../../examples/paper-budget.ts';
import { chooseLr, readRunRecords, readTunePoints, RUN_SCHEMA } from '../../examples/lib/paper-budget-record.ts';
import { checkSvgWellFormed } from './check-output.ts';

const root = mkdtempSync(join(tmpdir(), 'tngd-paper-budget-'));
afterAll(() => rmSync(root, { recursive: true, force: true }));

const dataOut = join(root, 'data');
const common = ['--quick', '--model', 'mlp:196-4-10', '--batch', '8', '--train-n', '96', '--test-n', '50', '--val-n', '32', '--eval-every', '4', '--checkpoint-every', '4'];
const io = ['--data-out', dataOut, '--work', join(root, 'work'), '--figures', join(root, 'fig')];

describe('paper-budget study, tiny scale', { timeout: 120_000 }, () => {
  it('tunes, runs, skips finished seeds and reports from the records alone', async () => {
    await main(['--stage', 'tune', '--arm', 'adam', '--grid', '1e-3,3e-2', '--tuning-seeds', '1000', ...common, ...io]);
    const points = readTunePoints(dataOut);
    expect(points.map((p) => p.lr).sort()).toEqual([1e-3, 3e-2]);
    // the split: 96 − 32 images trained on at b = 8 for one epoch
    expect(points.every((p) => p.trainSamples === 64 && p.validationSamples === 32 && p.iterations === 8)).toBe(true);
    const choice = chooseLr(points, 'adam')!;
    const best = points.reduce((a, b) => (b.validationLoss < a.validationLoss ? b : a));
    expect(choice.best).toBe(best.lr);

    // without --lr the run stage takes the tuned rate; 2 epochs of 12 batches, evaluated every 4
    await main(['--stage', 'run', '--arm', 'adam', '--seed-list', '1,2', '--epochs', '2', ...common, ...io]);
    await main(['--stage', 'run', '--arm', 'tngd', '--lr', '0.05', '--seed-list', '1,2', '--epochs', '2', ...common, ...io]);
    const runs = readRunRecords(dataOut);
    expect(runs.map((r) => `${r.arm}-${r.seed}`).sort()).toEqual(['adam-1', 'adam-2', 'tngd-1', 'tngd-2']);
    for (const r of runs) {
      expect(r.schema).toBe(RUN_SCHEMA);
      expect(r.iterations).toBe(24);
      expect(r.complete).toBe(true);
      expect(r.evals.map((e) => e.iter)).toEqual([4, 8, 12, 16, 20, 24]);
      expect(r.trainSamples).toBe(96);
      expect(r.testSamples).toBe(50);
      expect(r.numParams).toBe(196 * 4 + 4 + 4 * 10 + 10);
      expect(r.cpuSeconds).toBeGreaterThan(0);
      // compute time never runs backwards; TNGD is charged the projected device time on top of the host time
      for (let i = 1; i < r.evals.length; i++) expect(r.evals[i].computeSeconds).toBeGreaterThanOrEqual(r.evals[i - 1].computeSeconds);
      const last = r.evals[r.evals.length - 1];
      if (r.arm === 'tngd') expect(last.computeSeconds - last.hostSeconds).toBeCloseTo(24 * r.projectedDeviceSecondsPerIter, 12);
      else expect(last.computeSeconds).toBe(last.hostSeconds);
      expect(r.provenance.command).toContain('--stage run');
    }
    expect(runs.find((r) => r.arm === 'adam')!.lr).toBe(choice.best);

    // a rerun of the same command leaves finished seeds alone
    const file = join(dataOut, 'runs', 'adam-e2-s1.json');
    const before = readFileSync(file, 'utf8');
    await main(['--stage', 'run', '--arm', 'adam', '--seed-list', '1', '--epochs', '2', ...common, ...io]);
    expect(readFileSync(file, 'utf8')).toBe(before);

    const { summary } = await main(['--stage', 'report', ...io]);
    expect(summary).toContain('| Adam |');
    expect(summary).toContain('| TNGD (exact) |');
    // the paired table: Adam against TNGD at iteration 24 on 2 seeds
    expect(summary).toMatch(/\| Adam \| 24 \| 2 \| [^|]+\| [^|]+\| [−+]\d/);
    const figs = readdirSync(join(root, 'fig'));
    expect(figs).toContain('paper-budget-test-acc-vs-time.svg');
    expect(figs).toContain('paper-budget-lr-tuning.svg');
    for (const f of figs) {
      const names = checkSvgWellFormed(readFileSync(join(root, 'fig', f), 'utf8'));
      expect(names.filter((n) => n === 'path' || n === 'circle').length, `${f} draws data`).toBeGreaterThan(0);
    }
  });

  it('advancing the seeds in chunks (checkpoint, resume) gives the same run as one go', async () => {
    const chunked = join(root, 'chunked');
    const argsFor = (out: string) => ['--stage', 'run', '--arm', 'tngd', '--lr', '0.05', '--seed-list', '1,2', '--epochs', '2', ...common, '--data-out', out, '--work', join(out, 'work')];
    await main([...argsFor(chunked), '--chunk', '8']);
    const a = readRunRecords(chunked);
    const b = readRunRecords(dataOut).filter((r) => r.arm === 'tngd');
    expect(a.map((r) => r.segments)).toEqual([3, 3]);
    for (const r of a) {
      const s = b.find((x) => x.seed === r.seed)!;
      expect(r.evals.map((e) => [e.iter, e.trainLoss, e.testLoss, e.testAccuracy])).toEqual(s.evals.map((e) => [e.iter, e.trainLoss, e.testLoss, e.testAccuracy]));
      expect(r.finalTest).toEqual(s.finalTest);
    }
  });

  it('refuses a record of another schema', () => {
    const dir = join(root, 'bad');
    rmSync(dir, { recursive: true, force: true });
    const runsDir = join(dir, 'runs');
    mkdirSync(runsDir, { recursive: true });
    writeFileSync(join(runsDir, 'adam-e1-s1.json'), JSON.stringify({ schema: 'something-else/1', arm: 'adam' }));
    expect(() => readRunRecords(dir)).toThrow(/schema 'something-else\/1'/);
    writeFileSync(join(runsDir, 'adam-e1-s1.json'), JSON.stringify({ schema: RUN_SCHEMA, arm: 'adam', label: 'Adam', optimizer: 'adam', model: 'm', complete: true, diverged: false }));
    expect(() => readRunRecords(dir)).toThrow(/field 'lr' must be a number/);
  });
});
