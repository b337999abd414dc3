// A factor J held once, pair-interleaved, in memory the kernels run on (WASM memory when
// WebAssembly SIMD is available, a plain buffer for the scalar reference otherwise), with the
// vectors the drift, the Gram and the exact run's passes work on. Both paths compute the same bits.
import { fillGaussians } from '../philox.ts';
import * as scalar from './scalar.ts';
import { instantiate, type WasmKernels } from './wasm.ts';

/** Kernel calls with offsets and lengths in doubles. */
interface Ops {
  readonly simd: boolean;
  jx(P: number, p0: number, p1: number, n: number, j0: number, j1: number, x: number, xs: number, out: number, cont: boolean): void;
  /** the j ∈ [j0, j1) with x_j ≠ ±0 (x_j at x + 2j, a row of the pair layout) into the list at `list` */
  nzidx(x: number, j0: number, j1: number, list: number): number;
  /** jx for a pair-layout row x over only the listed j (the other terms are ±0: same bits) */
  jxl(P: number, p0: number, p1: number, n: number, j0: number, list: number, cnt: number, x: number, out: number, cont: boolean): void;
  jx4(P: number, np: number, n: number, v: number, out: number): void;
  jtw(P: number, np: number, n: number, w: number, out: number): void;
  axpy(out: number, c: number, x: number, n: number): void;
  vadd(out: number, x: number, n: number): void;
  euler(x: number, ax: number, g: number, z: number, n: number, dt: number, sigma: number, noise: boolean, sat: boolean, fs: number): number;
  /** Gaussians first … first+n−1 of stream (k0, k1, c1, c2, c3) into out (EMULATOR.md §4) */
  gauss(out: number, n: number, k0: number, k1: number, c1: number, c2: number, c3: number, first: number): void;
}

function scalarOps(m: Float64Array): Ops {
  const li = new Int32Array(m.buffer, m.byteOffset, 2 * m.length);
  return {
    simd: false,
    jx: (P, p0, p1, n, j0, j1, x, xs, out, cont) => scalar.jx(m, P, p0, p1, n, j0, j1, x, xs, out, cont),
    nzidx: (x, j0, j1, list) => scalar.nzidx(m, li, x, j0, j1, 2 * list),
    jxl: (P, p0, p1, n, j0, list, cnt, x, out, cont) => scalar.jxl(m, li, P, p0, p1, n, j0, 2 * list, cnt, x, out, cont),
    jx4: (P, np, n, v, out) => scalar.jx4(m, P, np, n, v, out),
    jtw: (P, np, n, w, out) => scalar.jtw(m, P, np, n, w, out),
    axpy: (out, c, x, n) => scalar.axpy(m, out, c, x, n),
    vadd: (out, x, n) => scalar.vadd(m, out, x, n),
    euler: (x, ax, g, z, n, dt, sigma, noise, sat, fs) => scalar.euler(m, x, ax, g, z, n, dt, sigma, noise, sat, fs),
    gauss: (out, n, k0, k1, c1, c2, c3, first) => fillGaussians(m.subarray(out, out + n), n, k0, k1, c1, c2, c3, first),
  };
}

function wasmOps(k: WasmKernels): Ops {
  return {
    simd: true,
    jx: (P, p0, p1, n, j0, j1, x, xs, out, cont) => k.jx(8 * P, p0, p1, n, j0, j1, 8 * x, 8 * xs, 8 * out, cont ? 1 : 0),
    nzidx: (x, j0, j1, list) => k.nzidx(8 * x, j0, j1, 8 * list),
    jxl: (P, p0, p1, n, j0, list, cnt, x, out, cont) => k.jxl(8 * P, p0, p1, n, j0, 8 * list, cnt, 8 * x, 8 * out, cont ? 1 : 0),
    jx4: (P, np, n, v, out) => k.jx4(8 * P, np, n, 8 * v, 8 * out),
    jtw: (P, np, n, w, out) => k.jtw(8 * P, np, n, 8 * w, 8 * out),
    axpy: (out, c, x, n) => k.axpy(8 * out, c, 8 * x, n),
    vadd: (out, x, n) => k.vadd(8 * out, 8 * x, n),
    euler: (x, ax, g, z, n, dt, sigma, noise, sat, fs) => k.euler(8 * x, 8 * ax, 8 * g, 8 * z, n, dt, sigma, noise ? 1 : 0, sat ? 1 : 0, fs),
    gauss: (out, n, k0, k1, c1, c2, c3, first) => k.gauss(8 * out, n, k0, k1, c1, c2, c3, first),
  };
}

