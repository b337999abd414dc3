// Scalar reference of the kernels (EMULATOR.md §14): the same operations in the same order as the
// f64x2 WebAssembly kernels (kernels.wat), over the same memory layout. The WASM kernels must give
// these bits (test/emulator-physics/kernels.test.ts); this is also the fallback where WebAssembly
// SIMD is unavailable. All offsets and lengths are in doubles.

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

/** Qᵀ update of one reflector: t_r = β·(Σ_j ascending Qᵀ_jr·v_j), then Qᵀ_jr = Qᵀ_jr − t_r·v_j. */
export function qacc(m: Float64Array, Q: number, n: number, k1: number, v: number, t: number, beta: number): void {
  m.fill(0, t, t + n);
  for (let j = k1; j < n; j++) {
    const vj = m[v + j];
    const row = Q + j * n;
    for (let r = 0; r < n; r++) m[t + r] = m[t + r] + m[row + r] * vj;
  }
  for (let r = 0; r < n; r++) m[t + r] = beta * m[t + r];
  for (let j = k1; j < n; j++) {
    const vj = m[v + j];
    const row = Q + j * n;
    for (let r = 0; r < n; r++) m[row + r] = m[row + r] - m[t + r] * vj;
  }
}

/** Givens rotation of Qᵀ rows k, k+1: (a, b) ← (c·a + s·b, c·b − s·a). */
export function rot(m: Float64Array, Q: number, n: number, k: number, c: number, s: number): void {
  const a = Q + k * n, b = a + n;
  for (let i = 0; i < n; i++) {
    const x = m[a + i], y = m[b + i];
    m[a + i] = c * x + s * y;
    m[b + i] = c * y - s * x;
  }
}

/** rot for k = l … l+cnt−1 with (c_k, s_k) = m[cs + 2(k − l)], m[cs + 2(k − l) + 1]. */
export function rotseq(m: Float64Array, Q: number, n: number, l: number, cnt: number, cs: number): void {
  for (let k = 0; k < cnt; k++) rot(m, Q, n, l + k, m[cs + 2 * k], m[cs + 2 * k + 1]);
}
