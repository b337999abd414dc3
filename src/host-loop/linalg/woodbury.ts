// Solves (λI + scale·Jᵀ H J) x = v through the r×r capacitance matrix.
//
// With H = L Lᵀ (pivoted Cholesky per block, so singular PSD blocks are fine) set U = √scale·Lᵀ J
// (k×N, k = numerical rank ≤ r). Then A = λI + UᵀU and
//     A⁻¹v = λ⁻¹ (v − Uᵀ (λI_k + U Uᵀ)⁻¹ U v),
// where K = λI_k + U Uᵀ is SPD with eigenvalues in [λ, λ + ‖U‖²] — no H⁻¹ is ever needed, unlike
// the textbook form λ⁻¹v − λ⁻² Uᵀ(H⁻¹ + …)⁻¹… . Factor: O(k²N + k³); each solve: O(kN + k²).
import type { CurvatureFactors } from '../types.ts';
import { choleskyInPlace, choleskySolve } from './dense.ts';
import { NotPsdError, ShapeError } from './errors.ts';
import { validateFactors } from './factored.ts';
import { PSD_ABS_TOL, pivotedCholesky } from './psd.ts';

export class WoodburySolver {
  private n = 0;
  private k = 0;
  private lambda = 1;
  private u = new Float64Array(0);
  private kmat = new Float64Array(0);
  private t = new Float64Array(0);

  /** numerical rank k of the factor U after dropping the null space of H */
  get rank(): number {
    return this.k;
  }

  /** Prepares the solver for new factors; buffers are reused when large enough. */
  factor(f: CurvatureFactors, lambda: number): void {
    validateFactors(f);
    if (!(lambda > 0) || !Number.isFinite(lambda)) throw new ShapeError(`Woodbury needs damping λ > 0, got ${lambda}`);
    const { n, r, J, core, scale } = f;
    this.n = n;
    this.lambda = lambda;
    if (this.u.length < r * n) this.u = new Float64Array(r * n);
    const u = this.u;
    const rs = Math.sqrt(scale);
    let k = 0;
    // U row ← c · Σ_i l_i J_row(rowStart + i)
    const addRow = (coef: Float64Array, coefOffset: number, rowStart: number, len: number, c: number): void => {
      const dst = k * n;
      u.fill(0, dst, dst + n);
      for (let i = 0; i < len; i++) {
        const w = c * coef[coefOffset + i];
        if (w === 0) continue;
        const src = (rowStart + i) * n;
        for (let j = 0; j < n; j++) u[dst + j] += w * J[src + j];
      }
      k++;
    };
    if (scale > 0) {
      switch (core.kind) {
        case 'identity':
          for (let i = 0; i < r * n; i++) u[i] = rs * J[i];
          k = r;
          break;
        case 'diagonal': {
          let dmax = 0;
          for (let i = 0; i < r; i++) dmax = Math.max(dmax, Math.abs(core.d[i]));
          const tol = Math.max(1e-12 * dmax, PSD_ABS_TOL);
          for (let i = 0; i < r; i++) {
            const d = core.d[i];
            if (d < -8 * tol) throw new NotPsdError(`diagonal core entry ${i} is negative (${d})`);
            if (d <= tol) continue;
            const c = rs * Math.sqrt(d);
            const dst = k * n;
            const src = i * n;
            for (let j = 0; j < n; j++) u[dst + j] = c * J[src + j];
            k++;
          }
          break;
        }
        case 'block': {
          const dz = core.dz;
          const work = new Float64Array(dz * dz);
          const cols = new Float64Array(dz * dz);
          const used = new Uint8Array(dz);
          for (let b0 = 0; b0 < r; b0 += dz) {
            const pf = pivotedCholesky(core.blocks, dz, b0 * dz, 1e-12, PSD_ABS_TOL, work, cols, used);
            for (let c = 0; c < pf.rank; c++) addRow(pf.cols, c * dz, b0, dz, rs);
          }
          break;
        }
        case 'dense': {
          const pf = pivotedCholesky(core.h, r);
          for (let c = 0; c < pf.rank; c++) addRow(pf.cols, c * r, 0, r, rs);
          break;
        }
      }
    }
    this.k = k;
    if (this.kmat.length < k * k) this.kmat = new Float64Array(k * k);
    if (this.t.length < k) this.t = new Float64Array(k);
    const km = this.kmat;
    for (let a = 0; a < k; a++) {
      const ra = a * n;
      for (let b = 0; b <= a; b++) {
        const rb = b * n;
        let s = 0;
        for (let j = 0; j < n; j++) s += u[ra + j] * u[rb + j];
        km[a * k + b] = s;
        km[b * k + a] = s;
      }
      km[a * k + a] += lambda;
    }
    choleskyInPlace(km, k, 'Woodbury capacitance matrix λI + U Uᵀ');
  }

  /** out = A⁻¹ v; out may alias v. */
  solve(v: Float64Array, out: Float64Array): void {
    const { n, k, u, t } = this;
    if (v.length !== n || out.length !== n) throw new ShapeError(`Woodbury solve expects vectors of length ${n}`);
    for (let a = 0; a < k; a++) {
      const ra = a * n;
      let s = 0;
      for (let j = 0; j < n; j++) s += u[ra + j] * v[j];
      t[a] = s;
    }
    choleskySolve(this.kmat, k, t, t);
    if (out !== v) for (let j = 0; j < n; j++) out[j] = v[j];
    for (let a = 0; a < k; a++) {
      const ta = t[a];
      if (ta === 0) continue;
      const ra = a * n;
      for (let j = 0; j < n; j++) out[j] -= ta * u[ra + j];
    }
    const inv = 1 / this.lambda;
    for (let j = 0; j < n; j++) out[j] *= inv;
  }
}