const even = (k: number) => k + (k & 1);
/** bytes of J per Gram tile (all rows × a j range): about half a typical L2 */
const GRAM_TILE_BYTES = 256 * 1024;

export class FactorStore {
  readonly np: number;
  /** the whole kernel memory as doubles */
  readonly m: Float64Array;
  readonly ops: Ops;
  /** offsets (doubles) */
  readonly P = 0;
  readonly quad: number;
  readonly out: number;
  readonly y: number;
  readonly w: number;
  readonly j4: number;
  /** partial Gram rows (r × 2·np) */
  readonly gacc: number;
  /** views: quad vectors (x, g, w1, w2), out (n), y and w (2·np), the four jx4 results (2·np each) */
  readonly vx: Float64Array;
  readonly vg: Float64Array;
  readonly vw1: Float64Array;
  readonly vw2: Float64Array;
  readonly vout: Float64Array;
  readonly vy: Float64Array;
  readonly vw: Float64Array;
  /** g currently in vg (arrays of loaded systems are immutable, so identity suffices) */
  private gHeld: Float64Array | null = null;

  /** Copies the r×n row-major J into pair-interleaved storage. */
  constructor(readonly n: number, readonly r: number, J: Float64Array, forceScalar = false) {
    const np = (r + 1) >> 1;
    this.np = np;
    this.quad = even(np * 2 * n);
    this.out = even(this.quad + 4 * n);
    this.y = even(this.out + n);
    this.w = this.y + 2 * np;
    this.j4 = this.w + 2 * np;
    this.gacc = even(this.j4 + 8 * np);
    const doubles = this.gacc + r * 2 * np + 2;
    let mem: { memory: ArrayBuffer; kernels: WasmKernels | null };
    try {
      mem = forceScalar ? { memory: new ArrayBuffer(8 * doubles), kernels: null } : instantiate(8 * doubles);
    } catch {
      mem = { memory: new ArrayBuffer(8 * doubles), kernels: null }; // beyond WASM memory: scalar
    }
    this.m = new Float64Array(mem.memory, 0, doubles);
    this.ops = mem.kernels ? wasmOps(mem.kernels) : scalarOps(this.m);
    const m = this.m;
    for (let k = 0; k < r; k++) {
      const src = k * n;
      const dst = (k >> 1) * 2 * n + (k & 1);
      for (let j = 0; j < n; j++) m[dst + 2 * j] = J[src + j];
    }
    this.vx = m.subarray(this.quad, this.quad + n);
    this.vg = m.subarray(this.quad + n, this.quad + 2 * n);
    this.vw1 = m.subarray(this.quad + 2 * n, this.quad + 3 * n);
    this.vw2 = m.subarray(this.quad + 3 * n, this.quad + 4 * n);
    this.vout = m.subarray(this.out, this.out + n);
    this.vy = m.subarray(this.y, this.y + 2 * np);
    this.vw = m.subarray(this.w, this.w + 2 * np);
  }

  /** J_kj. */
  at(k: number, j: number): number {
    return this.m[(k >> 1) * 2 * this.n + (k & 1) + 2 * j];
  }

  /** Loads g into its slot unless it is already there. */
  holdG(g: Float64Array): void {
    if (this.gHeld === g) return;
    this.vg.set(g.subarray(0, this.n));
    this.gHeld = g;
  }

