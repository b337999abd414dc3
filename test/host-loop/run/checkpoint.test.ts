import { describe, expect, it, beforeEach, afterEach } from 'vitest';
import fc from 'fast-check';
import { createHash } from 'node:crypto';
import { mkdtempSync, readFileSync, readdirSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import {
  CheckpointError,
  CheckpointStore,
  decodeCheckpoint,
  encodeCheckpoint,
  readCheckpoint,
  writeCheckpoint,
} from '../../../src/host-loop/run/index.ts';
import type { Checkpoint } from '../../../src/host-loop/run/index.ts';
import { createOptimizer } from '../../../src/host-loop/optimizers/index.ts';
import { SoftmaxProblem } from '../optimizers/problems.ts';

let dir: string;
beforeEach(() => {
  dir = mkdtempSync(join(tmpdir(), 'tngd-ckpt-'));
});
afterEach(() => rmSync(dir, { recursive: true, force: true }));

function sample(iteration = 7): Checkpoint {
  return {
    iteration,
    epoch: 2,
    params: Float64Array.from([1.5, -0, NaN, 5e-324, -Infinity, Math.PI]),
    optimizer: { name: 'adam', state: { t: 3, m: 'AAAAAAAA8D8=' } },
    rng: { s: [1, 2, 3, 4] },
    config: { optimizer: 'adam', lr: 1e-3 },
    device: { x: 'AAAAAAAAAAA=', counter: 12 },
  };
}

function codeOf(fn: () => unknown): string {
  try {
    fn();
  } catch (e) {
    if (e instanceof CheckpointError) return e.code;
    throw e;
  }
  return 'ok';
}

describe('checkpoint format', () => {
  it('round-trips params bit-exactly (−0, NaN, subnormal, ±Inf) and every opaque field', () => {
    const c = sample();
    writeCheckpoint(join(dir, 'a.ckpt'), c);
    const back = readCheckpoint(join(dir, 'a.ckpt'));
    expect(Buffer.from(back.params.buffer).equals(Buffer.from(c.params.buffer))).toBe(true);
    expect(back.optimizer).toEqual(c.optimizer);
    expect(back.rng).toEqual(c.rng);
    expect(back.config).toEqual(c.config);
    expect(back.device).toEqual(c.device);
    expect([back.iteration, back.epoch]).toEqual([7, 2]);
    const noDevice = decodeCheckpoint(encodeCheckpoint({ ...c, device: undefined }));
    expect('device' in noDevice).toBe(false);
  });

  it('gives typed errors for missing, empty, truncated, corrupted, wrong-version and foreign files', () => {
    const good = encodeCheckpoint(sample());
    const p = join(dir, 'x.ckpt');
    expect(codeOf(() => readCheckpoint(join(dir, 'missing.ckpt')))).toBe('not-found');
    writeFileSync(p, Buffer.alloc(0));
    expect(codeOf(() => readCheckpoint(p))).toBe('truncated');
    writeFileSync(p, good.subarray(0, good.length - 10));
    expect(codeOf(() => readCheckpoint(p))).toBe('truncated');
    expect(() => readCheckpoint(p)).toThrow(/body has \d+ of \d+ bytes/);
    writeFileSync(p, good.subarray(0, 20));
    expect(codeOf(() => readCheckpoint(p))).toBe('truncated');
    const flipped = Buffer.from(good);
    flipped[flipped.length - 30] ^= 0x01;
    writeFileSync(p, flipped);
    expect(codeOf(() => readCheckpoint(p))).toBe('corrupt');
    expect(() => readCheckpoint(p)).toThrow(/SHA-256/);
    writeFileSync(p, Buffer.concat([good, Buffer.from('x')]));
    expect(codeOf(() => readCheckpoint(p))).toBe('corrupt');
    const nl = good.indexOf(0x0a);
    const header = JSON.parse(good.subarray(0, nl).toString()) as { version: number };
    header.version = 2;
    writeFileSync(p, Buffer.concat([Buffer.from(JSON.stringify(header)), good.subarray(nl)]));
    expect(codeOf(() => readCheckpoint(p))).toBe('version');
    expect(() => readCheckpoint(p)).toThrow(/version 2 is not supported \(this build reads version 1\)/);
    writeFileSync(p, '{"hello":"world"}\n{}');
    expect(codeOf(() => readCheckpoint(p))).toBe('invalid');
  });

  it('refuses opaque fields JSON would silently change (NaN, typed arrays)', () => {
    expect(codeOf(() => encodeCheckpoint({ ...sample(), rng: { s: NaN } }))).toBe('invalid');
    expect(() => encodeCheckpoint({ ...sample(), rng: { s: NaN } })).toThrow(/rng\.s is NaN/);
    expect(() => encodeCheckpoint({ ...sample(), device: { x: new Float64Array(2) } })).toThrow(/device\.x is a Float64Array \(encode it with encodeF64\)/);
  });

  it('rejects a well-checksummed body that breaks the schema', () => {
    const c = sample();
    const buf = encodeCheckpoint(c);
    const nl = buf.indexOf(0x0a);
    const body = JSON.parse(buf.subarray(nl + 1).toString()) as { params: { n: number } };
    body.params.n = 5; // disagrees with the 6 values stored
    const bodyBuf = Buffer.from(JSON.stringify(body));
    const header = { format: 'tngd-checkpoint', version: 1, bodyBytes: bodyBuf.length, sha256: createHash('sha256').update(bodyBuf).digest('hex') };
    expect(codeOf(() => decodeCheckpoint(Buffer.concat([Buffer.from(JSON.stringify(header) + '\n'), bodyBuf])))).toBe('invalid');
  });

  it('detects every single-byte corruption (fast-check, seed 7, 300 runs)', () => {
    const good = encodeCheckpoint(sample());
    fc.assert(
      fc.property(fc.nat(good.length - 1), fc.integer({ min: 1, max: 255 }), (pos, x) => {
        const bad = Buffer.from(good);
        bad[pos] ^= x;
        expect(['corrupt', 'truncated', 'invalid', 'version']).toContain(codeOf(() => decodeCheckpoint(bad)));
      }),
      { seed: 7, numRuns: 300 },
    );
  });
});

describe('checkpoint store', () => {
  it('keeps the newest K checkpoints', () => {
    const store = new CheckpointStore(dir, { keep: 2 });
    for (let i = 1; i <= 5; i++) store.save(sample(i * 10));
    expect(store.list().map((s) => s.iteration)).toEqual([40, 50]);
    expect(store.loadLatest()?.checkpoint.iteration).toBe(50);
  });

  it('a crash mid-write (partial temp file) leaves the previous checkpoint loadable, and the next save cleans up', () => {
    const store = new CheckpointStore(dir, { keep: 3 });
    store.save(sample(10));
    const partial = encodeCheckpoint(sample(20));
    const tmp = join(dir, `.ckpt-0000000020.ckpt.99999.deadbeef.tmp`);
    writeFileSync(tmp, partial.subarray(0, partial.length >> 1));
    const latest = store.loadLatest();
    expect(latest?.checkpoint.iteration).toBe(10);
    expect(latest?.skipped).toEqual([]);
    store.save(sample(30));
    expect(readdirSync(dir).sort()).toEqual(['ckpt-0000000010.ckpt', 'ckpt-0000000030.ckpt']);
  });

  it('falls back past a damaged newest checkpoint and says so', () => {
    const store = new CheckpointStore(dir, { keep: 3 });
    store.save(sample(10));
    const p20 = store.save(sample(20));
    const buf = readFileSync(p20);
    writeFileSync(p20, buf.subarray(0, buf.length - 100));
    const latest = store.loadLatest();
    expect(latest?.checkpoint.iteration).toBe(10);
    expect(latest?.skipped.map((s) => [s.path, s.error.code])).toEqual([[p20, 'truncated']]);
    expect(new CheckpointStore(join(dir, 'empty')).loadLatest()).toBeNull();
  });

  it('parameters + optimizer state through a checkpoint file resume bit-identically (ngd-woodbury, momentum 0.8)', async () => {
    const p = new SoftmaxProblem(5, 64, 4, 3);
    const batch = (k: number) => Int32Array.from({ length: 16 }, (_, i) => (k * 16 + i) % p.m);
    const opts = { lr: 0.3, damping: 0.01, momentum: 0.8 };
    const a = new Float64Array(p.n);
    const optA = createOptimizer('ngd-woodbury', opts);
    for (let k = 0; k < 8; k++) await optA.step(a, p.oracle(a, batch(k)));

    const b = new Float64Array(p.n);
    const optB = createOptimizer('ngd-woodbury', opts);
    for (let k = 0; k < 4; k++) await optB.step(b, p.oracle(b, batch(k)));
    const store = new CheckpointStore(dir);
    store.save({ iteration: 4, epoch: 0, params: b, optimizer: { name: optB.name, state: optB.saveState() }, rng: null, config: opts });
    const loaded = store.loadLatest()!.checkpoint;
    const optC = createOptimizer(loaded.optimizer.name, loaded.config);
    optC.loadState(loaded.optimizer.state);
    const c = loaded.params;
    for (let k = loaded.iteration; k < 8; k++) await optC.step(c, p.oracle(c, batch(k)));
    expect(Buffer.from(c.buffer).equals(Buffer.from(a.buffer))).toBe(true);
  });
});
