// The LoRA study: the committed base weights load and verify, pretraining is a deterministic
// function of its recipe, and the --quick study runs every arm through the emulated device and
// writes sane output (CI's smoke run of `npm run example:lora -- --quick`).
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { main as loraMain } from '../../examples/lora.ts';
import { BASE_FILE, BaseFileError, encoderConfig, loadBase, mlmEval, pretrainBase, weightsDigest } from '../../examples/lib/lora-base.ts';
import { meanInterval, pairedDifference, t975, verdict } from '../../examples/lib/intervals.ts';
import { Vocab } from '../../src/host-loop/data/qa/vocab.ts';
import { TransformerEncoder } from '../../src/host-loop/models/transformer/encoder.ts';
import { checkStudyOutput } from './check-output.ts';

const root = mkdtempSync(join(tmpdir(), 'tngd-lora-'));
afterAll(() => rmSync(root, { recursive: true, force: true }));

describe('LoRA base encoder', { timeout: 120_000 }, () => {
  it('the committed weights match their SHA-256, config and vocabulary; a changed weight is refused', () => {
    const { file, base } = loadBase();
    expect(file.config).toEqual(encoderConfig());
    expect(base.length).toBe(new TransformerEncoder(file.config).base.size);
    expect(weightsDigest(base)).toBe(file.sha256);
    // pretraining got the held-out MLM accuracy well above the most frequent word's share
    expect(file.history[file.history.length - 1].accuracy).toBeGreaterThan(0.5);
    const bad = JSON.parse(readFileSync(BASE_FILE, 'utf8')) as { weights: string };
    const buf = Buffer.from(bad.weights, 'base64');
    buf.writeDoubleLE(buf.readDoubleLE(800) + 1e-3, 800);
    bad.weights = buf.toString('base64');
    const path = join(root, 'tampered.json');
    writeFileSync(path, JSON.stringify(bad));
    expect(() => loadBase(path)).toThrow(BaseFileError);
    expect(() => loadBase(path)).toThrow(/SHA-256/);
  });

  it('pretraining is a deterministic function of the recipe and lowers the held-out MLM loss (30 steps)', async () => {
    const recipe = { seed: 7, steps: 30, batch: 8, lr: 3e-3 };
    const a = await pretrainBase(recipe, { every: 30 });
    const b = await pretrainBase(recipe, { every: 30 });
    expect(weightsDigest(a.base)).toBe(weightsDigest(b.base));
    expect(weightsDigest((await pretrainBase({ ...recipe, seed: 8, steps: 2 }, { every: 2 })).base)).not.toBe(weightsDigest(a.base));
    const vocab = new Vocab();
    const enc = new TransformerEncoder(encoderConfig(vocab));
    const before = mlmEval(enc, enc.initBase(7), vocab).loss;
    expect(a.history[a.history.length - 1].loss).toBeLessThan(before - 0.3);
  });
});

describe('intervals', () => {
  it('t quantiles, mean intervals and paired verdicts', () => {
    expect(t975(4)).toBe(2.776);
    const m = meanInterval([1, 2, 3, 4, 5]);
    // sd = √2.5, half-width 2.776·√2.5/√5
    expect(m.hi - m.mean).toBeCloseTo((2.776 * Math.sqrt(2.5)) / Math.sqrt(5), 12);
    expect(verdict(pairedDifference([1, 1.1, 0.9], [2, 2.2, 2.1]))).toBe('lower');
    expect(verdict(pairedDifference([1, 3, 2], [2, 2, 2]))).toBe('no difference shown');
  });
});

describe('example lora --quick', { timeout: 400_000 }, () => {
  it('tunes η per arm, runs every arm for seeds 1 and 2 and scores EM/F1 on the test split', async () => {
    const dir = join(root, 'lora');
    await loraMain(['--quick', '--out', dir]);
    // tuning.json records a failed tuning run as −1 (finite), results.json has no non-finite numbers
    const { json, svgs } = checkStudyOutput(dir, 'lora');
    expect(svgs).toEqual(expect.arrayContaining(['train-loss-vs-iter.svg', 'test-f1-vs-iter.svg', 'test-em-vs-iter.svg', 'test-f1-vs-time.svg']));
    type G = { label: string; seeds: number[]; failed: unknown[]; em: { mean: number }; f1: { mean: number }; testLoss: { mean: number } };
    const r = json['results.json'] as {
      N: number;
      adapterParams: number;
      r: number;
      groups: G[];
      baselines: { untrainedAdapters: { loss: number } };
      runs: { label: string; deviceTau: number }[];
    };
    expect(r.groups.map((g) => g.label)).toEqual(['Adam', 'TNGD t=0.4τ', 'TNGD-Adam t=0.1τ', 'TNGD-Adam t=0.2τ', 'TNGD-Adam t=0.4τ', 'NGD-Woodbury']);
    expect(r.r).toBe(2 * 16 * 2);
    expect(r.adapterParams).toBe(2 * 2 * 2 * 4 * 32);
    expect(r.N).toBe(r.adapterParams + 2 * 32 + 2);
    for (const g of r.groups) {
      expect(g.seeds).toEqual([1, 2]);
      expect(g.failed).toEqual([]);
      expect(g.em.mean).toBeGreaterThanOrEqual(0);
      expect(g.f1.mean).toBeLessThanOrEqual(100);
    }
    // the device arms ran for their t (τ) per iteration; the digital ones used no device time
    const tau = (label: string) => r.runs.find((x) => x.label === label)!.deviceTau;
    expect(tau('TNGD t=0.4τ')).toBeCloseTo(0.4, 9);
    expect(tau('TNGD-Adam t=0.1τ')).toBeCloseTo(0.1, 9);
    expect(tau('TNGD-Adam t=0.2τ')).toBeCloseTo(0.2, 9);
    expect([tau('Adam'), tau('NGD-Woodbury')]).toEqual([0, 0]);
    // six NGD-Woodbury steps already lower the test loss below the untrained adapters'
    expect(r.groups.find((g) => g.label === 'NGD-Woodbury')!.testLoss.mean).toBeLessThan(r.baselines.untrainedAdapters.loss);
    const tuning = json['tuning.json'] as { tuning: { best: number; grid: { lr: number }[] }[] };
    for (const t of tuning.tuning) expect(t.grid.map((g) => g.lr)).toContain(t.best);
    expect(readFileSync(join(dir, 'summary.md'), 'utf8')).toContain('Paired differences');
  });

  it('splits over processes: --tuning reuses η, --only runs a subset, --merge reports the parts', async () => {
    const tuning = join(root, 'lora', 'tuning.json');
    await expect(loraMain(['--quick', '--tuning', tuning, '--only', 'Bogus', '--out', join(root, 'bad')])).rejects.toThrow(/unknown arm Bogus/);
    await loraMain(['--quick', '--tuning', tuning, '--only', 'Adam', '--out', join(root, 'part')]);
    await loraMain(['--quick', '--tuning', tuning, '--merge', join(root, 'part'), '--out', join(root, 'merged')]);
    const { json } = checkStudyOutput(join(root, 'merged'), 'lora');
    const r = json['results.json'] as { groups: { label: string; seeds: number[] }[]; chosenLr: Record<string, number> };
    expect(r.groups.map((g) => [g.label, g.seeds])).toEqual([['Adam', [1, 2]]]);
    const t = JSON.parse(readFileSync(tuning, 'utf8')) as { tuning: { label: string; best: number }[] };
    expect(r.chosenLr.Adam).toBe(t.tuning.find((x) => x.label === 'Adam')!.best);
  });
});