  /** y = J·x (EMULATOR.md §7) of the vector in the x slot, into vy. */
  jxSlot(): void {
    this.ops.jx(this.P, 0, this.np, this.n, 0, this.n, this.quad, 1, this.y, false);
  }

  /** out = Jᵀ·w of the weights in vw (its padding entry forced to +0), into vout. */
  jtwSlot(): void {
    if (this.r & 1) this.vw[this.r] = 0;
    this.ops.jtw(this.P, this.np, this.n, this.w, this.out);
  }

  /** y = J·x for any x (length n) into y (length r). */
  applyJ(x: Float64Array, y: Float64Array): void {
    this.vx.set(x.subarray(0, this.n));
    this.jxSlot();
    for (let k = 0; k < this.r; k++) y[k] = this.vy[k];
  }

  /** out = Jᵀ·w for any w (length r) into out (length n). */
  applyJT(w: Float64Array, out: Float64Array): void {
    for (let k = 0; k < this.r; k++) this.vw[k] = w[k];
    this.jtwSlot();
    out.set(this.vout);
  }

  /**
   * K_ab = Σ_j ascending J_aj·J_bj (a ≤ b, mirrored). The j range is cut into tiles that stay in
   * cache; each K row's partial sums are kept in a scratch block and continued tile by tile. Where
   * row a is mostly zeros in a tile (a GGN's J: inactive ReLUs, blank pixels), only its nonzero j
   * are visited: the skipped terms are ±0 and leave the sums' bits unchanged (EMULATOR.md §14).
   * The index list lives in the `out` vector, which every reader rewrites first (jtwSlot).
   */
  gram(): Float64Array {
    const { r, n, np } = this;
    const K = new Float64Array(r * r);
    const rowLen = 2 * np;
    const acc = this.gacc;
    const m = this.m;
    const list = this.out;
    const tile = Math.max(64, Math.floor(GRAM_TILE_BYTES / (16 * np)));
    // A row found over 80 % nonzero in the first tile is taken as dense from then on (no scans):
    // either path gives the same bits, so this only chooses the faster one.
    const dense = new Uint8Array(r);
    for (let j0 = 0; j0 < n; j0 += tile) {
      const j1 = Math.min(n, j0 + tile);
      for (let a = 0; a < r; a++) {
        const pa = a >> 1;
        // row a in pair layout: stride 2 doubles; pairs pa … np−1 of K's row a
        const xa = pa * 2 * n + (a & 1);
        const out = acc + a * rowLen;
        if (dense[a]) {
          this.ops.jx(this.P, pa, np, n, j0, j1, xa, 2, out, j0 > 0);
          continue;
        }
        const cnt = this.ops.nzidx(xa, j0, j1, list);
        if (5 * cnt > 4 * (j1 - j0)) {
          this.ops.jx(this.P, pa, np, n, j0, j1, xa, 2, out, j0 > 0);
          if (j0 === 0) dense[a] = 1;
        } else this.ops.jxl(this.P, pa, np, n, j0, list, cnt, xa, out, j0 > 0);
      }
    }
    for (let a = 0; a < r; a++)
      for (let b = a; b < r; b++) {
        const v = m[acc + a * rowLen + b];
        K[a * r + b] = v;
        K[b * r + a] = v;
      }
    return K;
  }

  /** Σ_j ascending J_kj·J_kj for each row k. */
  rowSquares(): Float64Array {
    const { r, n } = this;
    const q = new Float64Array(r);
    const m = this.m;
    for (let k = 0; k < r; k++) {
      const base = (k >> 1) * 2 * n + (k & 1);
      let acc = 0;
      for (let j = 0; j < n; j++) {
        const v = m[base + 2 * j];
        acc = acc + v * v;
      }
      q[k] = acc;
    }
    return q;
  }
}
