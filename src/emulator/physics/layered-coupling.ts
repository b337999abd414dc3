// Layered A = s·JᵀHJ + λI with J given per layer (EMULATOR.md §7.1): explicit blocks of columns,
// or a dense layer's factors (sample inputs A_l, b×nIn, and row sensitivities D_l, r×nOut) whose
// block is J[ρ, j·nIn + t] = D_l[ρ, j]·A_l[s(ρ), t] (+ bias columns D_l[ρ, j]). J is never formed:
// J·x, Jᵀ·w and the Gram JJᵀ are per-layer products in O(b·N + r·Σ nOut) (Gram O(r²·Σ nOut)),
// in the fixed summation orders below. Same interface as FactoredCoupling; the exact integrator
// reuses the factored spectral set-up from the r×r Gram.
import { applyCoreSpec, type CoreSpec, type EulerStepParams } from './couplings.ts';
import { DOMAIN, fillGaussians } from './philox.ts';
import * as scalar from './kernels/scalar.ts';
import { instantiate, type WasmKernels } from './kernels/wasm.ts';
import type { SegmentPlan } from './ou.ts';
import { factoredSpectral, type Spectral } from './spectral.ts';
import { complementState, factoredModes, type FactoredScratch, type NoiseAddress } from './exact.ts';

/** One layer's block of J's columns, as the physics core holds it. */
export type LayerFactors =
  /** J block r×cols, row-major */
  | { kind: 'explicit'; cols: number; J: Float64Array }
  /** A b×nIn, D r×nOut, row-major */
  | { kind: 'dense'; nIn: number; nOut: number; bias: boolean; A: Float64Array; D: Float64Array };

export interface LayeredCurvature {
  n: number;
  r: number;
  /** samples: r = b·m, row ρ belongs to sample ⌊ρ/m⌋ */
  b: number;
  /** column blocks in order, covering 0..n−1 */
  layers: LayerFactors[];
  core: CoreSpec;
  /** s in A = s·JᵀHJ + λI, ≥ 0 */
  scale: number;
  /** λ > 0 */
  lambda: number;
}

/** Columns of J a block covers. */
export function layerColumns(l: LayerFactors): number {
  return l.kind === 'explicit' ? l.cols : l.nOut * l.nIn + (l.bias ? l.nOut : 0);
}

export class LayeredCoupling {
  readonly kind = 'layered';
  /** rows per sample */
  readonly m: number;
  /** first column of each layer */
  readonly starts: Int32Array;
  private spectral: Spectral | null = null;
  /** b×max nOut scratch (per-sample projections P, Q) */
  private readonly pq: Float64Array;
  private readonly y: Float64Array;
  private readonly w: Float64Array;
  /** n-length scratch of the exact integrator (x₀ copy, Jᵀρ) */
  readonly xs: Float64Array;
  readonly acc: Float64Array;
  /** kernel memory for the n-cell Gaussians and the Euler update (made on first use) */
  private deck: Deck | null = null;
  private readonly scalarKernels: boolean;

  constructor(
    readonly n: number,
    readonly r: number,
    readonly b: number,
    /** validated by the caller (uploads.ts); kept, not copied */
    readonly layers: readonly LayerFactors[],
    readonly core: CoreSpec,
    readonly scale: number,
    readonly lambda: number,
    opts: { scalarKernels?: boolean } = {},
  ) {
    this.scalarKernels = opts.scalarKernels === true;
    this.m = r / b;
    this.starts = new Int32Array(layers.length);
    let c0 = 0;
    let maxOut = 1;
    layers.forEach((l, i) => {
      this.starts[i] = c0;
      c0 += layerColumns(l);
      if (l.kind === 'dense' && l.nOut > maxOut) maxOut = l.nOut;
    });
    this.pq = new Float64Array(b * maxOut);
    this.y = new Float64Array(r);
    this.w = new Float64Array(r);
    this.xs = new Float64Array(n);
    this.acc = new Float64Array(n);
  }

