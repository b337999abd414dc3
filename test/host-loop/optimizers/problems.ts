// Hand-built test problems: seeded RNG, random factored curvatures of every core kind, and a
// softmax-regression BatchOracle with explicit J (per-sample logit Jacobians) and H blocks.
import type { BatchOracle, CoreMatrix, CurvatureFactors, CurvatureKind } from '../../../src/host-loop/types.ts';

/** mulberry32 uniforms and Box–Muller normals; deterministic per seed. */
export class Rng {
  private s: number;
  constructor(seed: number) {
    this.s = seed >>> 0;
  }
  uniform(): number {
    this.s = (this.s + 0x6d2b79f5) >>> 0;
    let t = this.s;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  }
  normal(): number {
    const u = 1 - this.uniform();
    return Math.sqrt(-2 * Math.log(u)) * Math.cos(2 * Math.PI * this.uniform());
  }
  vec(n: number, sd = 1): Float64Array {
    const v = new Float64Array(n);
    for (let i = 0; i < n; i++) v[i] = sd * this.normal();
    return v;
  }
}

function softmaxInto(z: Float64Array, off: number, k: number, out: Float64Array, outOff: number): void {
  let mx = -Infinity;
  for (let j = 0; j < k; j++) mx = Math.max(mx, z[off + j]);
  let s = 0;
  for (let j = 0; j < k; j++) {
    const e = Math.exp(z[off + j] - mx);
    out[outOff + j] = e;
    s += e;
  }
  for (let j = 0; j < k; j++) out[outOff + j] /= s;
}

/** A softmax cross-entropy Hessian block diag(p) − p pᵀ (singular PSD, rank dz − 1). */
export function ceBlock(rng: Rng, dz: number, logitSd = 2): Float64Array {
  const p = new Float64Array(dz);
  softmaxInto(rng.vec(dz, logitSd), 0, dz, p, 0);
  const b = new Float64Array(dz * dz);
  for (let i = 0; i < dz; i++) for (let j = 0; j < dz; j++) b[i * dz + j] = (i === j ? p[i] : 0) - p[i] * p[j];
  return b;
}

export type CoreKind = CoreMatrix['kind'];

/**
 * Random factors of the given core kind. diagonal: non-negative with some exact zeros;
 * block: CE blocks; dense: CE blocks embedded densely plus a rank-2 PSD coupling (singular).
 */
export function randomFactors(kind: CoreKind, seed: number, n: number, b: number, dz: number): CurvatureFactors {
  const rng = new Rng(seed);
  const r = kind === 'identity' || kind === 'diagonal' ? b : b * dz;
  const J = rng.vec(r * n);
  let core: CoreMatrix;
  if (kind === 'identity') core = { kind: 'identity' };
  else if (kind === 'diagonal') {
    const d = new Float64Array(r);
    for (let i = 0; i < r; i++) d[i] = i % 3 === 0 ? 0 : rng.uniform() * 0.25;
    core = { kind: 'diagonal', d };
  } else {
    const blocks = new Float64Array(r * dz);
    for (let k = 0; k < b; k++) blocks.set(ceBlock(rng, dz), k * dz * dz);
    if (kind === 'block') core = { kind: 'block', dz, blocks };
    else {
      const h = new Float64Array(r * r);
      for (let k = 0; k < b; k++)
        for (let i = 0; i < dz; i++)
          for (let j = 0; j < dz; j++) h[(k * dz + i) * r + k * dz + j] = blocks[k * dz * dz + i * dz + j];
      for (let c = 0; c < 2; c++) {
        const g = rng.vec(r, 0.3);
        for (let i = 0; i < r; i++) for (let j = 0; j < r; j++) h[i * r + j] += g[i] * g[j];
      }
      core = { kind: 'dense', h };
    }
  }
  return { n, r, J, core, scale: 1 / b };
}

/** Softmax regression with a bias: params W (k × (d+1)) row-major, features x augmented by 1. */
export class SoftmaxProblem {
  readonly n: number;
  readonly x: Float64Array; // m × (d+1)
  readonly y: Int32Array;

