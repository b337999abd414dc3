// Loaded coupling matrices A (dense, or factored A = s·JᵀHJ + λI), validated and immutable once
// built. Each exposes the drift product A·x in the normative summation order and, lazily, the
// spectral data the exact integrator needs.
import { PhysicsError } from './errors.ts';
import { symmetricEigen } from './linalg.ts';

export type CoreSpec =
  | { kind: 'identity' }
  /** length r */
  | { kind: 'diagonal'; d: Float64Array }
  /** r/dz consecutive dz×dz row-major blocks (length r·dz) */
  | { kind: 'block'; dz: number; blocks: Float64Array }
  /** r×r row-major */
  | { kind: 'dense'; h: Float64Array };

/** Spectral form A = Σ_j a_j u_j u_jᵀ (+ λ on the orthogonal complement for factored A). */
export interface Spectral {
  /** number of explicit modes q */
  q: number;
  /** eigenvalues of A on the explicit modes (all > 0) */
  a: Float64Array;
  /**
   * Dense: the n×n eigenvector matrix Q (column j = mode j). Factored: the r×q matrix R with
   * U = Jᵀ R (U never formed).
   */
  basis: Float64Array;
}

export class DenseCoupling {
  readonly kind = 'dense';
  private spectral: Spectral | null = null;
  constructor(readonly n: number, readonly a: Float64Array) {}

  /** out[i] = Σ_j A_ij x_j, j ascending from +0 (four rows at a time for ILP; same order). */
  apply(x: Float64Array, out: Float64Array): void {
    const n = this.n;
    const a = this.a;
    let i = 0;
    for (; i + 4 <= n; i += 4) {
      const r0 = i * n, r1 = r0 + n, r2 = r1 + n, r3 = r2 + n;
      let a0 = 0, a1 = 0, a2 = 0, a3 = 0;
      for (let j = 0; j < n; j++) {
        const xj = x[j];
        a0 = a0 + a[r0 + j] * xj;
        a1 = a1 + a[r1 + j] * xj;
        a2 = a2 + a[r2 + j] * xj;
        a3 = a3 + a[r3 + j] * xj;
      }
      out[i] = a0;
      out[i + 1] = a1;
      out[i + 2] = a2;
      out[i + 3] = a3;
    }
    for (; i < n; i++) {
      let acc = 0;
      const row = i * n;
      for (let j = 0; j < n; j++) acc = acc + a[row + j] * x[j];
      out[i] = acc;
    }
  }

  getSpectral(): Spectral {
    if (this.spectral) return this.spectral;
    const { values, vectors } = symmetricEigen(this.a, this.n);
    for (let i = 0; i < this.n; i++) {
      if (!(values[i] > 0)) throw new PhysicsError('not-positive-definite', `dense A has eigenvalue ${values[i]}`);
    }
    this.spectral = { q: this.n, a: values, basis: vectors };
    return this.spectral;
  }

  /** Euler stability bound: max row sum of |A| (Gershgorin) ≥ largest eigenvalue. */
  gershgorin(): number {
    let m = 0;
    for (let i = 0; i < this.n; i++) {
      let s = 0;
      for (let j = 0; j < this.n; j++) s += Math.abs(this.a[i * this.n + j]);
      if (s > m) m = s;
    }
    return m;
  }
}

export class FactoredCoupling {
  readonly kind = 'factored';
  private spectral: Spectral | null = null;
  /** r-length scratch for y = Jx and w = s·H·y */
  private readonly y: Float64Array;
  private readonly w: Float64Array;
  /** row views J[k, ·] (V8 streams these faster than offset indexing into J) */
  readonly rows: Float64Array[];
  constructor(
    readonly n: number,
    readonly r: number,
    /** r×n row-major, held once */
    readonly J: Float64Array,
    readonly core: CoreSpec,
    readonly scale: number,
    readonly lambda: number,
  ) {
    this.y = new Float64Array(r);
    this.w = new Float64Array(r);
    this.rows = Array.from({ length: r }, (_, k) => J.subarray(k * n, k * n + n));
  }