  /**
   * y_ρ = Σ_l ascending (J_l x_l)_ρ from +0. Explicit: Σ_k ascending J_l[ρ,k]·x[c0+k] from +0.
   * Dense: P[s,j] = (Σ_t ascending A[s,t]·x[c0+j·nIn+t] from +0) (+ x[c0+nOut·nIn+j] with bias),
   * then Σ_j ascending D[ρ,j]·P[s(ρ),j] from +0.
   */
  applyJ(x: Float64Array, y: Float64Array): void {
    const { r, m, pq: P } = this;
    y.fill(0, 0, r);
    this.layers.forEach((l, li) => {
      const c0 = this.starts[li];
      if (l.kind === 'explicit') {
        const { cols, J } = l;
        for (let row = 0; row < r; row++) {
          let acc = 0;
          const o = row * cols;
          for (let k = 0; k < cols; k++) acc = acc + J[o + k] * x[c0 + k];
          y[row] = y[row] + acc;
        }
        return;
      }
      const { nIn, nOut, bias, A, D } = l;
      const biasAt = c0 + nOut * nIn;
      for (let s = 0; s < this.b; s++) {
        const a0 = s * nIn;
        let j = 0;
        // four outputs per sweep over the sample's inputs (each sum still in ascending t)
        for (; j + 4 <= nOut; j += 4) {
          const x0 = c0 + j * nIn, x1 = x0 + nIn, x2 = x1 + nIn, x3 = x2 + nIn;
          let p0 = 0, p1 = 0, p2 = 0, p3 = 0;
          for (let t = 0; t < nIn; t++) {
            const a = A[a0 + t];
            p0 = p0 + a * x[x0 + t];
            p1 = p1 + a * x[x1 + t];
            p2 = p2 + a * x[x2 + t];
            p3 = p3 + a * x[x3 + t];
          }
          if (bias) {
            p0 = p0 + x[biasAt + j];
            p1 = p1 + x[biasAt + j + 1];
            p2 = p2 + x[biasAt + j + 2];
            p3 = p3 + x[biasAt + j + 3];
          }
          const o = s * nOut + j;
          P[o] = p0;
          P[o + 1] = p1;
          P[o + 2] = p2;
          P[o + 3] = p3;
        }
        for (; j < nOut; j++) {
          let acc = 0;
          const x0 = c0 + j * nIn;
          for (let t = 0; t < nIn; t++) acc = acc + A[a0 + t] * x[x0 + t];
          if (bias) acc = acc + x[biasAt + j];
          P[s * nOut + j] = acc;
        }
      }
      for (let row = 0; row < r; row++) {
        const p0 = Math.floor(row / m) * nOut;
        const d0 = row * nOut;
        let acc = 0;
        for (let j = 0; j < nOut; j++) acc = acc + D[d0 + j] * P[p0 + j];
        y[row] = y[row] + acc;
      }
    });
  }