  constructor(
    seed: number,
    readonly m: number,
    readonly d: number,
    readonly k: number,
  ) {
    const rng = new Rng(seed);
    const d1 = d + 1;
    this.n = k * d1;
    this.x = new Float64Array(m * d1);
    this.y = new Int32Array(m);
    const wTrue = rng.vec(k * d1, 1.5);
    const z = new Float64Array(k);
    const p = new Float64Array(k);
    for (let i = 0; i < m; i++) {
      for (let j = 0; j < d; j++) this.x[i * d1 + j] = rng.normal();
      this.x[i * d1 + d] = 1;
      for (let c = 0; c < k; c++) {
        let s = 0;
        for (let j = 0; j < d1; j++) s += wTrue[c * d1 + j] * this.x[i * d1 + j];
        z[c] = s;
      }
      softmaxInto(z, 0, k, p, 0);
      let u = rng.uniform();
      let c = 0;
      while (c < k - 1 && u > p[c]) u -= p[c++];
      this.y[i] = c;
    }
  }

  private probs(params: Float64Array, idx: ArrayLike<number>): Float64Array {
    const { k, d } = this;
    const d1 = d + 1;
    const z = new Float64Array(idx.length * k);
    for (let s = 0; s < idx.length; s++) {
      const i = idx[s];
      for (let c = 0; c < k; c++) {
        let acc = 0;
        for (let j = 0; j < d1; j++) acc += params[c * d1 + j] * this.x[i * d1 + j];
        z[s * k + c] = acc;
      }
    }
    const p = new Float64Array(idx.length * k);
    for (let s = 0; s < idx.length; s++) softmaxInto(z, s * k, k, p, s * k);
    return p;
  }

  all(): Int32Array {
    return Int32Array.from({ length: this.m }, (_, i) => i);
  }

  loss(params: Float64Array, idx: ArrayLike<number> = this.all()): number {
    const p = this.probs(params, idx);
    let l = 0;
    for (let s = 0; s < idx.length; s++) l -= Math.log(p[s * this.k + this.y[idx[s]]]);
    return l / idx.length;
  }

  oracle(params: Float64Array, idx: ArrayLike<number> = this.all()): BatchOracle {
    const { k, d, n } = this;
    const d1 = d + 1;
    const b = idx.length;
    const p = this.probs(params, idx);
    const perSample = new Float64Array(b * n); // per-sample gradients (p − e_y) ⊗ x
    const grad = new Float64Array(n);
    for (let s = 0; s < b; s++) {
      const i = idx[s];
      for (let c = 0; c < k; c++) {
        const e = p[s * k + c] - (c === this.y[i] ? 1 : 0);
        for (let j = 0; j < d1; j++) {
          const v = e * this.x[i * d1 + j];
          perSample[s * n + c * d1 + j] = v;
          grad[c * d1 + j] += v / b;
        }
      }
    }
    const cache = new Map<CurvatureKind, CurvatureFactors>();
    const x = this.x;
    return {
      loss: this.loss(params, idx),
      grad,
      batchSize: b,
      curvature(kind: CurvatureKind): CurvatureFactors {
        let f = cache.get(kind);
        if (f) return f;
        if (kind === 'ef') f = { n, r: b, J: perSample, core: { kind: 'identity' }, scale: 1 / b };
        else {
          const r = b * k;
          const J = new Float64Array(r * n);
          const blocks = new Float64Array(r * k);
          for (let s = 0; s < b; s++) {
            const i = idx[s];
            for (let c = 0; c < k; c++) {
              for (let j = 0; j < d1; j++) J[(s * k + c) * n + c * d1 + j] = x[i * d1 + j];
              for (let c2 = 0; c2 < k; c2++)
                blocks[s * k * k + c * k + c2] = (c === c2 ? p[s * k + c] : 0) - p[s * k + c] * p[s * k + c2];
            }
          }
          f = { n, r, J, core: { kind: 'block', dz: k, blocks }, scale: 1 / b };
        }
        cache.set(kind, f);
        return f;
      },
    };
  }
}

export function relErr(a: Float64Array, ref: Float64Array): number {
  let num = 0;
  let den = 0;
  for (let i = 0; i < a.length; i++) {
    num += (a[i] - ref[i]) ** 2;
    den += ref[i] ** 2;
  }
  return Math.sqrt(num / den);
}
