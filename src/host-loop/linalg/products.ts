// v ↦ (scale·Jᵀ H J + λI) v from JVP/VJP products (CurvatureProducts): one tangent pass, the
// per-sample core, one reverse pass — about two forward/backward passes per product and only
// O(b·dz + N) memory, never an r × N Jacobian or r × cols block.
import type { CurvatureProducts } from '../types.ts';
import { ShapeError } from './errors.ts';
import { applyCore, validateCore } from './factored.ts';

export class ProductOperator {
  readonly n: number;
  private readonly u: Float64Array;
  private readonly w: Float64Array;

  constructor(
    readonly products: CurvatureProducts,
    readonly lambda: number,
  ) {
    const { n, b, dz, scale } = products;
    if (!Number.isInteger(n) || n < 1 || !Number.isInteger(b) || b < 1 || !Number.isInteger(dz) || dz < 1)
      throw new ShapeError(`curvature products need positive integers n, b, dz, got ${n}, ${b}, ${dz}`);
    if (!Number.isFinite(scale) || scale < 0) throw new ShapeError(`curvature scale must be finite and ≥ 0, got ${scale}`);
    if (!Number.isFinite(lambda) || lambda < 0) throw new ShapeError(`damping λ must be finite and ≥ 0, got ${lambda}`);
    validateCore(products.core, b * dz);
    this.n = n;
    this.u = new Float64Array(b * dz);
    this.w = new Float64Array(b * dz);
  }

  /** out = A v; out must not alias v. */
  apply(v: Float64Array, out: Float64Array): void {
    const p = this.products;
    if (v.length !== this.n || out.length !== this.n) throw new ShapeError(`operator expects vectors of length ${this.n}`);
    p.jvp(v, this.u);
    applyCore(p.core, p.b * p.dz, this.u, this.w);
    p.vjp(this.w, out);
    const scale = p.scale;
    const lambda = this.lambda;
    for (let j = 0; j < this.n; j++) out[j] = scale * out[j] + lambda * v[j];
  }
}

/** y = scale · Jᵀ H J v (no damping). */
export function productMatvec(p: CurvatureProducts, v: Float64Array, out = new Float64Array(p.n)): Float64Array {
  new ProductOperator(p, 0).apply(v, out);
  return out;
}
