// Baseline for the emulator bench only: the factored spectral set-up of numerics version 1
// (main at cc40a6f): Gram K, an r×r eigendecomposition of K, r³ products read across columns and
// a second q×q eigendecomposition. Kept verbatim so the bench measures today's code against it in
// the same run (issue 11); not used by the emulator.
interface SymEigen {
  /** eigenvalues, in the (unsorted) order the QR iteration leaves them */
  values: Float64Array;
  /** n×n row-major, column j is the eigenvector of values[j] */
  vectors: Float64Array;
}

/** √(x² + y²) without overflow, from + − × ÷ √ only (Math.hypot varies between engines). */
function hypotDet(x: number, y: number): number {
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
export function symmetricEigenV1(a0: Float64Array, n: number): SymEigen {
  const A = Float64Array.from(a0.subarray(0, n * n));
  const Q = new Float64Array(n * n);
  for (let i = 0; i < n; i++) Q[i * n + i] = 1;
  const v = new Float64Array(n);
  const p = new Float64Array(n);
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
    for (let r = 0; r < n; r++) {
      let acc = 0;
      for (let j = k + 1; j < n; j++) acc = acc + Q[r * n + j] * v[j];
      const t = beta * acc;
      for (let j = k + 1; j < n; j++) Q[r * n + j] = Q[r * n + j] - t * v[j];
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
      for (let i = 0; i < n; i++) {
        const qk = Q[i * n + k];
        const qk1 = Q[i * n + k + 1];
        Q[i * n + k] = c * qk + s * qk1;
        Q[i * n + k + 1] = c * qk1 - s * qk;
      }
    }
  }
  return { values: d, vectors: Q };
}

/** Version-1 spectral data (q, eigenvalues, R) of s·JᵀHJ + λI for a dense r×r core C = s·H. */
export function spectralV1(J: Float64Array, n: number, r: number, C: Float64Array, lambda: number): { q: number; a: Float64Array; basis: Float64Array } {
  const rows = Array.from({ length: r }, (_, k) => J.subarray(k * n, k * n + n));
  const K = new Float64Array(r * r);
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
  const ek = symmetricEigenV1(K, r);
  let kmax = 0;
  for (let i = 0; i < r; i++) if (ek.values[i] > kmax) kmax = ek.values[i];
  const keep: number[] = [];
  for (let i = 0; i < r; i++) if (ek.values[i] > kmax * 9.094947017729282e-13) keep.push(i);
  const q = keep.length;
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
  const et = symmetricEigenV1(T, q);
  const R = new Float64Array(r * q);
  for (let a = 0; a < r; a++)
    for (let jj = 0; jj < q; jj++) {
      let acc = 0;
      for (let i = 0; i < q; i++) acc = acc + ek.vectors[a * r + keep[i]] * (et.vectors[i * q + jj] / sq[i]);
      R[a * q + jj] = acc;
    }
  const aEig = new Float64Array(q);
  for (let j = 0; j < q; j++) aEig[j] = lambda + et.values[j];
  return { q, a: aEig, basis: R };
}
