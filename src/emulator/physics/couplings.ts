// Loaded coupling matrices A (dense, or factored A = s·JᵀHJ + λI), validated and immutable once
// built. Each exposes the drift product A·x in the normative summation order and, lazily, the
// spectral data the exact integrator needs.
import { PhysicsError } from './errors.ts';
import { symmetricEigen } from './linalg.ts';
import { FactorStore } from './kernels/store.ts';
import { DOMAIN } from './philox.ts';
import { factoredSpectral, type Spectral } from './spectral.ts';
import type { LayeredCoupling } from './layered-coupling.ts';

export type CoreSpec =
  | { kind: 'identity' }
  /** length r */
  | { kind: 'diagonal'; d: Float64Array }
  /** r/dz consecutive dz×dz row-major blocks (length r·dz) */
  | { kind: 'block'; dz: number; blocks: Float64Array }
  /** r×r row-major */
  | { kind: 'dense'; h: Float64Array };

/** w = s·(H y) for a core H of rank r, per the core kind (EMULATOR.md §7); factored and layered A share it. */
export function applyCoreSpec(c: CoreSpec, r: number, s: number, y: Float64Array, w: Float64Array): void {
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

/** What an Euler step needs besides the state (a subset of euler.ts's EulerParams). */
export interface EulerStepParams {
  dt: number;
  sigma: number;
  saturate: boolean;
  fullScale: number;
  k0: number;
  k1: number;
  run: number;
}

export class FactoredCoupling {
  readonly kind = 'factored';
  private spectral: Spectral | null = null;
  /** r-length scratch for y = Jx and w = s·H·y */
  private readonly y: Float64Array;
  private readonly w: Float64Array;
  /** J, held once, pair-interleaved in the kernels' memory (kernels/store.ts) */
  readonly store: FactorStore;
  constructor(
    readonly n: number,
    readonly r: number,
    /** r×n row-major; copied into the kernel store, or adopted when it is a whole kernel array handed over (kernels/store.ts) */
    J: Float64Array,
    readonly core: CoreSpec,
    readonly scale: number,
    readonly lambda: number,
    opts: { scalarKernels?: boolean } = {},
  ) {
    this.y = new Float64Array(r);
    this.w = new Float64Array(r);
    this.store = new FactorStore(n, r, J, opts.scalarKernels);
    this.scalarKernels = opts.scalarKernels === true;
  }
  /** the scalar reference kernels throughout (tests compare them with the WASM ones) */
  private readonly scalarKernels: boolean;

  /** w = s·(H y), per the core kind (see EMULATOR.md §Drift). */
  applyCore(y: Float64Array, w: Float64Array): void {
    applyCoreSpec(this.core, this.r, this.scale, y, w);
  }

  /** y_k = Σ_j ascending J_kj·x_j from +0 (EMULATOR.md §7). */
  applyJ(x: Float64Array, y: Float64Array): void {
    this.store.applyJ(x, y);
  }

  /** out_i = Σ_k ascending J_ki·w_k from +0. */
  applyJT(w: Float64Array, out: Float64Array): void {
    this.store.applyJT(w, out);
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

  /**
   * One Euler step (EMULATOR.md §9.1) inside the kernel memory: the drift A·x, the noise
   * G(s, run, 1) under key (k0, k1) when σ > 0, and the update of x in place. Returns the clamp
   * count, or −1 when a cell left ±1e150.
   */
  eulerStep(x: Float64Array, g: Float64Array, p: EulerStepParams, s: number): number {
    const st = this.store;
    const n = this.n;
    st.vx.set(x.subarray(0, n));
    st.holdG(g);
    st.jxSlot();
    this.applyCore(st.vy, st.vw);
    st.jtwSlot();
    st.ops.axpy(st.out, this.lambda, st.quad, n);
    const z = st.quad + 2 * n;
    if (p.sigma !== 0) st.ops.gauss(z, n, p.k0, p.k1, s, p.run, DOMAIN.euler, 0);
    const sats = st.ops.euler(st.quad, st.out, st.quad + n, z, n, p.dt, p.sigma, p.sigma !== 0, p.saturate, p.fullScale);
    x.set(st.vx);
    return sats;
  }

  /** Spectral data for the exact integrator (EMULATOR.md §9.2): one eigendecomposition of q×q. */
  getSpectral(): Spectral {
    if (!this.spectral) this.spectral = factoredSpectral(this.store.gram(), this.r, this.core, this.scale, this.lambda, { scalarKernels: this.scalarKernels });
    return this.spectral;
  }
}

export type Coupling = DenseCoupling | FactoredCoupling | LayeredCoupling;
