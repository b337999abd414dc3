import { describe, expect, it } from 'vitest';
import fc from 'fast-check';
import {
  CgWorkspace,
  FactoredOperator,
  NotPositiveDefiniteError,
  NotPsdError,
  ShapeError,
  WoodburySolver,
  choleskyInPlace,
  choleskySolve,
  conjugateGradient,
  decodeF64,
  encodeF64,
  formDenseCurvature,
  pivotedCholesky,
} from '../../../src/host-loop/linalg/index.ts';
import type { CurvatureFactors } from '../../../src/host-loop/types.ts';
import { Rng, ceBlock, randomFactors, relErr } from './problems.ts';
import type { CoreKind } from './problems.ts';

const kinds: CoreKind[] = ['identity', 'diagonal', 'block', 'dense'];
// (n, b, dz): rank below N, and rank above N (r = b·dz for block/dense cores)
const shapes: [number, number, number][] = [
  [40, 5, 4],
  [14, 6, 5],
];
const lambdas = [1e-2, 1];

function exactSolve(f: CurvatureFactors, lambda: number, g: Float64Array): Float64Array {
  const a = formDenseCurvature(f, lambda);
  choleskyInPlace(a, f.n);
  const x = new Float64Array(f.n);
  choleskySolve(a, f.n, g, x);
  return x;
}

function denseMatVec(a: Float64Array, n: number, v: Float64Array): Float64Array {
  const out = new Float64Array(n);
  for (let i = 0; i < n; i++) for (let j = 0; j < n; j++) out[i] += a[i * n + j] * v[j];
  return out;
}

describe('factored operator', () => {
  it.each(kinds)('apply matches the dense matrix for a %s core to 1e-12 relative', (kind) => {
    for (const [n, b, dz] of shapes) {
      const f = randomFactors(kind, 11, n, b, dz);
      const v = new Rng(3).vec(n);
      const op = new FactoredOperator(f, 0.3);
      const out = new Float64Array(n);
      op.apply(v, out);
      expect(relErr(out, denseMatVec(formDenseCurvature(f, 0.3), n, v))).toBeLessThan(1e-12);
    }
  });

  it('rejects inconsistent shapes with a ShapeError', () => {
    const f = randomFactors('block', 1, 10, 2, 3);
    expect(() => new FactoredOperator({ ...f, J: new Float64Array(5) }, 1)).toThrow(ShapeError);
    expect(() => new FactoredOperator({ ...f, core: { kind: 'block', dz: 4, blocks: new Float64Array(24) } }, 1)).toThrow(/dz = 4/);
  });
});

describe('Cholesky', () => {
  it('solves an SPD system to 1e-12 and names the failing pivot of an indefinite one', () => {
    const rng = new Rng(5);
    const n = 25;
    const g = rng.vec(n * n);
    const a = new Float64Array(n * n);
    for (let i = 0; i < n; i++) for (let j = 0; j < n; j++) for (let k = 0; k < n; k++) a[i * n + j] += g[i * n + k] * g[j * n + k];
    for (let i = 0; i < n; i++) a[i * n + i] += 0.5;
    const x = rng.vec(n);
    const b = denseMatVec(a, n, x);
    const l = a.slice();
    choleskyInPlace(l, n);
    const sol = new Float64Array(n);
    choleskySolve(l, n, b, sol);
    expect(relErr(sol, x)).toBeLessThan(1e-10);

    const bad = new Float64Array([2, 3, 3, 1]); // eigenvalues 1.5 ± √9.25, one negative
    expect(() => choleskyInPlace(bad, 2)).toThrow(NotPositiveDefiniteError);
    expect(() => choleskyInPlace(new Float64Array([2, 3, 3, 1]), 2)).toThrow(/pivot 1 is -3.5/);
  });
});

