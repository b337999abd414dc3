// Shared helpers for the model tests: seeded random batches and finite differences.
import { Rng } from '../../../src/host-loop/data/rng.ts';
import type { Model } from '../../../src/host-loop/models/model.ts';

export function randomBatch(model: Model, b: number, seed: number): { X: Float64Array; y: Int32Array; T: Float64Array } {
  const rng = new Rng(seed, 7);
  const X = new Float64Array(b * model.inputDim);
  for (let i = 0; i < X.length; i++) X[i] = rng.normal();
  const y = new Int32Array(b);
  for (let i = 0; i < b; i++) y[i] = rng.int(model.outputDim);
  const T = new Float64Array(b * model.outputDim);
  for (let i = 0; i < T.length; i++) T[i] = rng.normal();
  return { X, y, T };
}

/** Parameters with non-zero biases, so bias paths are exercised. */
export function randomParams(model: Model, seed: number): Float64Array {
  const p = model.init(seed);
  const rng = new Rng(seed, 99);
  for (let i = 0; i < p.length; i++) p[i] += 0.1 * rng.normal();
  return p;
}

/** Central difference of f along each coordinate: returns (len(f) × N) row-major. */
export function fdJacobian(f: (p: Float64Array) => Float64Array, p: Float64Array, h = 1e-5): Float64Array {
  const n = p.length;
  const m = f(p).length;
  const J = new Float64Array(m * n);
  const q = p.slice();
  for (let j = 0; j < n; j++) {
    q[j] = p[j] + h;
    const fp = f(q);
    q[j] = p[j] - h;
    const fm = f(q);
    q[j] = p[j];
    for (let i = 0; i < m; i++) J[i * n + j] = (fp[i] - fm[i]) / (2 * h);
  }
  return J;
}

/** max |a − b| / max(max |b|, floor) */
export function relErr(a: ArrayLike<number>, b: ArrayLike<number>, floor = 1e-12): number {
  if (a.length !== b.length) throw new Error(`length ${a.length} ≠ ${b.length}`);
  let e = 0;
  let s = floor;
  for (let i = 0; i < a.length; i++) {
    e = Math.max(e, Math.abs(a[i] - b[i]));
    s = Math.max(s, Math.abs(b[i]));
  }
  return e / s;
}
