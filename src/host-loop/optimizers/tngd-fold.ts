// Folding the core into the factor: scale·JᵀHJ = scale·UᵀU with U = Lᵀ J, H = L Lᵀ (pivoted
// Cholesky per block, cut at the numerical rank). The device then gets an identity core.
// Why: the softmax cross-entropy blocks diag(p) − ppᵀ are singular PSD; rounded to f32 or int16
// for a reduced-precision upload they turn slightly indefinite and the device refuses A as not
// positive definite. Rounding U instead keeps UᵀU PSD whatever the precision, and the rank cut
// drops ≥ 1 row per sample (r' ≤ b·(dz − 1)), so fewer bytes go over the link.
import { expandLayered } from '../linalg/layered.ts';
import { pivotedCholesky } from '../linalg/psd.ts';
import type { BatchOracle, BufferPool, CoreMatrix, CurvatureFactors, CurvatureKind, LayerBlock, LayeredFactors } from '../types.ts';

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
export function psdCore<F extends { r: number; core: CoreMatrix }>(f: F): F {
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

/**
 * foldCore for layered factors: each sample's m rows (D of dense layers, rows of explicit blocks)
 * are combined by that sample's Lᵀ, the inputs A are unchanged. Every sample keeps m′ = the
 * largest rank of any block rows (lower-rank samples are padded with zero rows, which add nothing
 * to A), so r′ = b·m′ and rows still map to samples by ⌊ρ/m′⌋. Null when the core has no
 * per-sample blocks (a dense core, or blocks that do not match the samples): fold explicitly then.
 */
export function foldLayered(f: LayeredFactors, pool: BufferPool): LayeredFactors | null {
  const { r, b, core } = f;
  const m = r / b;
  if (core.kind === 'identity') return f;
  if (core.kind === 'dense' || (core.kind === 'block' && core.dz !== m)) return null;
  // per sample: the columns of its L (m × rank), as coefficient rows of the new factor
  const ranks = new Int32Array(b);
  const Ls = new Float64Array(b * m * m);
  if (core.kind === 'diagonal') {
    for (let s = 0; s < b; s++) {
      for (let c = 0; c < m; c++) Ls[s * m * m + c * m + c] = Math.sqrt(Math.max(0, core.d[s * m + c]));
      ranks[s] = m;
    }
  } else {
    const work = new Float64Array(m * m);
    const cols = new Float64Array(m * m);
    const used = new Uint8Array(m);
    for (let s = 0; s < b; s++) {
      const { rank } = pivotedCholesky(core.blocks, m, s * m * m, undefined, undefined, work, cols, used);
      ranks[s] = rank;
      Ls.set(cols.subarray(0, rank * m), s * m * m);
    }
  }
  let mp = 0;
  for (let s = 0; s < b; s++) mp = Math.max(mp, ranks[s]);
  mp = Math.max(mp, 1);
  const rp = b * mp;
  // new row (s, c) = Σ_k L_s[k, c] · old row (s·m + k), for rows of width w in `src`
  const combine = (src: Float64Array, w: number, dst: Float64Array): void => {
    dst.fill(0, 0, rp * w);
    for (let s = 0; s < b; s++)
      for (let c = 0; c < ranks[s]; c++) {
        const o = (s * mp + c) * w;
        for (let k = 0; k < m; k++) {
          const l = Ls[s * m * m + c * m + k];
          if (l === 0) continue;
          const so = (s * m + k) * w;
          for (let j = 0; j < w; j++) dst[o + j] += l * src[so + j];
        }
      }
  };
  const layers: LayerBlock[] = f.layers.map((l, i) => {
    if (l.kind === 'explicit') {
      const J = pool.take(`fold:J${i}`, rp * l.cols);
      combine(l.J, l.cols, J);
      return { kind: 'explicit', cols: l.cols, J };
    }
    const D = pool.take(`fold:D${i}`, rp * l.nOut);
    combine(l.D, l.nOut, D);
    return { ...l, D };
  });
  return { n: f.n, r: rp, b, layers, core: { kind: 'identity' }, scale: f.scale };
}

/**
 * The layered factors of a batch as TNGD uploads them: core 'block' keeps the H blocks
 * (PSD-rebuilt, as psdCore); 'auto' and 'folded' fold them into D at any precision — the blocks
 * then need no wire space and the rank cut drops a row per sample (r′ = b·(d_z − 1) for CE): fewer
 * numbers, the same A. The batch oracle folds in the reverse pass itself; factors from elsewhere
 * are folded here (per layer, or explicitly for a core without per-sample blocks).
 */
export function layeredUpload(batch: BatchOracle, kind: CurvatureKind, core: 'auto' | 'block' | 'folded', pool: BufferPool): LayeredFactors | CurvatureFactors {
  if (!batch.layered) throw new RangeError('layeredUpload: the batch has no layered factors');
  if (core === 'block') return psdCore(batch.layered(kind, 'block'));
  const f = batch.layered(kind, 'folded');
  if (f.core.kind === 'identity') return f;
  return foldLayered(f, pool) ?? foldCore(expandLayered(f));
}
