// Scalar reference of the kernels (EMULATOR.md §14): the same operations in the same order as the
// f64x2 WebAssembly kernels (kernels.wat), over the same memory layout. The WASM kernels must give
// these bits (test/emulator-physics/kernels.test.ts); this is also the fallback where WebAssembly
// SIMD is unavailable. All offsets and lengths are in doubles.
import { hypotDet } from '../detmath.ts';

/**
 * out[2π + l] = Σ_j ascending J[2π+l][j]·x_j for pairs π ∈ [p0, p1) and j ∈ [j0, j1), continuing
 * from out's value when `cont` (a j-tiled sum is the same sum), else from +0; x_j = m[x + j·xs].
 */
export function jx(
  m: Float64Array, P: number, p0: number, p1: number, n: number, j0: number, j1: number, x: number, xs: number, out: number, cont: boolean,
): void {
  for (let pi = p0; pi < p1; pi++) {
    let a0 = cont ? m[out + 2 * pi] : 0;
    let a1 = cont ? m[out + 2 * pi + 1] : 0;
    const a = P + pi * 2 * n;
    for (let j = j0; j < j1; j++) {
      const xj = m[x + j * xs];
      a0 = a0 + m[a + 2 * j] * xj;
      a1 = a1 + m[a + 2 * j + 1] * xj;
    }
    m[out + 2 * pi] = a0;
    m[out + 2 * pi + 1] = a1;
  }
}

/** The j ∈ [j0, j1) with m[x + 2j] ≠ ±0, as j − j0, ascending, into li[list …]; returns the count. */
export function nzidx(m: Float64Array, li: Int32Array, x: number, j0: number, j1: number, list: number): number {
  let cnt = 0;
  for (let j = j0; j < j1; j++) if (m[x + 2 * j] !== 0) li[list + cnt++] = j - j0;
  return cnt;
}

/**
 * jx with x a row of the pair layout (x_j = m[x + 2j]) over only the listed j (li[list …], from
 * nzidx): the skipped terms are ±0, which leave a sum started at +0 unchanged (it is never −0).
 */
export function jxl(
  m: Float64Array, li: Int32Array, P: number, p0: number, p1: number, n: number, j0: number, list: number, cnt: number, x: number, out: number, cont: boolean,
): void {
  for (let pi = p0; pi < p1; pi++) {
    let a0 = cont ? m[out + 2 * pi] : 0;
    let a1 = cont ? m[out + 2 * pi + 1] : 0;
    const a = P + pi * 2 * n;
    for (let t = 0; t < cnt; t++) {
      const j = j0 + li[list + t];
      const xj = m[x + 2 * j];
      a0 = a0 + m[a + 2 * j] * xj;
      a1 = a1 + m[a + 2 * j + 1] * xj;
    }
    m[out + 2 * pi] = a0;
    m[out + 2 * pi + 1] = a1;
  }
}

/** (Jv₀, Jv₁, Jv₂, Jv₃) with v_c = m[v + c·n …], outputs at out + c·2·np. */
export function jx4(m: Float64Array, P: number, np: number, n: number, v: number, out: number): void {
  for (let c = 0; c < 4; c++) jx(m, P, 0, np, n, 0, n, v + c * n, 1, out + c * 2 * np, false);
}

/** out_i = Σ_k ascending J_ki·w_k from +0 (k over all 2·np rows; the padding row's w is +0). */
export function jtw(m: Float64Array, P: number, np: number, n: number, w: number, out: number): void {
  m.fill(0, out, out + n);
  for (let pi = 0; pi < np; pi++) {
    const a = P + pi * 2 * n;
    const w0 = m[w + 2 * pi], w1 = m[w + 2 * pi + 1];
    for (let i = 0; i < n; i++) m[out + i] = (m[out + i] + m[a + 2 * i] * w0) + m[a + 2 * i + 1] * w1;
  }
}

/** out_i = out_i + c·x_i. */
export function axpy(m: Float64Array, out: number, c: number, x: number, n: number): void {
  for (let i = 0; i < n; i++) m[out + i] = m[out + i] + c * m[x + i];
}

/** out_i = out_i + x_i. */
export function vadd(m: Float64Array, out: number, x: number, n: number): void {
  for (let i = 0; i < n; i++) m[out + i] = m[out + i] + m[x + i];
}

/** The Euler update of EMULATOR.md §9.1; returns the clamp count, or −1 when a cell left ±1e150. */
export function euler(
  m: Float64Array, x: number, ax: number, g: number, z: number, n: number,
  dt: number, sigma: number, noise: boolean, sat: boolean, fs: number,
): number {
  let bad = false;
  let sats = 0;
  for (let i = 0; i < n; i++) {
    let v = m[x + i] - dt * (m[ax + i] - m[g + i]);
    if (noise) v = v + sigma * m[z + i];
    if (sat) {
      if (v > fs) {
        v = fs;
        sats++;
      } else if (v < -fs) {
        v = -fs;
        sats++;
      }
    }
    if (!(v <= 1e150 && v >= -1e150)) bad = true;
    m[x + i] = v;
  }
  return bad ? -1 : sats;
}

