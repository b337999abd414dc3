// The deterministic symmetric eigensolver behind the exact integrator: residual and
// orthogonality on random, degenerate and already-diagonal matrices.
import { describe, expect, it } from 'vitest';
import { hypotDet, symmetricEigen } from '../../src/emulator/physics/linalg.ts';
import { randomSpd, rng, softmaxBlocks } from './helpers.ts';

function check(A: Float64Array, n: number): { res: number; orth: number } {
  const { values, vectors: V } = symmetricEigen(A, n);
  let scale = 1e-300;
  for (let i = 0; i < n * n; i++) scale = Math.max(scale, Math.abs(A[i]));
  let res = 0, orth = 0;
  for (let i = 0; i < n; i++)
    for (let j = 0; j < n; j++) {
      let av = 0, vv = 0;
      for (let k = 0; k < n; k++) {
        av += A[i * n + k] * V[k * n + j];
        vv += V[k * n + i] * V[k * n + j];
      }
      res = Math.max(res, Math.abs(av - V[i * n + j] * values[j]) / scale);
      orth = Math.max(orth, Math.abs(vv - (i === j ? 1 : 0)));
    }
  return { res, orth };
}

describe('symmetricEigen (Householder + implicit Wilkinson QR)', () => {
  const cases: [string, number, Float64Array][] = [
    ['1×1', 1, new Float64Array([3])],
    ['zero 4×4', 4, new Float64Array(16)],
    ['identity 5×5 (fully degenerate)', 5, Float64Array.from({ length: 25 }, (_, i) => (i % 6 === 0 ? 1 : 0))],
    ['diagonal with repeats', 4, new Float64Array([2, 0, 0, 0, 0, 1, 0, 0, 0, 0, 2, 0, 0, 0, 0, 1])],
    ['random SPD 40×40', 40, randomSpd(40, 3, 0.1)],
    ['random indefinite 30×30', 30, (() => { const u = rng(4); const a = new Float64Array(900); for (let i = 0; i < 30; i++) for (let j = 0; j <= i; j++) a[i * 30 + j] = a[j * 30 + i] = u() - 0.5; return a; })()],
    ['block-diagonal softmax Hessians 12×12 (singular, reducible)', 12, (() => { const b = softmaxBlocks(4, 3, 5); const a = new Float64Array(144); for (let k = 0; k < 4; k++) for (let i = 0; i < 3; i++) for (let j = 0; j < 3; j++) a[(3 * k + i) * 12 + 3 * k + j] = b[9 * k + 3 * i + j]; return a; })()],
    ['rank-2 Gram 20×20 (eigenvalues spanning 16 decades)', 20, (() => { const u = rng(6); const x = Array.from({ length: 20 }, () => u()); const y = Array.from({ length: 20 }, () => u() * 1e-8); const a = new Float64Array(400); for (let i = 0; i < 20; i++) for (let j = 0; j < 20; j++) a[i * 20 + j] = x[i] * x[j] + y[i] * y[j]; return a; })()],
  ];
  for (const [label, n, A] of cases) {
    it(`${label}: ‖AV − VΛ‖/‖A‖ < 1e-13 and ‖VᵀV − I‖ < 1e-13`, () => {
      const { res, orth } = check(A, n);
      expect(res).toBeLessThan(1e-13);
      expect(orth).toBeLessThan(1e-13);
    });
  }
  it('eigenvalues of a known matrix: tridiag(−1, 2, −1) of size 8 has 2 − 2cos(kπ/9)', () => {
    const n = 8;
    const A = new Float64Array(n * n);
    for (let i = 0; i < n; i++) {
      A[i * n + i] = 2;
      if (i + 1 < n) A[i * n + i + 1] = A[(i + 1) * n + i] = -1;
    }
    const got = Array.from(symmetricEigen(A, n).values).sort((a, b) => a - b);
    const want = Array.from({ length: n }, (_, k) => 2 - 2 * Math.cos(((k + 1) * Math.PI) / (n + 1)));
    got.forEach((v, i) => expect(Math.abs(v - want[i])).toBeLessThan(1e-14));
  });
  it('hypotDet matches √(x²+y²) without overflow or underflow', () => {
    expect(hypotDet(3, 4)).toBe(5);
    expect(hypotDet(3e200, 4e200)).toBeCloseTo(5e200, -186);
    expect(hypotDet(3e-200, 4e-200) / 5e-200).toBeCloseTo(1, 14);
    expect(hypotDet(0, 0)).toBe(0);
  });
});