  /**
   * out = Jᵀw; every column belongs to one layer. Explicit: Σ_ρ ascending J_l[ρ,k]·w_ρ from +0.
   * Dense: Q[s,j] = Σ_{ρ of sample s} ascending D[ρ,j]·w_ρ from +0, then
   * out[c0+j·nIn+t] = Σ_s ascending Q[s,j]·A[s,t] from +0 and bias out[c0+nOut·nIn+j] = Σ_s ascending Q[s,j].
   */
  applyJT(w: Float64Array, out: Float64Array): void {
    const { r, m, b, pq: Q } = this;
    out.fill(0, 0, this.n);
    this.layers.forEach((l, li) => {
      const c0 = this.starts[li];
      if (l.kind === 'explicit') {
        const { cols, J } = l;
        for (let row = 0; row < r; row++) {
          const wr = w[row];
          const o = row * cols;
          for (let k = 0; k < cols; k++) out[c0 + k] = out[c0 + k] + J[o + k] * wr;
        }
        return;
      }
      const { nIn, nOut, bias, A, D } = l;
      for (let s = 0; s < b; s++)
        for (let j = 0; j < nOut; j++) {
          let acc = 0;
          for (let i = s * m; i < s * m + m; i++) acc = acc + D[i * nOut + j] * w[i];
          Q[s * nOut + j] = acc;
        }
      const biasAt = c0 + nOut * nIn;
      let s = 0;
      // four samples per sweep over an output's inputs (each sum still in ascending s)
      for (; s + 4 <= b; s += 4) {
        const a0 = s * nIn, a1 = a0 + nIn, a2 = a1 + nIn, a3 = a2 + nIn;
        for (let j = 0; j < nOut; j++) {
          const q0 = Q[s * nOut + j], q1 = Q[(s + 1) * nOut + j], q2 = Q[(s + 2) * nOut + j], q3 = Q[(s + 3) * nOut + j];
          const o = c0 + j * nIn;
          for (let t = 0; t < nIn; t++) out[o + t] = (((out[o + t] + q0 * A[a0 + t]) + q1 * A[a1 + t]) + q2 * A[a2 + t]) + q3 * A[a3 + t];
          if (bias) out[biasAt + j] = (((out[biasAt + j] + q0) + q1) + q2) + q3;
        }
      }
      for (; s < b; s++) {
        const a0 = s * nIn;
        for (let j = 0; j < nOut; j++) {
          const q = Q[s * nOut + j];
          const o = c0 + j * nIn;
          for (let t = 0; t < nIn; t++) out[o + t] = out[o + t] + q * A[a0 + t];
          if (bias) out[biasAt + j] = out[biasAt + j] + q;
        }
      }
    });
  }

  /** w = s·(H y), per the core kind (EMULATOR.md §7). */
  applyCore(y: Float64Array, w: Float64Array): void {
    applyCoreSpec(this.core, this.r, this.scale, y, w);
  }

  /** out = A x = Jᵀ(s·H·Jx) + λx (out_i = (Jᵀw)_i + λ·x_i). */
  apply(x: Float64Array, out: Float64Array): void {
    this.applyJ(x, this.y);
    this.applyCore(this.y, this.w);
    this.applyJT(this.w, out);
    const lam = this.lambda;
    for (let i = 0; i < this.n; i++) out[i] = out[i] + lam * x[i];
  }

  /**
   * K = JJᵀ (r×r): K_ρσ = Σ_l ascending K^l_ρσ from +0 for ρ ≤ σ, mirrored. Explicit:
   * Σ_k ascending J_l[ρ,k]·J_l[σ,k]; dense: (Σ_j ascending D[ρ,j]·D[σ,j]) · G[s(ρ), s(σ)] with
   * G[s,s'] = (Σ_t ascending A[s,t]·A[s',t]) (+ 1 with bias).
   */
  gram(): Float64Array {
    const { r, m, b } = this;
    const K = new Float64Array(r * r);
    const G = new Float64Array(b * b);
    for (const l of this.layers) {
      if (l.kind === 'explicit') {
        const { cols, J } = l;
        for (let p = 0; p < r; p++)
          for (let q = p; q < r; q++) {
            let acc = 0;
            for (let k = 0; k < cols; k++) acc = acc + J[p * cols + k] * J[q * cols + k];
            K[p * r + q] = K[p * r + q] + acc;
          }
        continue;
      }
      const { nIn, nOut, bias, A, D } = l;
      for (let s = 0; s < b; s++)
        for (let s2 = s; s2 < b; s2++) {
          let acc = 0;
          for (let t = 0; t < nIn; t++) acc = acc + A[s * nIn + t] * A[s2 * nIn + t];
          if (bias) acc = acc + 1;
          G[s * b + s2] = acc;
          G[s2 * b + s] = acc;
        }
      for (let p = 0; p < r; p++) {
        const gp = Math.floor(p / m) * b;
        for (let q = p; q < r; q++) {
          let acc = 0;
          for (let j = 0; j < nOut; j++) acc = acc + D[p * nOut + j] * D[q * nOut + j];
          K[p * r + q] = K[p * r + q] + acc * G[gp + Math.floor(q / m)];
        }
      }
    }
    for (let p = 0; p < r; p++) for (let q = p + 1; q < r; q++) K[q * r + p] = K[p * r + q];
    return K;
  }

