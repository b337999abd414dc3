// Kronecker factors of the curvature per dense layer, for K-FAC (Martens & Grosse 2015).
// Layer l with weights W̄ = [W | bias] (nOut × (nIn+1)) and inputs ā = [a; 1]: its block of the
// batch curvature (1/b) Σ_i (ā_i ā_iᵀ) ⊗ S_i is approximated by A ⊗ G with
//   A = (1/b) Σ_i ā_i ā_iᵀ                       ((nIn+1) × (nIn+1))
//   G = (1/b) Σ_i S_i                            (nOut × nOut)
// where S_i is, per the chosen output sensitivities,
//   'ggn'      D_iᵀ H_i D_i   (D_i = ∂z_i/∂s_l, dz × nOut; H_i the loss Hessian in z): the exact
//              GGN statistic, deterministic (the "KFLR" variant, Botev et al. 2017);
//   'sampled'  δ_i δ_iᵀ       (δ_i = D_iᵀ(∇_z ℓ(z_i, ŷ_i)) with ŷ_i drawn from the model's
//              predictive distribution: the Monte-Carlo Fisher of the K-FAC paper), whose
//              expectation over ŷ equals the 'ggn' statistic for CE and MSE.
// Exact (A ⊗ G equals the layer's curvature block) when b = 1, or when every S_i is the same
// (a linear model under MSE: S_i = I).
import type { KroneckerLayer, KfacSensitivities, SampleSource } from '../types.ts';
import type { Model } from '../models/model.ts';
import { lossHessianBlocks, softmaxRows, type LossKind } from '../models/losses.ts';

export function buildKroneckerFactors(
  model: Model,
  params: Float64Array,
  X: Float64Array,
  b: number,
  loss: LossKind,
  mode: KfacSensitivities,
  rng?: SampleSource,
): KroneckerLayer[] {
  if (!model.denseLayerTrace) throw new RangeError(`${model.name}: K-FAC needs per-layer inputs and sensitivities, which this model does not provide`);
  const dz = model.outputDim;
  const z = model.forward(params, X, b);
  let seeds: Float64Array;
  let m: number;
  if (mode === 'ggn') {
    m = dz;
    seeds = new Float64Array(b * dz * dz);
    for (let r = 0; r < b * dz; r++) seeds[r * dz + (r % dz)] = 1;
  } else {
    if (!rng) throw new RangeError("K-FAC 'sampled' sensitivities need a random source");
    m = 1;
    seeds = sampledSeeds(z, b, dz, loss, rng);
  }
  const traces = model.denseLayerTrace(params, X, b, seeds, m);
  const H = mode === 'ggn' && loss !== 'mse' ? lossHessianBlocks(loss, z, b, dz) : null;
  return traces.map((t) => {
    const { nIn, nOut } = t;
    const na = nIn + 1;
    const A = new Float64Array(na * na);
    const abar = new Float64Array(na);
    for (let i = 0; i < b; i++) {
      abar.set(t.inputs.subarray(i * nIn, (i + 1) * nIn));
      abar[nIn] = 1;
      addOuter(A, abar, na, 1 / b);
    }
    const G = new Float64Array(nOut * nOut);
    const D = t.sensitivities;
    if (mode === 'sampled' || H === null) {
      // Σ over all seed rows of δ δᵀ: sampled rows, or for MSE (H_i = I) the dz rows of D_i
      for (let r = 0; r < b * m; r++) addOuter(G, D.subarray(r * nOut, (r + 1) * nOut), nOut, 1 / b);
    } else {
      const hd = new Float64Array(nOut);
      for (let i = 0; i < b; i++) {
        const Hi = H.subarray(i * dz * dz, (i + 1) * dz * dz);
        const Di = D.subarray(i * dz * nOut, (i + 1) * dz * nOut);
        // G += (1/b) Σ_k (D_iᵀ)_k (H_i D_i)_k, with (H_i D_i)_k the k-th row of H_i D_i
        for (let k = 0; k < dz; k++) {
          hd.fill(0);
          for (let l = 0; l < dz; l++) {
            const h = Hi[k * dz + l];
            if (h === 0) continue;
            for (let o = 0; o < nOut; o++) hd[o] += h * Di[l * nOut + o];
          }
          for (let o = 0; o < nOut; o++) {
            const c = Di[k * nOut + o] / b;
            if (c === 0) continue;
            const go = o * nOut;
            for (let p = 0; p < nOut; p++) G[go + p] += c * hd[p];
          }
        }
      }
      symmetrize(G, nOut);
    }
    return { nIn, nOut, wOff: t.wOff, bOff: t.bOff, A, G };
  });
}

/** Output seeds ∇_z ℓ(z_i, ŷ_i) with ŷ_i ~ p(y | z_i): CE p_i − e_ŷ; MSE (ŷ = z + ε) −ε, ε ~ N(0, I). */
function sampledSeeds(z: Float64Array, b: number, dz: number, loss: LossKind, rng: SampleSource): Float64Array {
  const seeds = new Float64Array(b * dz);
  if (loss === 'mse') {
    for (let i = 0; i < b * dz; i++) seeds[i] = -rng.normal();
    return seeds;
  }
  const p = softmaxRows(z, b, dz);
  for (let i = 0; i < b; i++) {
    const u = rng.uniform();
    let acc = 0;
    let y = dz - 1;
    for (let k = 0; k < dz; k++) {
      acc += p[i * dz + k];
      if (u < acc) {
        y = k;
        break;
      }
    }
    for (let k = 0; k < dz; k++) seeds[i * dz + k] = p[i * dz + k] - (k === y ? 1 : 0);
  }
  return seeds;
}

function addOuter(M: Float64Array, v: Float64Array, n: number, w: number): void {
  for (let i = 0; i < n; i++) {
    const c = v[i] * w;
    if (c === 0) continue;
    const o = i * n;
    for (let j = 0; j < n; j++) M[o + j] += c * v[j];
  }
}

function symmetrize(M: Float64Array, n: number): void {
  for (let i = 0; i < n; i++)
    for (let j = i + 1; j < n; j++) {
      const s = 0.5 * (M[i * n + j] + M[j * n + i]);
      M[i * n + j] = s;
      M[j * n + i] = s;
    }
}
