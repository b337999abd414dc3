// A factor J held once, pair-interleaved, in memory the kernels run on (WASM memory when
// WebAssembly SIMD is available, a plain buffer for the scalar reference otherwise), with the
// vectors the drift, the Gram and the exact run's passes work on. Both paths compute the same bits.
//
// Kernel memories are recycled: a store whose object has been collected gives its memory (and
// kernel instance) back to a small pool, and the next store or staging area of a fitting size
// takes it instead of a fresh WebAssembly.Memory, whose creation and first-touch page faults cost
// more than the whole copy of J. A device's staging area can also receive a J straight into a
// kernel memory (kernelArray); the store built on that J then adopts the memory and rearranges it
// in place, so the staged bytes are the core's copy and an upload holds J once on the device.
import { fillGaussians } from '../philox.ts';
import * as scalar from './scalar.ts';
import { instantiate, type WasmKernels } from './wasm.ts';

/** A kernel memory: its buffer and, where WebAssembly SIMD runs, the kernel instance bound to it. */
interface KernelMemory {
  readonly memory: ArrayBuffer;
  readonly kernels: WasmKernels | null;
}

/** Free memories kept for reuse: a few (a store in use, the next being staged), and not too much. */
const POOL_MAX_COUNT = 3;
const POOL_MAX_BYTES = 256 * 1024 * 1024;
const pool: KernelMemory[] = [];
let poolBytes = 0;

function toPool(k: KernelMemory): void {
  adopters.delete(k.memory);
  if (pool.length >= POOL_MAX_COUNT || poolBytes + k.memory.byteLength > POOL_MAX_BYTES) return;
  pool.push(k);
  poolBytes += k.memory.byteLength;
}

/**
 * A kernel memory of at least `bytes` (its contents arbitrary): a pooled one that is not more
 * than twice the size, else a fresh one (a plain buffer when WASM memory cannot be that large).
 */
function acquire(bytes: number, forceScalar: boolean): KernelMemory {
  let best = -1;
  for (let i = 0; i < pool.length; i++) {
    const b = pool[i].memory.byteLength;
    if (b >= bytes && b <= 2 * bytes + 65536 && (best < 0 || b < pool[best].memory.byteLength)) best = i;
  }
  if (best >= 0) {
    const [k] = pool.splice(best, 1);
    poolBytes -= k.memory.byteLength;
    return k;
  }
  if (forceScalar) return { memory: new ArrayBuffer(bytes), kernels: null };
  try {
    return instantiate(bytes);
  } catch {
    return { memory: new ArrayBuffer(bytes), kernels: null }; // beyond WASM memory: scalar
  }
}

/** Memories whose store has been collected go back to the pool (nothing can reach them then). */
const collected = new FinalizationRegistry<KernelMemory>(toPool);

/** Staged kernel memories not yet adopted by a store (and their arrays' lengths), by buffer. */
const staged = new WeakMap<ArrayBuffer, { k: KernelMemory; length: number }>();

/** Doubles a store of r rows × n columns needs (J pair-interleaved, then its vectors). */
function layout(n: number, r: number) {
  const np = (r + 1) >> 1;
  const quad = even(np * 2 * n);
  const out = even(quad + 4 * n);
  const y = even(out + n);
  const w = y + 2 * np;
  const j4 = w + 2 * np;
  const gacc = even(j4 + 8 * np);
  return { np, quad, out, y, w, j4, gacc, doubles: gacc + r * 2 * np + 2 };
}

/**
 * A row-major r×n array in kernel memory of the size a store of J = that array needs, for a
 * staging area to fill. A store built on it (with the array handed over) adopts the memory
 * instead of copying; otherwise hand it back with releaseKernelArray when it is discarded.
 */
export function kernelArray(n: number, r: number): Float64Array {
  const k = acquire(8 * layout(n, r).doubles, false);
  staged.set(k.memory, { k, length: r * n });
  return new Float64Array(k.memory, 0, r * n);
}

/**
 * Returns a kernel array nobody will read again (an aborted or discarded transfer) to the pool.
 * Arrays a store adopted, or that are not kernel arrays, are left alone.
 */
export function releaseKernelArray(a: Float64Array): void {
  const s = staged.get(a.buffer as ArrayBuffer);
  if (!s) return;
  staged.delete(a.buffer as ArrayBuffer);
  toPool(s.k);
}