// —— symmetric eigensolver inner loops (linalg.ts; EMULATOR.md §9.2) ——

/** p_i = Σ_j ascending A_ij·v_j over j ∈ [k1, n), rows i ∈ [k1, n). */
export function symv(m: Float64Array, A: number, n: number, k1: number, v: number, p: number): void {
  for (let i = k1; i < n; i++) {
    let acc = 0;
    const row = A + i * n;
    for (let j = k1; j < n; j++) acc = acc + m[row + j] * m[v + j];
    m[p + i] = acc;
  }
}

/** A_ij = (A_ij − v_i·w_j) − w_i·v_j for i, j ∈ [k1, n), i outer. */
export function rank2(m: Float64Array, A: number, n: number, k1: number, v: number, w: number): void {
  for (let i = k1; i < n; i++) {
    const vi = m[v + i], wi = m[w + i];
    const row = A + i * n;
    for (let j = k1; j < n; j++) m[row + j] = (m[row + j] - vi * m[w + j]) - wi * m[v + j];
  }
}

/**
 * The Householder reduction of EMULATOR.md §9.2 on A (n×n at offset A): for k = 0 … n−3 with a
 * nonzero tail, v_k to row k of A (entries k+1 … n−1), β_k to m[B + k], k to mi[K + count];
 * p (n doubles) is scratch. Returns the count.
 */
export function tridiag(m: Float64Array, mi: Int32Array, A: number, n: number, B: number, K: number, p: number): number {
  let nk = 0;
  for (let k = 0; k + 2 < n; k++) {
    let tail = 0;
    for (let i = k + 2; i < n; i++) tail = tail + m[A + i * n + k] * m[A + i * n + k];
    if (tail === 0) continue;
    // v_k (entries k+1 … n−1) goes to row k of A above the diagonal: that row is never read again
    // (later steps touch rows and columns > k; d and e come from the diagonal and below).
    const vo = A + k * n;
    const x0 = m[A + (k + 1) * n + k];
    const sigma = x0 * x0 + tail;
    const alpha = x0 >= 0 ? -Math.sqrt(sigma) : Math.sqrt(sigma);
    m[vo + k + 1] = x0 - alpha;
    for (let i = k + 2; i < n; i++) m[vo + i] = m[A + i * n + k];
    let vtv = 0;
    for (let i = k + 1; i < n; i++) vtv = vtv + m[vo + i] * m[vo + i];
    const beta = 2 / vtv;
    symv(m, A, n, k + 1, vo, p); // p_i = Σ_j A_ij·v_j
    let pv = 0;
    for (let i = k + 1; i < n; i++) {
      m[p + i] = beta * m[p + i];
      pv = pv + m[p + i] * m[vo + i];
    }
    const kk = (beta / 2) * pv;
    for (let i = k + 1; i < n; i++) m[p + i] = m[p + i] - kk * m[vo + i]; // w
    rank2(m, A, n, k + 1, vo, p);
    m[A + (k + 1) * n + k] = alpha;
    for (let i = k + 2; i < n; i++) m[A + i * n + k] = 0;
    m[B + k] = beta;
    mi[K + nk++] = k;
  }
  return nk;
}

const EPS = 2.220446049250313e-16;

/**
 * The implicit QR iteration of EMULATOR.md §9.2 on the tridiagonal (d, e): deflate from the
 * bottom, one qrsweep on the unreduced block l … m; sweeps (l, m − l) recorded at mi[S …] and
 * their rotations at m[CS …], applied to Q (rotapply) when the next sweep would pass `cap`
 * rotations, and at the end. Returns the sweeps taken, or −1 past 60·n.
 */
export function qrdrive(mem: Float64Array, mi: Int32Array, d: number, e: number, n: number, Q: number, np: number, S: number, CS: number, cap: number): number {
  const small = (i: number) => Math.abs(mem[e + i]) <= EPS * (Math.abs(mem[d + i]) + Math.abs(mem[d + i + 1]));
  let sweeps = 0; // recorded, not yet applied to Q
  let used = 0; // rotations recorded
  let it = 0;
  let m = n - 1;
  while (m > 0) {
    if (small(m - 1)) {
      mem[e + m - 1] = 0;
      m--;
      continue;
    }
    let l = m - 1;
    while (l > 0 && !small(l - 1)) l--;
    if (l > 0) mem[e + l - 1] = 0;
    if (++it > 60 * n) return -1;
    if (used + (m - l) > cap) {
      if (sweeps > 0) rotapply(mem, mi, Q, n, np, S, sweeps, CS);
      sweeps = 0;
      used = 0;
    }
    mi[S + 2 * sweeps] = l;
    mi[S + 2 * sweeps + 1] = m - l;
    sweeps++;
    // Wilkinson shift from the trailing 2×2 of the block l..m, then the sweep's rotations.
    qrsweep(mem, d, e, l, m, CS + 2 * used);
    used += m - l;
  }
  if (sweeps > 0) rotapply(mem, mi, Q, n, np, S, sweeps, CS);
  return it;
}


