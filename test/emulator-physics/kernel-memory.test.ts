// Kernel memory life cycle (physics/kernels/store.ts): a J staged in kernel memory is adopted by
// its store (rearranged in place, no second copy), recycled memories hold old values that must
// never show, and every path gives the layout a fresh copy gives.
import { describe, expect, it } from 'vitest';
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