/** The store that adopted the kernel array `a` (its memory now holds J pair-interleaved), if any. */
export function adoptedBy(a: Float64Array): FactorStore | null {
  return adopters.get(a.buffer as ArrayBuffer)?.deref() ?? null;
}
// weakly: the pool and the registry keep memories alive, and must not keep their stores alive too
const adopters = new WeakMap<ArrayBuffer, WeakRef<FactorStore>>();

/** Kernel calls with offsets and lengths in doubles. */
interface Ops {
  readonly simd: boolean;
  jx(P: number, p0: number, p1: number, n: number, j0: number, j1: number, x: number, xs: number, out: number, cont: boolean): void;
  /** jx for x = each row of the pair at x (pair layout, x_j at x + 2j), lane l's sums at out_l */
  jx2(P: number, p0: number, p1: number, n: number, j0: number, j1: number, x: number, out0: number, out1: number, cont: boolean): void;
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
    jx2: (P, p0, p1, n, j0, j1, x, out0, out1, cont) => {
      scalar.jx(m, P, p0, p1, n, j0, j1, x, 2, out0, cont);
      scalar.jx(m, P, p0, p1, n, j0, j1, x + 1, 2, out1, cont);
    },
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
    jx2: (P, p0, p1, n, j0, j1, x, out0, out1, cont) => k.jx2(8 * P, p0, p1, n, j0, j1, 8 * x, 8 * out0, 8 * out1, cont ? 1 : 0),
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
  private readonly kernelOps: Ops;
  private readonly mem: KernelMemory;
  private disposed = false;
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

  /**
   * Holds the r×n row-major J pair-interleaved. J is copied, unless it is a kernel array
   * (kernelArray) handed over whole: then the store adopts its memory and J is rearranged in place
   * (the array is the store's from then on; read it back with rowMajor()).
   */
  constructor(readonly n: number, readonly r: number, J: Float64Array, forceScalar = false) {
    const L = layout(n, r);
    const np = L.np;
    this.np = np;
    this.quad = L.quad;
    this.out = L.out;
    this.y = L.y;
    this.w = L.w;
    this.j4 = L.j4;
    this.gacc = L.gacc;
    const doubles = L.doubles;
    // adopt only the whole kernel array: nobody else can hold a part of it that should stay J
    const own = staged.get(J.buffer as ArrayBuffer);
    const adopt = own !== undefined && J.byteOffset === 0 && J.length === own.length && J.length === r * n && own.k.memory.byteLength >= 8 * doubles;
    const mem = adopt ? own.k : acquire(8 * doubles, forceScalar);
    if (adopt) {
      staged.delete(mem.memory);
      adopters.set(mem.memory, new WeakRef(this));
    }
    collected.register(this, mem, this);
    this.mem = mem;
    this.m = new Float64Array(mem.memory, 0, doubles);
    this.kernelOps = mem.kernels && !forceScalar ? wasmOps(mem.kernels) : scalarOps(this.m);
    const m = this.m;
    // a reused memory holds old values: everything but J's rows starts at +0, as fresh memory does
    m.fill(0, np * 2 * n, doubles);
    if (adopt) interleaveInPlace(m, n, r);
    else {
      // a pair's two rows at once: the writes run contiguously through the pair's 2n doubles
      let k = 0;
      for (; k + 1 < r; k += 2) {
        const s0 = k * n, s1 = s0 + n, dst = k * n;
        for (let j = 0; j < n; j++) {
          m[dst + 2 * j] = J[s0 + j];
          m[dst + 2 * j + 1] = J[s1 + j];
        }
      }
      if (k < r) for (let j = 0, src = k * n; j < n; j++) m[k * n + 2 * j] = J[src + j];
    }
    if (r & 1) {
      const pad = (r >> 1) * 2 * n + 1;
      for (let j = 0; j < n; j++) m[pad + 2 * j] = 0;
    }
    this.vx = m.subarray(this.quad, this.quad + n);
    this.vg = m.subarray(this.quad + n, this.quad + 2 * n);
    this.vw1 = m.subarray(this.quad + 2 * n, this.quad + 3 * n);
    this.vw2 = m.subarray(this.quad + 3 * n, this.quad + 4 * n);
    this.vout = m.subarray(this.out, this.out + n);
    this.vy = m.subarray(this.y, this.y + 2 * np);
    this.vw = m.subarray(this.w, this.w + 2 * np);
  }

