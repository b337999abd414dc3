// The factored spectral data (EMULATOR.md §9.2): A = λI + U diag(μ) Uᵀ with U = JᵀR orthonormal,
// from one eigendecomposition, for every core kind including singular softmax blocks and a
// rank-deficient J.
import { describe, expect, it } from 'vitest';
import type { CoreSpec } from '../../src/emulator/physics/index.ts';
import { FactoredCoupling } from '../../src/emulator/physics/couplings.ts';
import { denseFactor, factorCore } from '../../src/emulator/physics/spectral.ts';
import { formFactored, randomSpd, rng, softmaxBlocks } from './helpers.ts';

function randomJ(r: number, n: number, seed: number, rank = r): Float64Array {
  const u = rng(seed);
  const base = new Float64Array(rank * n).map(() => u() - 0.5);
  const J = new Float64Array(r * n);
  // rows beyond `rank` are combinations of the first ones (rank-deficient J)
  for (let k = 0; k < r; k++)
    for (let j = 0; j < n; j++) J[k * n + j] = k < rank ? base[k * n + j] : 0.5 * base[(k % rank) * n + j] - 0.25 * base[((k + 1) % rank) * n + j];
  return J;
}

function maxAbs(v: Float64Array): number {
  let m = 0;
  for (const x of v) m = Math.max(m, Math.abs(x));
  return m;
}

const n = 24, r = 12;
const cases: { label: string; core: CoreSpec; rankJ: number; q: number }[] = [
  { label: 'identity', core: { kind: 'identity' }, rankJ: r, q: r },
  { label: 'diagonal with zeros', core: { kind: 'diagonal', d: Float64Array.from({ length: r }, (_, k) => (k % 3 === 0 ? 0 : 0.5 + k / r)) }, rankJ: r, q: 8 },
  { label: 'softmax blocks (rank dz − 1 each)', core: { kind: 'block', dz: 4, blocks: softmaxBlocks(3, 4, 7) }, rankJ: r, q: 9 },
  { label: 'dense H', core: { kind: 'dense', h: randomSpd(r, 8, 0.1) }, rankJ: r, q: r },
  { label: 'dense H, J of rank 7', core: { kind: 'dense', h: randomSpd(r, 9, 0.1) }, rankJ: 7, q: 7 },
];

describe('factored spectral data: one eigendecomposition of the q×q matrix LᵀKL', () => {
  for (const cs of cases) {
    it(`${cs.label}: q = ${cs.q}, UᵀU = I and λI + U diag(μ) Uᵀ = s·JᵀHJ + λI to 1e−12 relative`, () => {
      const J = randomJ(r, n, 11, cs.rankJ);
      const s = 0.7, lambda = 0.05;
      const op = new FactoredCoupling(n, r, J, cs.core, s, lambda);
      const sp = op.getSpectral();
      expect(sp.q).toBe(cs.q);
      // U = Jᵀ R (n×q)
      const U = new Float64Array(n * sp.q);
      for (let i = 0; i < n; i++) for (let j = 0; j < sp.q; j++) {
        let acc = 0;
        for (let k = 0; k < r; k++) acc += J[k * n + i] * sp.basis[k * sp.q + j];
        U[i * sp.q + j] = acc;
      }
      const gramErr = new Float64Array(sp.q * sp.q);
      for (let a = 0; a < sp.q; a++) for (let b = 0; b < sp.q; b++) {
        let acc = 0;
        for (let i = 0; i < n; i++) acc += U[i * sp.q + a] * U[i * sp.q + b];
        gramErr[a * sp.q + b] = acc - (a === b ? 1 : 0);
      }
      expect(maxAbs(gramErr)).toBeLessThan(1e-10);
      const A = formFactored(n, r, J, cs.core, s, lambda);
      const err = new Float64Array(n * n);
      for (let i = 0; i < n; i++) for (let j = 0; j < n; j++) {
        let acc = i === j ? lambda : 0;
        for (let m = 0; m < sp.q; m++) acc += U[i * sp.q + m] * (sp.a[m] - lambda) * U[j * sp.q + m];
        err[i * n + j] = acc - A[i * n + j];
      }
      expect(maxAbs(err) / maxAbs(A)).toBeLessThan(1e-12);
      for (const a of sp.a) expect(a).toBeGreaterThan(lambda * (1 - 1e-12));
    });
  }

  it('the core factor reproduces s·H block by block (pivoted Cholesky; singular blocks lose one column each)', () => {
    const blocks = softmaxBlocks(3, 4, 3);
    const f = factorCore({ kind: 'block', dz: 4, blocks }, 12, 2);
    expect(f.p).toBe(9);
    const L = denseFactor(f, 12);
    for (let b = 0; b < 3; b++)
      for (let k = 0; k < 4; k++)
        for (let l = 0; l < 4; l++) {
          let acc = 0;
          for (let c = 0; c < f.p; c++) acc += L[(4 * b + k) * f.p + c] * L[(4 * b + l) * f.p + c];
          expect(Math.abs(acc - 2 * blocks[16 * b + 4 * k + l])).toBeLessThan(1e-14);
        }
  });

  it('s = 0 leaves no explicit modes (A = λI)', () => {
    const op = new FactoredCoupling(n, r, randomJ(r, n, 5), { kind: 'identity' }, 0, 0.3);
    expect(op.getSpectral().q).toBe(0);
  });
});
