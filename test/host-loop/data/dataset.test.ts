import { describe, expect, it } from 'vitest';
import { Batcher, datasetFromBytes, downsample2x2, downsample2x2Bytes, gatherBatch } from '../../../src/host-loop/data/dataset.ts';
import { Rng, permutation } from '../../../src/host-loop/data/rng.ts';

describe('downsampling', () => {
  it('2×2 mean of bytes rounds half up; the float version is the exact mean', () => {
    const img = Uint8Array.of(0, 1, 10, 20, 0, 0, 30, 40, 255, 255, 1, 1, 255, 254, 1, 2);
    // blocks: (0+1+0+0)/4 = .25 → 0; (10+20+30+40)/4 = 25; (255·3+254)/4 = 254.75 → 255; (1+1+1+2)/4 = 1.25 → 1
    expect(Array.from(downsample2x2Bytes(img, 1, 4, 4))).toEqual([0, 25, 255, 1]);
    expect(Array.from(downsample2x2Bytes(Uint8Array.of(1, 1, 0, 0), 1, 2, 2))).toEqual([1]); // 0.5 → 1
    const ds = datasetFromBytes(img, Uint8Array.of(3), 1, [4, 4, 1], 10);
    const small = downsample2x2(ds);
    expect(small.shape).toEqual([2, 2, 1]);
    expect(small.x[1]).toBeCloseTo(25 / 255, 15);
    expect(small.x[2]).toBeCloseTo(254.75 / 255, 15);
    expect(() => downsample2x2Bytes(img, 1, 3, 5)).toThrow(/even height and width, got 3×5/);
  });

  it('pooling while converting bytes equals converting then pooling', () => {
    const rng = new Rng(6);
    const bytes = Uint8Array.from({ length: 3 * 36 }, () => rng.int(256));
    const labels = Uint8Array.of(1, 2, 0);
    const a = downsample2x2(datasetFromBytes(bytes, labels, 3, [6, 6, 1], 3));
    const b = datasetFromBytes(bytes, labels, 3, [6, 6, 1], 3, true);
    expect([b.d, b.shape]).toEqual([9, [3, 3, 1]]);
    for (let i = 0; i < a.x.length; i++) expect(Math.abs(a.x[i] - b.x[i])).toBeLessThan(1e-15);
    expect(Array.from(b.y)).toEqual([1, 2, 0]);
  });

  it('gatherBatch copies rows and labels and rejects bad indices', () => {
    const ds = datasetFromBytes(Uint8Array.of(0, 51, 102, 153, 204, 255), Uint8Array.of(4, 5, 6), 3, [1, 2, 1], 10);
    const { x, y } = gatherBatch(ds, [2, 0]);
    expect(Array.from(x)).toEqual([0.8, 1, 0, 0.2]);
    expect(Array.from(y)).toEqual([6, 4]);
    expect(() => gatherBatch(ds, [3])).toThrow(/sample index 3 out of range/);
    expect(() => datasetFromBytes(new Uint8Array(2), Uint8Array.of(10), 1, [1, 2, 1], 10)).toThrow(/label 10/);
  });
});

describe('Batcher', () => {
  it('each epoch visits distinct samples; the last partial batch is dropped', () => {
    const bt = new Batcher(103, 10, 5);
    expect(bt.batchesPerEpoch).toBe(10);
    for (let e = 0; e < 3; e++) {
      const seen = new Set<number>();
      for (let k = 0; k < 10; k++) {
        const { idx, epoch } = bt.next();
        expect(epoch).toBe(e);
        for (const i of idx) seen.add(i);
      }
      expect(seen.size).toBe(100);
    }
  });

  it('is deterministic per seed, differs between seeds and epochs', () => {
    const seq = (seed: number, k: number) => {
      const bt = new Batcher(50, 7, seed);
      const out: number[] = [];
      for (let i = 0; i < k; i++) out.push(...bt.next().idx);
      return out;
    };
    expect(seq(1, 14)).toEqual(seq(1, 14));
    expect(seq(1, 7)).not.toEqual(seq(2, 7));
    const s = seq(1, 14);
    expect(s.slice(0, 49)).not.toEqual(s.slice(49, 98));
  });

  it('resuming from a saved state continues exactly like an uninterrupted run', () => {
    const a = new Batcher(40, 6, 9);
    const b = new Batcher(40, 6, 9);
    for (let i = 0; i < 11; i++) b.next();
    const state = JSON.parse(JSON.stringify(b.getState()));
    const c = new Batcher(40, 6, 9, state);
    for (let i = 0; i < 11; i++) a.next();
    for (let i = 0; i < 20; i++) expect(Array.from(c.next().idx)).toEqual(Array.from(a.next().idx));
    expect(() => new Batcher(40, 6, 8, state)).toThrow(/seed 9, expected 8/);
    expect(() => new Batcher(40, 6, 9, { seed: 9, epoch: -1, pos: 0 })).toThrow(/bad batcher state/);
    expect(() => new Batcher(5, 6, 9)).toThrow(/exceeds the data set size/);
  });
});

describe('Rng', () => {
  it('uniform and normal moments (seed 3, 200k draws, tolerance 5 standard errors)', () => {
    const r = new Rng(3);
    const n = 200_000;
    let su = 0;
    let su2 = 0;
    let sn = 0;
    let sn2 = 0;
    let sn4 = 0;
    let inRange = true;
    for (let i = 0; i < n; i++) {
      const u = r.uniform();
      inRange &&= u >= 0 && u < 1;
      su += u;
      su2 += u * u;
      const z = r.normal();
      sn += z;
      sn2 += z * z;
      sn4 += z ** 4;
    }
    expect(inRange).toBe(true);
    expect(Math.abs(su / n - 0.5)).toBeLessThan(5 * Math.sqrt(1 / 12 / n));
    expect(Math.abs(su2 / n - 1 / 3)).toBeLessThan(5 * Math.sqrt(4 / 45 / n));
    expect(Math.abs(sn / n)).toBeLessThan(5 / Math.sqrt(n));
    expect(Math.abs(sn2 / n - 1)).toBeLessThan(5 * Math.sqrt(2 / n));
    expect(Math.abs(sn4 / n - 3)).toBeLessThan(5 * Math.sqrt(96 / n));
  });

  it('int(n) is uniform over [0, n) (seed 4, 60k draws, χ² with 5 dof below 20.5, p ≈ 0.001)', () => {
    const r = new Rng(4);
    const c = new Array(6).fill(0);
    for (let i = 0; i < 60_000; i++) c[r.int(6)]++;
    const chi2 = c.reduce((s, o) => s + (o - 10_000) ** 2 / 10_000, 0);
    expect(chi2).toBeLessThan(20.5);
    expect(() => r.int(0)).toThrow(/bad bound/);
  });

  it('state save/restore continues the same stream, including the cached normal', () => {
    const a = new Rng(12345678901);
    a.normal();
    const b = Rng.fromState(JSON.parse(JSON.stringify(a.getState())));
    for (let i = 0; i < 100; i++) expect(b.normal()).toBe(a.normal());
    expect(new Rng(1).nextU32()).not.toBe(new Rng(2).nextU32());
    expect(new Rng(1, 1).nextU32()).not.toBe(new Rng(1, 2).nextU32());
    expect(() => a.setState({ s: [1, 2, 3], spare: null } as never)).toThrow(/four uint32/);
  });

  it('permutation is a permutation', () => {
    const p = permutation(1000, new Rng(1));
    expect(Array.from(p).sort((x, y) => x - y)).toEqual(Array.from({ length: 1000 }, (_, i) => i));
  });
});