  /** Kernel calls on this store's memory (throws once the store has been disposed). */
  get ops(): Ops {
    if (this.disposed) throw new Error('kernel store used after its system was retired');
    return this.kernelOps;
  }

  /**
   * Gives the memory back for reuse now: for the owner that knows nothing will read this store
   * again (the core, when it drops a system). Kernel calls fail from then on.
   */
  dispose(): void {
    if (this.disposed) return;
    this.disposed = true;
    collected.unregister(this);
    adopters.delete(this.mem.memory);
    toPool(this.mem);
  }

  /** J as uploaded: r×n row-major (a copy). */
  rowMajor(): Float64Array {
    if (this.disposed) throw new Error('kernel store used after its system was retired');
    const { r, n, m } = this;
    const J = new Float64Array(r * n);
    for (let k = 0; k < r; k++) {
      const src = (k >> 1) * 2 * n + (k & 1);
      const dst = k * n;
      for (let j = 0; j < n; j++) J[dst + j] = m[src + 2 * j];
    }
    return J;
  }

  /** J_kj. */
  at(k: number, j: number): number {
    if (this.disposed) throw new Error('kernel store used after its system was retired');
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
    const ops = this.ops; // (fails on a retired store)
    const K = new Float64Array(r * r);
    const rowLen = 2 * np;
    const acc = this.gacc;
    const m = this.m;
    const list = this.out;
    const tile = Math.max(64, Math.floor(GRAM_TILE_BYTES / (16 * np)));
    // A row over 80 % nonzero in the first tile is taken as dense (no scans): either path gives
    // the same bits, so this only chooses the faster one. Two dense rows of one pair go through
    // jx2 together (each J load serves both).
    const dense = new Uint8Array(r);
    const t0 = Math.min(n, tile);
    for (let a = 0; a < r; a++) dense[a] = 5 * ops.nzidx((a >> 1) * 2 * n + (a & 1), 0, t0, list) > 4 * t0 ? 1 : 0;
    for (let j0 = 0; j0 < n; j0 += tile) {
      const j1 = Math.min(n, j0 + tile);
      for (let a = 0; a < r; a++) {
        const pa = a >> 1;
        // row a in pair layout: stride 2 doubles; pairs pa … np−1 of K's row a
        const xa = pa * 2 * n + (a & 1);
        const out = acc + a * rowLen;
        if ((a & 1) === 0 && a + 1 < r && dense[a] && dense[a + 1]) {
          ops.jx2(this.P, pa, np, n, j0, j1, xa, out, out + rowLen, j0 > 0);
          a++;
        } else if (dense[a]) ops.jx(this.P, pa, np, n, j0, j1, xa, 2, out, j0 > 0);
        else {
          const cnt = ops.nzidx(xa, j0, j1, list);
          if (5 * cnt > 4 * (j1 - j0)) ops.jx(this.P, pa, np, n, j0, j1, xa, 2, out, j0 > 0);
          else ops.jxl(this.P, pa, np, n, j0, list, cnt, xa, out, j0 > 0);
        }
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
    if (this.disposed) throw new Error('kernel store used after its system was retired');
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

/**
 * Row-major J (rows 0 … r−1, each n long, from offset 0) → pair-interleaved, in place. Pair p's
 * two rows occupy exactly the 2n doubles its interleaved form does, so each pair goes through a
 * scratch copy of itself (2n doubles) and nothing else moves. The odd row of a last half pair is
 * left for the caller to set.
 */
function interleaveInPlace(m: Float64Array, n: number, r: number): void {
  const scratch = new Float64Array(2 * n);
  for (let p = 0; 2 * p < r; p++) {
    const base = 2 * p * n;
    const rows = Math.min(2, r - 2 * p);
    scratch.set(m.subarray(base, base + rows * n));
    for (let j = 0; j < n; j++) m[base + 2 * j] = scratch[j];
    if (rows === 2) for (let j = 0; j < n; j++) m[base + 2 * j + 1] = scratch[n + j];
  }
}