  /** K's diagonal in the Gram's order (Σ_k J_ρk² per row), for the Euler stability bound. */
  rowSquares(): Float64Array {
    const { r, m } = this;
    const out = new Float64Array(r);
    for (const l of this.layers) {
      if (l.kind === 'explicit') {
        const { cols, J } = l;
        for (let p = 0; p < r; p++) {
          let acc = 0;
          for (let k = 0; k < cols; k++) acc = acc + J[p * cols + k] * J[p * cols + k];
          out[p] = out[p] + acc;
        }
        continue;
      }
      const { nIn, nOut, bias, A, D } = l;
      for (let p = 0; p < r; p++) {
        const a0 = Math.floor(p / m) * nIn;
        let g = 0;
        for (let t = 0; t < nIn; t++) g = g + A[a0 + t] * A[a0 + t];
        if (bias) g = g + 1;
        let acc = 0;
        for (let j = 0; j < nOut; j++) acc = acc + D[p * nOut + j] * D[p * nOut + j];
        out[p] = out[p] + acc * g;
      }
    }
    return out;
  }

  /** The kernel deck (x, A·x, g and two noise vectors of n cells), made on first use. */
  kernelDeck(): Deck {
    if (!this.deck) this.deck = new Deck(this.n, this.scalarKernels);
    return this.deck;
  }

  /**
   * One Euler step (EMULATOR.md §9.1): the layered drift A·x, then the noise G(s, run, 1) and the
   * update in the kernels (WASM f64x2 or the scalar reference, same bits) as for factored A.
   * Returns the clamp count, or −1 when a cell left ±1e150.
   */
  eulerStep(x: Float64Array, g: Float64Array, p: EulerStepParams, s: number): number {
    const d = this.kernelDeck();
    const n = this.n;
    this.apply(x, d.vax);
    d.vx.set(x.subarray(0, n));
    d.holdG(g);
    if (p.sigma !== 0) d.gauss(d.Z, p.k0, p.k1, s, p.run, DOMAIN.euler);
    const sats = d.euler(p.dt, p.sigma, p.saturate, p.fullScale);
    x.set(d.vx);
    return sats;
  }

  /** Spectral data for the exact integrator (EMULATOR.md §9.2), from the Gram as for factored A. */
  getSpectral(): Spectral {
    if (!this.spectral) this.spectral = factoredSpectral(this.gram(), this.r, this.core, this.scale, this.lambda);
    return this.spectral;
  }
}

const even = (k: number) => k + (k & 1);

/**
 * n-cell vectors in kernel memory: x, A·x, g, z (Euler noise, or the exact run's w1) and z2 (w2).
 * The Gaussians come from the kernels' generator (bit-identical to fillGaussians, EMULATOR.md §4).
 */
export class Deck {
  readonly X = 0;
  readonly AX: number;
  readonly G: number;
  readonly Z: number;
  readonly Z2: number;
  readonly m: Float64Array;
  private readonly k: WasmKernels | null;
  readonly vx: Float64Array;
  readonly vax: Float64Array;
  readonly vz: Float64Array;
  readonly vz2: Float64Array;
  private gHeld: Float64Array | null = null;

  constructor(readonly n: number, forceScalar: boolean) {
    const e = even(n);
    this.AX = e;
    this.G = 2 * e;
    this.Z = 3 * e;
    this.Z2 = 4 * e;
    const doubles = 5 * e + 2;
    let mem: { memory: ArrayBuffer; kernels: WasmKernels | null };
    try {
      mem = forceScalar ? { memory: new ArrayBuffer(8 * doubles), kernels: null } : instantiate(8 * doubles);
    } catch {
      mem = { memory: new ArrayBuffer(8 * doubles), kernels: null };
    }
    this.m = new Float64Array(mem.memory, 0, doubles);
    this.k = mem.kernels;
    this.vx = this.m.subarray(this.X, this.X + n);
    this.vax = this.m.subarray(this.AX, this.AX + n);
    this.vz = this.m.subarray(this.Z, this.Z + n);
    this.vz2 = this.m.subarray(this.Z2, this.Z2 + n);
  }

