// Folding the core into the factor: scale·JᵀHJ = scale·UᵀU with U = Lᵀ J, H = L Lᵀ (pivoted
// Cholesky per block, cut at the numerical rank). The device then gets an identity core.
// Why: the softmax cross-entropy blocks diag(p) − ppᵀ are singular PSD; rounded to f32 or int16
// for a reduced-precision upload they turn slightly indefinite and the device refuses A as not
// positive definite. Rounding U instead keeps UᵀU PSD whatever the precision, and the rank cut
// drops ≥ 1 row per sample (r' ≤ b·(dz − 1)), so fewer bytes go over the link.
import { pivotedCholesky } from '../linalg/psd.ts';
import type { CurvatureFactors } from '../types.ts';

export function foldCore(f: CurvatureFactors, out?: Float64Array): CurvatureFactors {
  const { n, r, J, core } = f;
  if (core.kind === 'identity') return f;
  if (core.kind === 'diagonal') {
    const U = out && out.length >= r * n ? out.subarray(0, r * n) : new Float64Array(r * n);
    for (let i = 0; i < r; i++) {
      const s = Math.sqrt(core.d[i]);
      for (let j = 0; j < n; j++) U[i * n + j] = s * J[i * n + j];
    }
    return { n, r, J: U, core: { kind: 'identity' }, scale: f.scale };
  }
  const m = core.kind === 'block' ? core.dz : r;
  const blocks = core.kind === 'block' ? core.blocks : core.h;
  const nb = r / m;
  const U = out && out.length >= r * n ? out : new Float64Array(r * n);
  const work = new Float64Array(m * m);
  const cols = new Float64Array(m * m);
  const used = new Uint8Array(m);
  let rows = 0;
  for (let b = 0; b < nb; b++) {
    const { rank } = pivotedCholesky(blocks, m, b * m * m, undefined, undefined, work, cols, used);
    // row c of U_b = (column c of L)ᵀ · J_b
    for (let c = 0; c < rank; c++) {
      const o = rows * n;
      U.fill(0, o, o + n);
      for (let k = 0; k < m; k++) {
        const l = cols[c * m + k];
        if (l === 0) continue;
        const jo = (b * m + k) * n;
        for (let j = 0; j < n; j++) U[o + j] += l * J[jo + j];
      }
      rows++;
    }
  }
  return { n, r: rows, J: U.subarray(0, rows * n), core: { kind: 'identity' }, scale: f.scale };
}

/**
 * The block (or dense) core rebuilt as H′ = L Lᵀ from its rank-cut pivoted Cholesky factor, exactly
 * symmetric. The device checks each block with a Cholesky of H + εI, ε relative to the block's
 * largest diagonal; a near one-hot CE block (p ≈ 1 − 1e-12) has entries ~1e-12 computed with
 * absolute rounding ~1e-16, which that check rightly calls indefinite. H′ drops the directions
 * below the host's PSD floor (as NGD-Woodbury's factorisation does), so both see the same A.
 */
export function psdCore(f: CurvatureFactors): CurvatureFactors {
  const { core, r } = f;
  if (core.kind !== 'block' && core.kind !== 'dense') return f;
  const m = core.kind === 'block' ? core.dz : r;
  const src = core.kind === 'block' ? core.blocks : core.h;
  const dst = new Float64Array(src.length);
  const work = new Float64Array(m * m);
  const cols = new Float64Array(m * m);
  const used = new Uint8Array(m);
  for (let b = 0; b < r / m; b++) {
    const o = b * m * m;
    const { rank } = pivotedCholesky(src, m, o, undefined, undefined, work, cols, used);
    for (let i = 0; i < m; i++)
      for (let j = i; j < m; j++) {
        let acc = 0;
        for (let c = 0; c < rank; c++) acc += cols[c * m + i] * cols[c * m + j];
        dst[o + i * m + j] = acc;
        dst[o + j * m + i] = acc;
      }
  }
  return { ...f, core: core.kind === 'block' ? { kind: 'block', dz: m, blocks: dst } : { kind: 'dense', h: dst } };
}
