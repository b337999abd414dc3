// Kernel memory life cycle (physics/kernels/store.ts): a J staged in kernel memory is adopted by
// its store (rearranged in place, no second copy), recycled memories hold old values that must
// never show, and every path gives the layout a fresh copy gives.
import { describe, expect, it } from 'vitest';
import { PROFILES, SpuCore } from '../../src/emulator/physics/index.ts';
import { FactorStore, adoptedBy, kernelArray, releaseKernelArray } from '../../src/emulator/physics/kernels/store.ts';

/** Row-major r×n J with values that differ in every position (and some exact zeros). */
function rowMajor(n: number, r: number, seed: number): Float64Array {
  const J = new Float64Array(r * n);
  for (let i = 0; i < J.length; i++) J[i] = i % 7 === 3 ? 0 : Math.sin(seed + i * 0.37) * (1 + (i % 5));
  return J;
}

/** The store's memory as a fresh copy lays it out: J pair-interleaved, +0 everywhere else. */
function expectedMemory(J: Float64Array, n: number, r: number, doubles: number): Float64Array {
  const m = new Float64Array(doubles);
  for (let k = 0; k < r; k++) for (let j = 0; j < n; j++) m[(k >> 1) * 2 * n + (k & 1) + 2 * j] = J[k * n + j];
  return m;
}

const same = (a: Float64Array, b: Float64Array): boolean => Buffer.from(a.buffer, a.byteOffset, a.byteLength).equals(Buffer.from(b.buffer, b.byteOffset, b.byteLength));

describe('kernel memory', () => {
  for (const [n, r] of [
    [300, 8],
    [257, 7],
    [64, 1],
  ] as const) {
    it(`a staged J (n = ${n}, r = ${r}) is adopted in place and reads back as uploaded`, () => {
      const J = rowMajor(n, r, r);
      const staged = kernelArray(n, r);
      staged.set(J);
      const s = new FactorStore(n, r, staged);
      expect(s.m.buffer).toBe(staged.buffer); // no second copy of J
      expect(adoptedBy(staged)).toBe(s);
      expect(same(s.m, expectedMemory(J, n, r, s.m.length))).toBe(true);
      expect(same(s.rowMajor(), J)).toBe(true);
      // the adopted array is the store's: releasing it as if discarded does not recycle it
      releaseKernelArray(staged);
      const next = kernelArray(n, r);
      expect(next.buffer).not.toBe(staged.buffer);
      releaseKernelArray(next);
    });
  }

  it('a recycled memory full of NaN gives the layout of fresh memory (copied and adopted J alike)', () => {
    const n = 200;
    const r = 5;
    const J = rowMajor(n, r, 1);
    for (const adopt of [false, true]) {
      const dirty = kernelArray(n, r);
      new Float64Array(dirty.buffer).fill(Number.NaN);
      releaseKernelArray(dirty); // into the pool
      let s: FactorStore;
      if (adopt) {
        const staged = kernelArray(n, r);
        expect(staged.buffer).toBe(dirty.buffer); // the pooled memory, NaN and all
        staged.set(J);
        s = new FactorStore(n, r, staged);
      } else {
        s = new FactorStore(n, r, J);
        expect(s.m.buffer).toBe(dirty.buffer);
      }
      expect(same(s.m, expectedMemory(J, n, r, s.m.length))).toBe(true);
      // and it computes: K = J·Jᵀ (diagonal entries are the row sums of squares)
      const K = s.gram();
      const q = s.rowSquares();
      for (let k = 0; k < r; k++) expect(K[k * r + k]).toBe(q[k]);
      expect(K.every(Number.isFinite)).toBe(true);
    }
  });

  it('a J that is only part of a kernel array, or a plain array, is copied', () => {
    const n = 100;
    const r = 4;
    const J = rowMajor(n, r, 2);
    const plain = new FactorStore(n, r, J);
    expect(plain.m.buffer).not.toBe(J.buffer);
    expect(same(J, rowMajor(n, r, 2))).toBe(true); // the caller's array is untouched
    const staged = kernelArray(n, r);
    staged.set(J);
    const part = new FactorStore(n, r - 1, staged.subarray(0, (r - 1) * n));
    expect(part.m.buffer).not.toBe(staged.buffer);
    expect(same(staged, J)).toBe(true);
    releaseKernelArray(staged);
  });
});

describe('the core retires the systems it drops', () => {
  const n = 40;
  const r = 3;
  const system = (seed: number) => ({ n, r, J: rowMajor(n, r, seed), core: { kind: 'identity' as const }, scale: 0.5, lambda: 0.25 });
  /** white-box: the store of the core's pending or live system */
  const storeOf = (c: SpuCore, which: 'staged' | 'live'): FactorStore => (c as unknown as Record<string, { op: { store: FactorStore } }>)[which].op.store;
  const retired = (s: FactorStore): boolean => {
    try {
      void s.ops;
      return false;
    } catch {
      return true;
    }
  };

  it('a replaced pending system at once; the live one only after the run whose delay reads it', () => {
    const c = new SpuCore({ maxCells: n, maxRank: r, profile: PROFILES.ideal, seed: 1 });
    c.configure({ kappa0: 0.1, integrator: { kind: 'exact' }, samplePeriodTau: 0.5, burnInTau: 0 });
    c.setGradient(Float64Array.from({ length: n }, (_, i) => Math.sin(i)));
    c.setCurvatureFactored(system(1));
    const first = storeOf(c, 'staged');
    c.setCurvatureFactored(system(2)); // never run: dropped
    expect(retired(first)).toBe(true);
    const second = storeOf(c, 'staged');
    c.run({ durationTau: 1 }); // second becomes live
    c.setCurvatureFactored(system(3));
    expect(retired(second)).toBe(false); // a delay may still need it
    const h = c.startRun({ durationTau: 1, delayTau: 0.5 }); // reads second during the delay
    h.advance(1);
    expect(retired(second)).toBe(false);
    while (!h.done) h.advance(64);
    expect(h.result().mean.every(Number.isFinite)).toBe(true);
    expect(retired(second)).toBe(true); // the run has ended: the third system is live
    expect(retired(storeOf(c, 'live'))).toBe(false);
  });

  it('a pending factored system replaced by a layered one (same n, one explicit layer)', () => {
    const c = new SpuCore({ maxCells: n, maxRank: r, profile: PROFILES.ideal, seed: 1 });
    c.setCurvatureFactored(system(1));
    const dropped = storeOf(c, 'staged');
    const { J, ...rest } = system(2);
    c.setCurvatureLayered({ ...rest, b: 1, layers: [{ kind: 'explicit', cols: n, J }] });
    expect(retired(dropped)).toBe(true);
  });
});
