// Small deterministic dense kernels: symmetric eigendecomposition (Householder + implicit QR) and a Cholesky PD test.
// Loop orders are part of the bit-exact contract (firmware-spec/EMULATOR.md §Linear algebra).

export interface SymEigen {
  /** eigenvalues, in the (unsorted) order the QR iteration leaves them */
  values: Float64Array;
  /** n×n row-major, column j is the eigenvector of values[j] */
  vectors: Float64Array;
}

/** √(x² + y²) without overflow, from + − × ÷ √ only (Math.hypot varies between engines). */
export function hypotDet(x: number, y: number): number {
  const ax = Math.abs(x);
  const ay = Math.abs(y);
  const m = ax > ay ? ax : ay;
  if (m === 0) return 0;
  const u = ax / m;
  const v = ay / m;
  return m * Math.sqrt(u * u + v * v);
}

const EPS = 2.220446049250313e-16;

/**
 * Symmetric eigendecomposition (n×n row-major, not modified): Householder reduction to
 * tridiagonal form with accumulated reflectors, then implicit QR steps with Wilkinson shifts and
 * Givens rotations (Golub & Van Loan §8.3). O(10 n³); the order of every operation is fixed
 * (EMULATOR.md §9.2), so the result is bit-reproducible.
 */
export function symmetricEigen(a0: Float64Array, n: number): SymEigen {
  const A = Float64Array.from(a0.subarray(0, n * n));
  // Qᵀ is stored (row j = column j of Q) so that reflectors and rotations stream contiguous rows;
  // every entry still sees the operations of §9.2 in the same order.
  const Qt = new Float64Array(n * n);
  for (let i = 0; i < n; i++) Qt[i * n + i] = 1;
  const v = new Float64Array(n);
  const p = new Float64Array(n);
  const t = new Float64Array(n);
  for (let k = 0; k + 2 < n; k++) {
    let tail = 0;
    for (let i = k + 2; i < n; i++) tail = tail + A[i * n + k] * A[i * n + k];
    if (tail === 0) continue;
    const x0 = A[(k + 1) * n + k];
    const sigma = x0 * x0 + tail;
    const alpha = x0 >= 0 ? -Math.sqrt(sigma) : Math.sqrt(sigma);
    v[k + 1] = x0 - alpha;
    for (let i = k + 2; i < n; i++) v[i] = A[i * n + k];
    let vtv = 0;
    for (let i = k + 1; i < n; i++) vtv = vtv + v[i] * v[i];
    const beta = 2 / vtv;
    let pv = 0;
    for (let i = k + 1; i < n; i++) {
      let acc = 0;
      for (let j = k + 1; j < n; j++) acc = acc + A[i * n + j] * v[j];
      p[i] = beta * acc;
      pv = pv + p[i] * v[i];
    }
    const K = (beta / 2) * pv;
    for (let i = k + 1; i < n; i++) p[i] = p[i] - K * v[i]; // w
    for (let i = k + 1; i < n; i++)
      for (let j = k + 1; j < n; j++) A[i * n + j] = (A[i * n + j] - v[i] * p[j]) - p[i] * v[j];
    A[(k + 1) * n + k] = alpha;
    A[k * n + k + 1] = alpha;
    for (let i = k + 2; i < n; i++) {
      A[i * n + k] = 0;
      A[k * n + i] = 0;
    }
    // Q ← Q(I − β v vᵀ) on the transposed store: t_r = β·(Σ_j ascending Qᵀ_jr·v_j), all r at once.
    t.fill(0);
    for (let j = k + 1; j < n; j++) {
      const vj = v[j];
      const row = j * n;
      for (let r = 0; r < n; r++) t[r] = t[r] + Qt[row + r] * vj;
    }
    for (let r = 0; r < n; r++) t[r] = beta * t[r];
    for (let j = k + 1; j < n; j++) {
      const vj = v[j];
      const row = j * n;
      for (let r = 0; r < n; r++) Qt[row + r] = Qt[row + r] - t[r] * vj;
    }
  }
  const d = new Float64Array(n);
  const e = new Float64Array(n); // e[i] couples i and i+1
  for (let i = 0; i < n; i++) d[i] = A[i * n + i];
  for (let i = 0; i + 1 < n; i++) e[i] = A[(i + 1) * n + i];

  let m = n - 1;
  let iterations = 0;
  while (m > 0) {
    if (Math.abs(e[m - 1]) <= EPS * (Math.abs(d[m - 1]) + Math.abs(d[m]))) {
      e[m - 1] = 0;
      m--;
      continue;
    }
    let l = m - 1;
    while (l > 0 && !(Math.abs(e[l - 1]) <= EPS * (Math.abs(d[l - 1]) + Math.abs(d[l])))) l--;
    if (l > 0) e[l - 1] = 0;
    if (++iterations > 60 * n) throw new Error('symmetricEigen: no convergence');
    // Wilkinson shift from the trailing 2×2 of the block l..m.
    const dd = (d[m - 1] - d[m]) / 2;
    const bm = e[m - 1];
    const den = dd >= 0 ? dd + hypotDet(dd, bm) : dd - hypotDet(dd, bm);
    const mu = d[m] - (bm * bm) / den;
    let x = d[l] - mu;
    let z = e[l];
    for (let k = l; k < m; k++) {
      const r = hypotDet(x, z);
      const c = r === 0 ? 1 : x / r;
      const s = r === 0 ? 0 : z / r;
      if (k > l) e[k - 1] = r;
      const al = d[k], be = e[k], ga = d[k + 1];
      const cs = c * s;
      d[k] = ((c * c) * al + (2 * cs) * be) + (s * s) * ga;
      d[k + 1] = ((s * s) * al - (2 * cs) * be) + (c * c) * ga;
      e[k] = cs * (ga - al) + (c * c - s * s) * be;
      if (k + 1 < m) {
        const de = e[k + 1];
        z = s * de;
        e[k + 1] = c * de;
        x = e[k];
      }
      const rk = k * n;
      const rk1 = rk + n;
      for (let i = 0; i < n; i++) {
        const qk = Qt[rk + i];
        const qk1 = Qt[rk1 + i];
        Qt[rk + i] = c * qk + s * qk1;
        Qt[rk1 + i] = c * qk1 - s * qk;
      }
    }
  }
  const Q = new Float64Array(n * n);
  for (let i = 0; i < n; i++) for (let j = 0; j < n; j++) Q[i * n + j] = Qt[j * n + i];
  return { values: d, vectors: Q };
}

/** True when the symmetric n×n matrix admits a Cholesky factor with positive pivots. */
export function isPositiveDefinite(a: Float64Array, n: number): boolean {
  const l = new Float64Array(n * n);
  for (let j = 0; j < n; j++) {
    let d = a[j * n + j];
    for (let k = 0; k < j; k++) d = d - l[j * n + k] * l[j * n + k];
    if (!(d > 0)) return false;
    const ljj = Math.sqrt(d);
    l[j * n + j] = ljj;
    for (let i = j + 1; i < n; i++) {
      let s = a[i * n + j];
      for (let k = 0; k < j; k++) s = s - l[i * n + k] * l[j * n + k];
      l[i * n + j] = s / ljj;
    }
  }
  return true;
}
