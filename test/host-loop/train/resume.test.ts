// --resume continues bit-identically: a run of 2k iterations and a run stopped at k (by
// reaching --iters or by Ctrl-C / abort) then resumed to 2k end with the same parameter bytes
// and the same metric lines apart from timings.
import { describe, expect, it } from 'vitest';
import { join } from 'node:path';
import { readdirSync, readFileSync, writeFileSync } from 'node:fs';
import { train } from '../../../src/host-loop/train/index.ts';
import type { ProgressSink } from '../../../src/host-loop/train/index.ts';
import { sameBytes, tempDir, untimed } from './helpers.ts';

const dir = tempDir('resume');
const base = { model: 'mlp:196-16-10', batch: 16, evalEvery: 10, checkpointEvery: 10, seed: 7 };

describe('bit-identical resume', () => {
  it('Adam: 40 iterations = 20, stop, resume to 40', async () => {
    const cfg = { ...base, optimizer: 'adam', optimizerOptions: { lr: 3e-3 } };
    const full = await train({ ...cfg, iters: 40 }, { out: join(dir, 'adam-full'), report: false });
    const half = await train({ ...cfg, iters: 20 }, { out: join(dir, 'adam-half'), report: false });
    expect(half.iterations).toBe(20);
    expect(sameBytes(half.params, full.params)).toBe(false);
    const resumed = await train(undefined, { resume: join(dir, 'adam-half'), overrides: { iters: 40 }, report: false });
    expect(resumed.iterations).toBe(40);
    expect(sameBytes(resumed.params, full.params)).toBe(true);
    expect(resumed.records.map(untimed)).toEqual(full.records.map(untimed));
    // wall time continues from the first part instead of restarting at 0
    expect(resumed.records[20].wallSeconds).toBeGreaterThanOrEqual(resumed.records[19].wallSeconds);
  });

  it('NGD-CG with warm start (direction state): abort at iteration 13, resume to 30', async () => {
    const cfg = { ...base, optimizer: 'ngd-cg', optimizerOptions: { lr: 0.1, damping: 0.1, maxIter: 8, warmStart: true }, iters: 30 };
    const full = await train(cfg, { out: join(dir, 'cg-full'), report: false });
    const ac = new AbortController();
    // Abort while iteration 13 is being reported, as a Ctrl-C arriving mid-run would.
    const progress: ProgressSink = { start() {}, update: (iter) => (iter === 13 ? ac.abort() : undefined), stop() {} };
    const cut = await train(cfg, { out: join(dir, 'cg-cut'), report: false, signal: ac.signal, progress });
    expect(cut.interrupted).toBe(true);
    expect(cut.iterations).toBe(13);
    expect(readdirSync(join(dir, 'cg-cut', 'checkpoints'))).toContain('ckpt-0000000013.ckpt');
    const resumed = await train(undefined, { resume: join(dir, 'cg-cut', 'checkpoints', 'ckpt-0000000013.ckpt'), report: false });
    expect(resumed.interrupted).toBe(false);
    expect(sameBytes(resumed.params, full.params)).toBe(true);
    expect(resumed.records.map(untimed)).toEqual(full.records.map(untimed));
  });

  it('resume refuses a changed hyperparameter and a corrupt checkpoint, naming them', async () => {
    const out = join(dir, 'adam-half');
    await expect(train(undefined, { resume: out, overrides: { optimizerOptions: { lr: 0.1 } } })).rejects.toThrow(
      /optimizer option lr: checkpoint has 0.003, command line 0.1/,
    );
    await expect(train(undefined, { resume: out, overrides: { batch: 8 } })).rejects.toThrow(/batch: checkpoint has 16, command line 8/);
    await expect(train(undefined, { resume: join(dir, 'nothing-here') })).rejects.toThrow(/no such file or folder/);
    // one flipped byte in the body: the SHA-256 check catches it
    const ck = join(out, 'checkpoints', 'ckpt-0000000020.ckpt');
    const bad = join(dir, 'flipped.ckpt');
    const buf = readFileSync(ck);
    buf[buf.length - 40] ^= 0x01;
    writeFileSync(bad, buf);
    await expect(train(undefined, { resume: bad })).rejects.toThrow(/SHA-256 of the body does not match/);
  });
});