  /** w = s·(H y), per the core kind (see EMULATOR.md §Drift). */
  applyCore(y: Float64Array, w: Float64Array): void {
    const r = this.r;
    const s = this.scale;
    const c = this.core;
    switch (c.kind) {
      case 'identity':
        for (let k = 0; k < r; k++) w[k] = s * y[k];
        break;
      case 'diagonal':
        for (let k = 0; k < r; k++) w[k] = s * (c.d[k] * y[k]);
        break;
      case 'block': {
        const dz = c.dz;
        for (let b0 = 0; b0 < r; b0 += dz) {
          for (let k = 0; k < dz; k++) {
            let acc = 0;
            const row = b0 * dz + k * dz; // block (b0/dz), row k
            for (let l = 0; l < dz; l++) acc = acc + c.blocks[row + l] * y[b0 + l];
            w[b0 + k] = s * acc;
          }
        }
        break;
      }
      case 'dense':
        for (let k = 0; k < r; k++) {
          let acc = 0;
          for (let l = 0; l < r; l++) acc = acc + c.h[k * r + l] * y[l];
          w[k] = s * acc;
        }
        break;
    }
  }

  /** y_k = Σ_j J_kj x_j (j ascending from +0), four rows per sweep over x. */
  applyJ(x: Float64Array, y: Float64Array): void {
    const { n, r, rows } = this;
    let k = 0;
    for (; k + 4 <= r; k += 4) {
      const j0 = rows[k], j1 = rows[k + 1], j2 = rows[k + 2], j3 = rows[k + 3];
      let a0 = 0, a1 = 0, a2 = 0, a3 = 0;
      for (let j = 0; j < n; j++) {
        const xj = x[j];
        a0 = a0 + j0[j] * xj;
        a1 = a1 + j1[j] * xj;
        a2 = a2 + j2[j] * xj;
        a3 = a3 + j3[j] * xj;
      }
      y[k] = a0;
      y[k + 1] = a1;
      y[k + 2] = a2;
      y[k + 3] = a3;
    }
    for (; k < r; k++) {
      let acc = 0;
      const jk = rows[k];
      for (let j = 0; j < n; j++) acc = acc + jk[j] * x[j];
      y[k] = acc;
    }
  }

  /** out_i = Σ_k J_ki w_k (k ascending from +0), four rows per sweep over out. */
  applyJT(w: Float64Array, out: Float64Array): void {
    const { n, r, rows } = this;
    out.fill(0, 0, n);
    let k = 0;
    for (; k + 4 <= r; k += 4) {
      const j0 = rows[k], j1 = rows[k + 1], j2 = rows[k + 2], j3 = rows[k + 3];
      const w0 = w[k], w1 = w[k + 1], w2 = w[k + 2], w3 = w[k + 3];
      for (let i = 0; i < n; i++) out[i] = (((out[i] + j0[i] * w0) + j1[i] * w1) + j2[i] * w2) + j3[i] * w3;
    }
    for (; k < r; k++) {
      const wk = w[k];
      const jk = rows[k];
      for (let i = 0; i < n; i++) out[i] = out[i] + jk[i] * wk;
    }
  }

  /** out = A x = (Σ_k J_ki w_k) + λ x_i with y = J x, w = s·H y. Never forms N×N. */
  apply(x: Float64Array, out: Float64Array): void {
    this.applyJ(x, this.y);
    this.applyCore(this.y, this.w);
    this.applyJT(this.w, out);
    const lam = this.lambda;
    const n = this.n;
    for (let i = 0; i < n; i++) out[i] = out[i] + lam * x[i];
  }

  /** Dense r×r copy of s·H. */
  coreDense(): Float64Array {
    const r = this.r;
    const c = new Float64Array(r * r);
    const s = this.scale;
    const core = this.core;
    if (core.kind === 'identity') for (let k = 0; k < r; k++) c[k * r + k] = s;
    else if (core.kind === 'diagonal') for (let k = 0; k < r; k++) c[k * r + k] = s * core.d[k];
    else if (core.kind === 'block') {
      const dz = core.dz;
      for (let b0 = 0; b0 < r; b0 += dz)
        for (let k = 0; k < dz; k++)
          for (let l = 0; l < dz; l++) c[(b0 + k) * r + b0 + l] = s * core.blocks[b0 * dz + k * dz + l];
    } else for (let i = 0; i < r * r; i++) c[i] = s * core.h[i];
    return c;
  }

