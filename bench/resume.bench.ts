// Resume cost of a TNGD run on the in-process emulator. Primary figure: wall time of putting a
// freshly connected device back into the state checkpointed at iteration K (restoreDevice),
// against the same from the checkpoint at iteration 10, measured in the same run. Extra column:
// the whole `train --resume` from K to K + 1 (connect, restore, one iteration, checkpoint).
// Putting the device back must not grow with K (the emulator's run counter is set by Configure,
// not advanced by replaying runs), so the ratio should stay near 1.
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { makeBatchOracle } from '../src/host-loop/batch-oracle.ts';
import { Batcher, gatherBatch } from '../src/host-loop/data/dataset.ts';
import { createModel } from '../src/host-loop/models/model.ts';
import { createOptimizer } from '../src/host-loop/optimizers/index.ts';
import { readCheckpoint } from '../src/host-loop/run/index.ts';
import { deviceBackedSourceOf, loadRunData, openTngdDevice, parseTrainConfig, train } from '../src/host-loop/train/index.ts';
import type { BenchRow, BenchSuite } from './harness.ts';

const BASE = { model: 'mlp:196-8-10', batch: 8, evalEvery: 1000, seed: 21, device: 'emu:?profile=ideal' };
const CASES = [
  { name: 'TNGD carry, exact, κ₀ = 0.05', optimizer: 'tngd', options: { lr: 0.1, damping: 0.1, kappa0: 0.05, tTau: 2, start: 'carry' } },
  { name: 'TNGD-Adam pipelined, exact, κ₀ = 0.02, delay 0.5τ', optimizer: 'tngd-adam', options: { lr: 3e-3, damping: 0.1, kappa0: 0.02, tTau: 1, delay: 0.5, pipelined: true } },
];
const BASELINE_ITER = 10;
const K = 200;

const median = (t: number[]): number => [...t].sort((a, b) => a - b)[Math.floor(t.length / 2)];
const now = (): bigint => process.hrtime.bigint();
const secs = (t0: bigint): number => Number(now() - t0) / 1e9;

/** restoreDevice alone on a fresh emulator, as train() does it (seconds). */
async function restoreOnce(ckPath: string): Promise<number> {
  const ck = readCheckpoint(ckPath);
  const cfg = parseTrainConfig(ck.config);
  const model = createModel(cfg.model);
  const { train: data } = loadRunData(cfg.data);
  const bs = (ck.rng as { batcher: { seed: number; epoch: number; pos: number } }).batcher;
  const hooks = {
    lastBatchAt: (theta: Float64Array) => {
      const again = new Batcher(data.n, cfg.batch, cfg.seed, { ...bs, pos: bs.pos - cfg.batch });
      const { x, y } = gatherBatch(data, again.next().idx);
      return makeBatchOracle(model, theta, x, y, cfg.batch, cfg.loss);
    },
  };
  const dev = await openTngdDevice(cfg);
  try {
    const opt = createOptimizer(cfg.optimizer, cfg.optimizerOptions, dev.context);
    opt.loadState(ck.optimizer.state);
    const t0 = now();
    await deviceBackedSourceOf(opt)!.restoreDevice(ck.device, hooks);
    return secs(t0);
  } finally {
    await dev.close();
  }
}

/** `train --resume` from the checkpoint to one more iteration, into a new folder (seconds). */
async function resumeOnce(dir: string, ckPath: string, iters: number, tag: string): Promise<number> {
  const t0 = now();
  await train(undefined, { resume: ckPath, out: join(dir, `again-${tag}`), overrides: { iters: iters + 1 }, report: false });
  return secs(t0);
}

/** Trains to `iters` with one checkpoint there; returns its path. */
async function checkpointAt(dir: string, c: (typeof CASES)[number], iters: number): Promise<string> {
  const out = join(dir, `${c.optimizer}-${iters}`);
  await train({ ...BASE, optimizer: c.optimizer, optimizerOptions: c.options, iters, checkpointEvery: iters }, { out, report: false });
  return join(out, 'checkpoints', `ckpt-${String(iters).padStart(10, '0')}.ckpt`);
}

const suite: BenchSuite = {
  name: 'resume',
  async run({ quick }) {
    const rows: BenchRow[] = [];
    const dir = mkdtempSync(join(tmpdir(), 'tngd-bench-resume-'));
    const reps = quick ? 3 : 7;
    try {
      for (const c of quick ? CASES.slice(0, 1) : CASES) {
        const ck = { base: await checkpointAt(dir, c, BASELINE_ITER), at: await checkpointAt(dir, c, K) };
        await restoreOnce(ck.base); // untimed warm-up (JIT, data set cache)
        await resumeOnce(dir, ck.base, BASELINE_ITER, `${c.optimizer}-warm`);
        // baseline and K alternate, so machine load and JIT state hit both alike
        const t = { base: [] as number[], at: [] as number[], resumeBase: [] as number[], resumeAt: [] as number[] };
        for (let i = 0; i < reps; i++) {
          t.base.push(await restoreOnce(ck.base));
          t.at.push(await restoreOnce(ck.at));
          t.resumeBase.push(await resumeOnce(dir, ck.base, BASELINE_ITER, `${c.optimizer}-b${i}`));
          t.resumeAt.push(await resumeOnce(dir, ck.at, K, `${c.optimizer}-k${i}`));
        }
        const at = median(t.at);
        const base = median(t.base);
        rows.push({
          case: `${c.name}: restore at iteration ${K}`,
          value: at * 1e3,
          unit: 'ms',
          baseline: base * 1e3,
          ratio: at / base,
          resumeMs: median(t.resumeAt) * 1e3,
          resumeBaselineMs: median(t.resumeBase) * 1e3,
          note: `baseline: at iteration ${BASELINE_ITER}; lower is better; ratio ≈ 1 = no growth with iterations; resumeMs = train --resume to K + 1`,
        });
      }
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
    return rows;
  },
};

export default suite;