  /** Loads g unless it is already there (loaded systems' arrays are immutable). */
  holdG(g: Float64Array): void {
    if (this.gHeld === g) return;
    this.m.set(g.subarray(0, this.n), this.G);
    this.gHeld = g;
  }

  /** Gaussians 0 … n−1 of stream (k0, k1, c1, c2, c3) at offset `at`. */
  gauss(at: number, k0: number, k1: number, c1: number, c2: number, c3: number): void {
    if (this.k) this.k.gauss(8 * at, this.n, k0, k1, c1, c2, c3, 0);
    else fillGaussians(this.m.subarray(at, at + this.n), this.n, k0, k1, c1, c2, c3, 0);
  }

  /** The Euler update of x in place from A·x, g and z (EMULATOR.md §9.1). */
  euler(dt: number, sigma: number, saturate: boolean, fs: number): number {
    const noise = sigma !== 0;
    if (this.k) return this.k.euler(8 * this.X, 8 * this.AX, 8 * this.G, 8 * this.Z, this.n, dt, sigma, noise ? 1 : 0, saturate ? 1 : 0, fs);
    return scalar.euler(this.m, this.X, this.AX, this.G, this.Z, this.n, dt, sigma, noise, saturate, fs);
  }
}

/**
 * The factored exact integrator (exact.ts, EMULATOR.md §9.2) on a layered A: A = λI + U diag(μ) Uᵀ
 * with U = JᵀR; the same noise streams, mode coefficients and summation orders, with J·v and Jᵀ·ρ
 * the layered products. outFinal may alias x0.
 */
export function exactLayered(
  op: LayeredCoupling, g: Float64Array, x0: Float64Array, kappa: number, plan: SegmentPlan,
  addr: NoiseAddress, s: FactoredScratch, outFinal: Float64Array, outMean: Float64Array | null,
): void {
  const { n, r, lambda } = op;
  const sp = op.getSpectral();
  const q = sp.q;
  const wantMean = outMean !== null && plan.m > 0;
  const { z, jr } = s;
  const deck = op.kernelDeck();
  const w1 = deck.vz;
  const w2 = deck.vz2;
  if (kappa > 0) {
    deck.gauss(deck.Z, addr.k0, addr.k1, addr.segment, addr.run, DOMAIN.exactComplement1);
    if (wantMean) deck.gauss(deck.Z2, addr.k0, addr.k1, addr.segment, addr.run, DOMAIN.exactComplement2);
    else w2.fill(0, 0, n);
    fillGaussians(z, 2 * q, addr.k0, addr.k1, addr.segment, addr.run, DOMAIN.exactModes);
  } else {
    w1.fill(0, 0, n);
    w2.fill(0, 0, n);
    z.fill(0, 0, 2 * q);
  }
  const xs = op.xs;
  xs.set(x0.subarray(0, n)); // outFinal may alias x0
  const jx = jr.subarray(0, r), jg = jr.subarray(r, 2 * r), j1 = jr.subarray(2 * r, 3 * r), j2 = jr.subarray(3 * r, 4 * r);
  op.applyJ(xs, jx);
  op.applyJ(g, jg);
  op.applyJ(w1, j1);
  op.applyJ(w2, j2);
  const rF = jr.subarray(4 * r, 5 * r), rM = jr.subarray(5 * r, 6 * r);
  const perp = factoredModes(sp, r, lambda, kappa, plan, z, jx, jg, j1, j2, wantMean, rF, rM);
  complementState(n, g, xs, w1, w2, lambda, perp, plan.m, wantMean, outFinal, outMean);
  const acc = op.acc;
  op.applyJT(rF, acc);
  for (let i = 0; i < n; i++) outFinal[i] = outFinal[i] + acc[i];
  if (wantMean) {
    op.applyJT(rM, acc);
    for (let i = 0; i < n; i++) outMean![i] = outMean![i] + acc[i];
  }
}
