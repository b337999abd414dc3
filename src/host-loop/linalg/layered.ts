// Products with a layered factor J (LayeredFactors: dense layers as inputs A and sensitivities D,
// other layers as explicit column blocks) without forming the r × N Jacobian.
// For a dense layer with weights W (nOut × nIn) and bias, row ρ of sample s = ⌊ρ/m⌋ is
// D_ρ ⊗ [A_s, 1], so
//   (J x)_ρ   = Σ_j D_ρj (W_x A_s + b_x)_j                 per layer: b·nOut·nIn + r·nOut
//   (Jᵀ w)    = per layer Σ_s (Σ_{ρ∈s} w_ρ D_ρ) ⊗ [A_s, 1]  per layer: r·nOut + b·nOut·nIn
//   (J Jᵀ)_ρσ = Σ_l (D_ρ·D_σ)(A_s·A_s' + 1) + explicit blocks' J_ρ·J_σ
// i.e. O(b·N + r·Σ n_out) per product instead of O(r·N).
import type { CurvatureFactors, LayeredFactors } from '../types.ts';
import { ShapeError } from './errors.ts';
import { applyCore, validateCore } from './factored.ts';
import { expandLayeredJ, layerCols } from '../../driver/layered.ts';


/** Throws ShapeError unless the layers, core and scale are consistent with (n, r, b). */
export function validateLayered(f: LayeredFactors): void {
  const { n, r, b, layers, scale } = f;
  if (!Number.isInteger(n) || n < 1) throw new ShapeError(`curvature n must be a positive integer, got ${n}`);
  if (!Number.isInteger(b) || b < 1) throw new ShapeError(`layered curvature b must be a positive integer, got ${b}`);
  if (!Number.isInteger(r) || r < b || r % b !== 0) throw new ShapeError(`layered curvature r = ${r} must be a positive multiple of b = ${b}`);
  if (!Number.isFinite(scale) || scale < 0) throw new ShapeError(`curvature scale must be finite and ≥ 0, got ${scale}`);
  let cols = 0;
  layers.forEach((l, i) => {
    if (l.kind === 'explicit') {
      if (!Number.isInteger(l.cols) || l.cols < 1) throw new ShapeError(`layer ${i}: explicit block cols must be a positive integer, got ${l.cols}`);
      if (l.J.length !== r * l.cols) throw new ShapeError(`layer ${i}: explicit J has ${l.J.length} entries, expected r·cols = ${r}·${l.cols}`);
    } else {
      if (!Number.isInteger(l.nIn) || l.nIn < 1 || !Number.isInteger(l.nOut) || l.nOut < 1)
        throw new ShapeError(`layer ${i}: dense nIn and nOut must be positive integers, got ${l.nIn}, ${l.nOut}`);
      if (l.A.length !== b * l.nIn) throw new ShapeError(`layer ${i}: A has ${l.A.length} entries, expected b·nIn = ${b}·${l.nIn}`);
      if (l.D.length !== r * l.nOut) throw new ShapeError(`layer ${i}: D has ${l.D.length} entries, expected r·nOut = ${r}·${l.nOut}`);
    }
    cols += layerCols(l);
  });
  if (cols !== n) throw new ShapeError(`layers cover ${cols} columns, expected n = ${n}`);
  validateCore(f.core, r);
}

function maxOut(f: LayeredFactors): number {
  let w = 1;
  for (const l of f.layers) if (l.kind === 'dense') w = Math.max(w, l.nOut);
  return w;
}

/** Scratch for the layered products (b × max nOut), reusable across calls. */
export class LayeredScratch {
  private buf = new Float64Array(0);
  take(len: number): Float64Array {
    if (this.buf.length < len) this.buf = new Float64Array(len);
    return this.buf;
  }
}

/** out (length r) = J x. */
export function layeredJx(f: LayeredFactors, x: Float64Array, out: Float64Array, scratch = new LayeredScratch()): Float64Array {
  const { r, b } = f;
  const m = r / b;
  out.fill(0, 0, r);
  const P = scratch.take(b * maxOut(f));
  let c0 = 0;
  for (const l of f.layers) {
    if (l.kind === 'explicit') {
      const { cols, J } = l;
      for (let i = 0; i < r; i++) {
        let s = 0;
        const o = i * cols;
        for (let j = 0; j < cols; j++) s += J[o + j] * x[c0 + j];
        out[i] += s;
      }
    } else {
      const { nIn, nOut, A, D, bias } = l;
      const bOff = c0 + nOut * nIn;
      // P[s, j] = W_x[j] · A_s + b_x[j]
      for (let s = 0; s < b; s++) {
        const ao = s * nIn;
        for (let j = 0; j < nOut; j++) {
          const wo = c0 + j * nIn;
          let acc = bias ? x[bOff + j] : 0;
          for (let t = 0; t < nIn; t++) acc += x[wo + t] * A[ao + t];
          P[s * nOut + j] = acc;
        }
      }
      for (let i = 0; i < r; i++) {
        const po = ((i / m) | 0) * nOut;
        const dr = i * nOut;
        let acc = 0;
        for (let j = 0; j < nOut; j++) acc += D[dr + j] * P[po + j];
        out[i] += acc;
      }
    }
    c0 += layerCols(l);
  }
  return out;
}

