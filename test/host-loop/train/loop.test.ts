// The training loop's outputs: well-formed JSON-lines metrics, the checkpoint schedule, the
// report, divergence handling, and that training actually learns.
import { describe, expect, it } from 'vitest';
import { existsSync, readFileSync, readdirSync } from 'node:fs';
import { join } from 'node:path';
import { train } from '../../../src/host-loop/train/index.ts';
import { loadDataset } from '../../../src/host-loop/data/load.ts';
import { createModel } from '../../../src/host-loop/models/model.ts';
import { evaluate } from '../../../src/host-loop/models/evaluate.ts';
import { tempDir } from './helpers.ts';

const dir = tempDir('loop');

describe('training loop outputs', () => {
  it('writes one well-formed JSON line per iteration, test metrics every K and at the end', async () => {
    const out = join(dir, 'metrics');
    const res = await train(
      { model: 'mlp:196-16-10', batch: 16, optimizer: 'sgd', optimizerOptions: { lr: 0.1, momentum: 0.9 }, iters: 47, evalEvery: 10, checkpointEvery: 20, keepCheckpoints: 2 },
      { out },
    );
    const text = readFileSync(join(out, 'metrics.jsonl'), 'utf8');
    expect(text.endsWith('\n')).toBe(true);
    const lines = text.trimEnd().split('\n');
    expect(lines).toHaveLength(47);
    const recs = lines.map((l) => JSON.parse(l) as Record<string, unknown>);
    let prevWall = 0;
    recs.forEach((r, i) => {
      expect(r.iter).toBe(i + 1);
      // 6000 / 16 = 375 batches per epoch: all 47 iterations are in epoch 0
      expect(r.epoch).toBe(0);
      for (const k of ['wallSeconds', 'trainLoss', 'trainAccuracy', 'hostSeconds', 'gradSeconds', 'deviceTau', 'bytesOut', 'bytesIn'])
        expect(typeof r[k], `${k} of line ${i + 1}`).toBe('number');
      expect(r.wallSeconds as number).toBeGreaterThanOrEqual(prevWall);
      prevWall = r.wallSeconds as number;
      expect(r.deviceTau).toBe(0); // digital optimizer: no device time, no bytes
      expect(r.bytesOut).toBe(0);
      const evaluated = (i + 1) % 10 === 0 || i + 1 === 47;
      expect('testLoss' in r, `test metrics on line ${i + 1}`).toBe(evaluated);
      if (evaluated) {
        expect(r.testAccuracy as number).toBeGreaterThanOrEqual(0);
        expect(r.testAccuracy as number).toBeLessThanOrEqual(1);
      }
    });
    // checkpoints at 20, 40 and the final 47; keep the newest 2
    expect(readdirSync(join(out, 'checkpoints')).sort()).toEqual(['ckpt-0000000040.ckpt', 'ckpt-0000000047.ckpt']);
    expect(res.checkpointPath).toBe(join(out, 'checkpoints', 'ckpt-0000000047.ckpt'));
    expect(JSON.parse(readFileSync(join(out, 'config.json'), 'utf8'))).toMatchObject({ optimizer: 'sgd', model: 'mlp:196-16-10:relu', iters: 47 });
    // the report: HTML with the summary and inline SVG plots, and the SVG files
    const html = readFileSync(res.reportPath!, 'utf8');
    expect(html).toContain('<table>');
    expect(html.match(/<svg /g)?.length).toBeGreaterThanOrEqual(4);
    expect(existsSync(join(out, 'train-loss-vs-iter.svg'))).toBe(true);
    expect(res.summary.iterations.mean).toBe(47);
  });

  it('a short Adam run learns: test loss 2.3 → < 0.85, accuracy > 68% (seed 1, 150 iterations)', async () => {
    // Measured on the shipped data, mlp:196-32-10, b = 32, lr 3e-3, 150 iterations:
    // seeds 1, 2, 3 → test loss 0.70, 0.73, 0.75 and accuracy 74.1%, 73.3%, 73.1%.
    const { test } = loadDataset();
    const model = createModel('mlp:196-32-10');
    const before = evaluate(model, model.init(1), test, 'ce');
    expect(before.loss).toBeGreaterThan(2.1);
    const res = await train({ optimizer: 'adam', iters: 150, evalEvery: 150, seed: 1 }, { out: join(dir, 'learn'), report: false });
    const last = res.records.at(-1)!;
    expect(last.testLoss!).toBeLessThan(0.85);
    expect(last.testAccuracy!).toBeGreaterThan(0.68);
    const early = res.records.slice(0, 10).reduce((a, r) => a + r.trainLoss, 0) / 10;
    const late = res.records.slice(-10).reduce((a, r) => a + r.trainLoss, 0) / 10;
    expect(late).toBeLessThan(0.5 * early);
  });

  it('stops at the first non-finite loss and reports divergence (MSE loss, SGD, lr 50)', async () => {
    const out = join(dir, 'diverge');
    const res = await train({ model: 'mlp:196-16-10', batch: 16, loss: 'mse', optimizer: 'sgd', optimizerOptions: { lr: 50 }, iters: 200, checkpointEvery: 1000 }, { out, report: false });
    expect(res.diverged).toBe(true);
    expect(res.iterations).toBeLessThan(200);
    const last = res.records.at(-1)!;
    expect(Number.isFinite(last.trainLoss)).toBe(false);
    // no checkpoint of the diverged state
    expect(res.checkpointPath).toBeNull();
  });
});