describe('pivoted Cholesky of singular PSD cores', () => {
  it('factors a CE block diag(p) − ppᵀ at rank dz − 1 and reconstructs it to 1e-14', () => {
    const rng = new Rng(9);
    for (const dz of [2, 5, 10]) {
      const blk = ceBlock(rng, dz);
      const { rank, cols } = pivotedCholesky(blk, dz);
      expect(rank).toBe(dz - 1);
      let err = 0;
      for (let i = 0; i < dz; i++)
        for (let j = 0; j < dz; j++) {
          let s = 0;
          for (let c = 0; c < rank; c++) s += cols[c * dz + i] * cols[c * dz + j];
          err = Math.max(err, Math.abs(s - blk[i * dz + j]));
        }
      expect(err).toBeLessThan(1e-14);
    }
  });

  it('rejects indefinite cores, including a zero-diagonal one', () => {
    expect(() => pivotedCholesky(new Float64Array([1, 2, 2, 1]), 2)).toThrow(NotPsdError);
    expect(() => pivotedCholesky(new Float64Array([0, 1, 1, 0]), 2)).toThrow(/not positive semi-definite/);
  });
});

describe('NGD solvers agree with exact damped NGD (dense Cholesky)', () => {
  for (const kind of kinds)
    it(`Woodbury and CG match to 1e-8 relative for a ${kind} core`, () => {
      let seed = 100;
      for (const [n, b, dz] of shapes)
        for (const lambda of lambdas) {
          const f = randomFactors(kind, seed++, n, b, dz);
          const g = new Rng(seed++).vec(n);
          const ref = exactSolve(f, lambda, g);

          const wb = new WoodburySolver();
          wb.factor(f, lambda);
          const xw = new Float64Array(n);
          wb.solve(g, xw);
          expect(relErr(xw, ref)).toBeLessThan(1e-8);
          if (kind === 'block') expect(wb.rank).toBe(b * (dz - 1)); // CE null directions dropped

          const op = new FactoredOperator(f, lambda);
          const xc = new Float64Array(n);
          const res = conjugateGradient((v, o) => op.apply(v, o), g, xc, { tol: 1e-13, maxIter: 20 * n });
          expect(res.converged).toBe(true);
          expect(relErr(xc, ref)).toBeLessThan(1e-8);
        }
    });

  it('Woodbury rejects a core with a negative eigenvalue instead of returning garbage', () => {
    const f = randomFactors('block', 7, 10, 2, 3);
    if (f.core.kind !== 'block') throw new Error('unreachable');
    const blocks = f.core.blocks.slice();
    blocks[0] = -0.5;
    const wb = new WoodburySolver();
    expect(() => wb.factor({ ...f, core: { kind: 'block', dz: 3, blocks } }, 0.1)).toThrow(NotPsdError);
    expect(() => wb.factor(f, 0)).toThrow(/λ > 0/);
  });
});

describe('conjugate gradient', () => {
  it('stops at maxIter and reports non-convergence; warm start from the solution needs no iteration', () => {
    const f = randomFactors('block', 21, 60, 8, 5);
    const op = new FactoredOperator(f, 1e-3);
    const g = new Rng(22).vec(60);
    const ws = new CgWorkspace(60);
    const x = new Float64Array(60);
    const r1 = conjugateGradient((v, o) => op.apply(v, o), g, x, { tol: 1e-12, maxIter: 3 }, ws);
    expect(r1.iterations).toBe(3);
    expect(r1.matvecs).toBe(3);
    expect(r1.converged).toBe(false);
    expect(r1.relResidual).toBeGreaterThan(1e-12);
    x.fill(0);
    const r2 = conjugateGradient((v, o) => op.apply(v, o), g, x, { tol: 1e-10, maxIter: 1000 }, ws);
    expect(r2.converged).toBe(true);
    const r3 = conjugateGradient((v, o) => op.apply(v, o), g, x, { tol: 1e-6, maxIter: 1000 }, ws);
    expect(r3.iterations).toBe(0);
    expect(r3.matvecs).toBe(1);
  });
});

describe('f64 codec', () => {
  it('round-trips every double bit-exactly, including −0 and NaN', () => {
    fc.assert(
      fc.property(fc.array(fc.double(), { maxLength: 50 }), (xs) => {
        const v = Float64Array.from(xs);
        const back = decodeF64(encodeF64(v), v.length);
        expect(Buffer.from(back.buffer).equals(Buffer.from(v.buffer))).toBe(true);
      }),
      { seed: 42, numRuns: 200 },
    );
    expect(() => decodeF64('AAAA')).toThrow(/multiple of 8/);
    expect(() => decodeF64('!!!!')).toThrow(/base64/);
    expect(() => decodeF64(encodeF64(new Float64Array(3)), 4)).toThrow(/expected 4/);
  });
});