/** out (length n) = Jᵀ w, or out += c·Jᵀ w with `accumulate`. */
export function layeredJtw(
  f: LayeredFactors,
  w: Float64Array,
  out: Float64Array,
  scratch = new LayeredScratch(),
  accumulate = false,
  c = 1,
): Float64Array {
  const { r, b } = f;
  const m = r / b;
  if (!accumulate) out.fill(0, 0, f.n);
  const Q = scratch.take(b * maxOut(f));
  let c0 = 0;
  for (const l of f.layers) {
    if (l.kind === 'explicit') {
      const { cols, J } = l;
      for (let i = 0; i < r; i++) {
        const a = c * w[i];
        if (a === 0) continue;
        const o = i * cols;
        for (let j = 0; j < cols; j++) out[c0 + j] += a * J[o + j];
      }
    } else {
      const { nIn, nOut, A, D, bias } = l;
      // Q[s, j] = c · Σ_{ρ ∈ s} w_ρ D_ρj
      Q.fill(0, 0, b * nOut);
      for (let i = 0; i < r; i++) {
        const a = c * w[i];
        if (a === 0) continue;
        const qo = ((i / m) | 0) * nOut;
        const dr = i * nOut;
        for (let j = 0; j < nOut; j++) Q[qo + j] += a * D[dr + j];
      }
      const bOff = c0 + nOut * nIn;
      for (let j = 0; j < nOut; j++) {
        const wo = c0 + j * nIn;
        let bj = 0;
        for (let s = 0; s < b; s++) {
          const q = Q[s * nOut + j];
          bj += q;
          if (q === 0) continue;
          const ao = s * nIn;
          for (let t = 0; t < nIn; t++) out[wo + t] += q * A[ao + t];
        }
        if (bias) out[bOff + j] += bj;
      }
    }
    c0 += layerCols(l);
  }
  return out;
}

/** r × r Gram J Jᵀ from the layer structure: O(b²·Σ nIn + r²·Σ nOut + r²·Σ explicit cols). */
export function layeredGram(f: LayeredFactors, out = new Float64Array(f.r * f.r)): Float64Array {
  const { r, b } = f;
  const m = r / b;
  out.fill(0, 0, r * r);
  let K = new Float64Array(0);
  for (const l of f.layers) {
    if (l.kind === 'explicit') {
      const { cols, J } = l;
      for (let i = 0; i < r; i++)
        for (let k = 0; k <= i; k++) {
          let s = 0;
          for (let j = 0; j < cols; j++) s += J[i * cols + j] * J[k * cols + j];
          out[i * r + k] += s;
        }
      continue;
    }
    const { nIn, nOut, A, D, bias } = l;
    if (K.length < b * b) K = new Float64Array(b * b);
    for (let s = 0; s < b; s++)
      for (let u = 0; u <= s; u++) {
        let acc = bias ? 1 : 0;
        for (let t = 0; t < nIn; t++) acc += A[s * nIn + t] * A[u * nIn + t];
        K[s * b + u] = acc;
        K[u * b + s] = acc;
      }
    for (let i = 0; i < r; i++) {
      const si = (i / m) | 0;
      for (let k = 0; k <= i; k++) {
        const kk = K[si * b + ((k / m) | 0)];
        if (kk === 0) continue;
        let dd = 0;
        for (let j = 0; j < nOut; j++) dd += D[i * nOut + j] * D[k * nOut + j];
        out[i * r + k] += dd * kk;
      }
    }
  }
  for (let i = 0; i < r; i++) for (let k = 0; k < i; k++) out[k * r + i] = out[i * r + k];
  return out;
}

/** The explicit r × N factor of a layered one (tests, and devices without the layered form). */
export function expandLayered(f: LayeredFactors, out?: Float64Array): CurvatureFactors {
  validateLayered(f);
  return { n: f.n, r: f.r, J: expandLayeredJ(f, out), core: f.core, scale: f.scale };
}

/** v ↦ (scale·Jᵀ H J + λI) v through the layers; scratch held across calls (CG allocates nothing). */
export class LayeredOperator {
  readonly n: number;
  private readonly u: Float64Array;
  private readonly w: Float64Array;
  private readonly scratch = new LayeredScratch();

  constructor(
    readonly factors: LayeredFactors,
    readonly lambda: number,
  ) {
    validateLayered(factors);
    if (!Number.isFinite(lambda) || lambda < 0) throw new ShapeError(`damping λ must be finite and ≥ 0, got ${lambda}`);
    this.n = factors.n;
    this.u = new Float64Array(factors.r);
    this.w = new Float64Array(factors.r);
  }

  /** out = A v; out must not alias v. */
  apply(v: Float64Array, out: Float64Array): void {
    const f = this.factors;
    if (v.length !== this.n || out.length !== this.n) throw new ShapeError(`operator expects vectors of length ${this.n}`);
    layeredJx(f, v, this.u, this.scratch);
    applyCore(f.core, f.r, this.u, this.w);
    const lambda = this.lambda;
    for (let j = 0; j < this.n; j++) out[j] = lambda * v[j];
    layeredJtw(f, this.w, out, this.scratch, true, f.scale);
  }
}

/** y = scale · Jᵀ H J v (no damping). */
export function layeredMatvec(f: LayeredFactors, v: Float64Array, out = new Float64Array(f.n)): Float64Array {
  new LayeredOperator(f, 0).apply(v, out);
  return out;
}