/**
 * One implicit QR sweep (EMULATOR.md §9.2) on the block l … hi of the tridiagonal (d, e at
 * offsets d, e), Wilkinson shift from its trailing 2×2; rotation k − l's (c, s) at cs + 2(k − l).
 */
export function qrsweep(mem: Float64Array, d: number, e: number, l: number, hi: number, cs: number): void {
  const dd = (mem[d + hi - 1] - mem[d + hi]) / 2;
  const bm = mem[e + hi - 1];
  const den = dd >= 0 ? dd + hypotDet(dd, bm) : dd - hypotDet(dd, bm);
  const mu = mem[d + hi] - (bm * bm) / den;
  let x = mem[d + l] - mu;
  let z = mem[e + l];
  for (let k = l; k < hi; k++) {
    const r = hypotDet(x, z);
    const c = r === 0 ? 1 : x / r;
    const s = r === 0 ? 0 : z / r;
    if (k > l) mem[e + k - 1] = r;
    const al = mem[d + k], be = mem[e + k], ga = mem[d + k + 1];
    const csk = c * s;
    mem[d + k] = ((c * c) * al + (2 * csk) * be) + (s * s) * ga;
    mem[d + k + 1] = ((s * s) * al - (2 * csk) * be) + (c * c) * ga;
    mem[e + k] = csk * (ga - al) + (c * c - s * s) * be;
    if (k + 1 < hi) {
      const de = mem[e + k + 1];
      z = s * de;
      mem[e + k + 1] = c * de;
      x = mem[e + k];
    }
    mem[cs + 2 * (k - l)] = c;
    mem[cs + 2 * (k - l) + 1] = s;
  }
}

// Q as row pairs: element (i, j) at Q + (i >> 1)·2n + 2j + (i & 1) (kernels.wat). Rows never mix.

/**
 * The reflectors k = ki[K … K+nk−1] on every row i of Q (2·np rows, the padding row included):
 * t = β_k·(Σ_j ascending Q_ij·v_j) over j ∈ [k+1, n), then Q_ij = Q_ij − t·v_j; v_k = row k of V
 * (n×n), β_k = m[B + k].
 */
export function hhacc(m: Float64Array, ki: Int32Array, Q: number, n: number, np: number, V: number, B: number, K: number, nk: number): void {
  for (let i = 0; i < 2 * np; i++) {
    const base = Q + (i >> 1) * 2 * n + (i & 1);
    for (let h = 0; h < nk; h++) {
      const k = ki[K + h];
      const v = V + k * n;
      let acc = 0;
      for (let j = k + 1; j < n; j++) acc = acc + m[base + 2 * j] * m[v + j];
      const t = m[B + k] * acc;
      for (let j = k + 1; j < n; j++) m[base + 2 * j] = m[base + 2 * j] - t * m[v + j];
    }
  }
}

/**
 * The sweeps (l, cnt) = (si[S + 2w], si[S + 2w + 1]), w < ns, with their rotations (c, s) at
 * m[CS + 2·(running index)], on every row i of Q: (Q_ik, Q_i,k+1) ← (c·Q_ik + s·Q_i,k+1, c·Q_i,k+1 − s·Q_ik).
 */
export function rotapply(m: Float64Array, si: Int32Array, Q: number, n: number, np: number, S: number, ns: number, CS: number): void {
  for (let i = 0; i < 2 * np; i++) {
    const base = Q + (i >> 1) * 2 * n + (i & 1);
    let cp = CS;
    for (let w = 0; w < ns; w++) {
      const l = si[S + 2 * w], cnt = si[S + 2 * w + 1];
      for (let k = l; k < l + cnt; k++) {
        const c = m[cp], s = m[cp + 1];
        cp += 2;
        const x = m[base + 2 * k], y = m[base + 2 * k + 2];
        m[base + 2 * k] = c * x + s * y;
        m[base + 2 * k + 2] = c * y - s * x;
      }
    }
  }
}

/** Q's row pairs back to row-major n×n at out (an odd n's padding row dropped). */
export function unpair(m: Float64Array, Q: number, n: number, np: number, out: number): void {
  for (let pi = 0; pi < np; pi++)
    for (let l = 0; l < 2 && 2 * pi + l < n; l++) {
      const base = Q + pi * 2 * n + l, dst = out + (2 * pi + l) * n;
      for (let j = 0; j < n; j++) m[dst + j] = m[base + 2 * j];
    }
}