  /**
   * Thin eigendecomposition of s·JᵀHJ through the r×r Gram K = JJᵀ = P diag(k) Pᵀ:
   * T = diag(√k) Pᵀ(sH)P diag(√k) = W diag(μ) Wᵀ, U = Jᵀ P diag(k^−½) W = Jᵀ R.
   * Directions with k ≤ 2^−40·max k are treated as outside span(Jᵀ) (eigenvalue λ).
   */
  getSpectral(): Spectral {
    if (this.spectral) return this.spectral;
    const { n, r } = this;
    const K = new Float64Array(r * r);
    // K_ab = Σ_j ascending J_aj·J_bj; four b per sweep over row a (same order per entry).
    const rows = this.rows;
    for (let a = 0; a < r; a++) {
      const ja = rows[a];
      let b = a;
      for (; b + 4 <= r; b += 4) {
        const j0 = rows[b], j1 = rows[b + 1], j2 = rows[b + 2], j3 = rows[b + 3];
        let a0 = 0, a1 = 0, a2 = 0, a3 = 0;
        for (let j = 0; j < n; j++) {
          const v = ja[j];
          a0 = a0 + v * j0[j];
          a1 = a1 + v * j1[j];
          a2 = a2 + v * j2[j];
          a3 = a3 + v * j3[j];
        }
        K[a * r + b] = K[b * r + a] = a0;
        K[a * r + b + 1] = K[(b + 1) * r + a] = a1;
        K[a * r + b + 2] = K[(b + 2) * r + a] = a2;
        K[a * r + b + 3] = K[(b + 3) * r + a] = a3;
      }
      for (; b < r; b++) {
        let acc = 0;
        const jb = rows[b];
        for (let j = 0; j < n; j++) acc = acc + ja[j] * jb[j];
        K[a * r + b] = acc;
        K[b * r + a] = acc;
      }
    }
    const ek = symmetricEigen(K, r);
    let kmax = 0;
    for (let i = 0; i < r; i++) if (ek.values[i] > kmax) kmax = ek.values[i];
    const keep: number[] = [];
    for (let i = 0; i < r; i++) if (ek.values[i] > kmax * 9.094947017729282e-13) keep.push(i);
    const q = keep.length;
    const C = this.coreDense();
    // CP = C · P_keep (r×q)
    const CP = new Float64Array(r * q);
    for (let a = 0; a < r; a++)
      for (let jj = 0; jj < q; jj++) {
        let acc = 0;
        const pj = keep[jj];
        for (let b = 0; b < r; b++) acc = acc + C[a * r + b] * ek.vectors[b * r + pj];
        CP[a * q + jj] = acc;
      }
    const sq = new Float64Array(q);
    for (let i = 0; i < q; i++) sq[i] = Math.sqrt(ek.values[keep[i]]);
    const T = new Float64Array(q * q);
    for (let i = 0; i < q; i++)
      for (let jj = i; jj < q; jj++) {
        let acc = 0;
        const pi = keep[i];
        for (let a = 0; a < r; a++) acc = acc + ek.vectors[a * r + pi] * CP[a * q + jj];
        const t = (sq[i] * acc) * sq[jj];
        T[i * q + jj] = t;
        T[jj * q + i] = t;
      }
    const et = symmetricEigen(T, q);
    const R = new Float64Array(r * q);
    for (let a = 0; a < r; a++)
      for (let jj = 0; jj < q; jj++) {
        let acc = 0;
        for (let i = 0; i < q; i++) acc = acc + ek.vectors[a * r + keep[i]] * (et.vectors[i * q + jj] / sq[i]);
        R[a * q + jj] = acc;
      }
    const aEig = new Float64Array(q);
    for (let j = 0; j < q; j++) {
      aEig[j] = this.lambda + et.values[j];
      if (!(aEig[j] > 0)) throw new PhysicsError('not-positive-definite', `factored A has eigenvalue ${aEig[j]}`);
    }
    this.spectral = { q, a: aEig, basis: R };
    return this.spectral;
  }
}

export type Coupling = DenseCoupling | FactoredCoupling;
