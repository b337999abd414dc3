// The encoder's numerical kernels: dense rows, their reverse, the LoRA adapter reverse, layer norm
// and GELU. Flat loops over Float64Array with a fixed operation order.

const LN_EPS = 1e-5;
const GELU_C = Math.sqrt(2 / Math.PI);

/** GELU, tanh form (Hendrycks & Gimpel), and its derivative. */
export function gelu(x: number): number {
  return 0.5 * x * (1 + Math.tanh(GELU_C * (x + 0.044715 * x * x * x)));
}
export function geluGrad(x: number): number {
  const t = Math.tanh(GELU_C * (x + 0.044715 * x * x * x));
  return 0.5 * (1 + t) + 0.5 * x * (1 - t * t) * GELU_C * (1 + 3 * 0.044715 * x * x);
}

/** Y[t] = W X[t] (+ bias) for the rows t = rows[0 … R−1]; W is nOut × nIn at wOff. */
export function linear(W: Float64Array, wOff: number, B: Float64Array | null, bOff: number, X: Float64Array, rows: Int32Array, R: number, nIn: number, nOut: number, Y: Float64Array): void {
  for (let i = 0; i < R; i++) {
    const t = rows[i];
    const xo = t * nIn;
    const yo = t * nOut;
    for (let o = 0; o < nOut; o++) {
      const wo = wOff + o * nIn;
      let acc = B ? B[bOff + o] : 0;
      for (let j = 0; j < nIn; j++) acc += W[wo + j] * X[xo + j];
      Y[yo + o] = acc;
    }
  }
}

/**
 * Reverse of Y = W X + b over rows t < n of one sample: dX[t] += Wᵀ dY[t] (dY, dX indexed from 0),
 * and into g (when given) dW += dY Xᵀ, db += dY. X is read at global rows row0 + t.
 */
export function linearBack(dY: Float64Array, W: Float64Array, wOff: number, X: Float64Array, row0: number, n: number, nIn: number, nOut: number, dX: Float64Array, g: Float64Array | null, gW: number, gB: number): void {
  for (let t = 0; t < n; t++) {
    const yo = t * nOut;
    const xo = (row0 + t) * nIn;
    const dxo = t * nIn;
    for (let o = 0; o < nOut; o++) {
      const dy = dY[yo + o];
      if (dy === 0) continue;
      const wo = wOff + o * nIn;
      for (let j = 0; j < nIn; j++) dX[dxo + j] += dy * W[wo + j];
      if (g) {
        g[gB + o] += dy;
        const go = gW + o * nIn;
        for (let j = 0; j < nIn; j++) g[go + j] += dy * X[xo + j];
      }
    }
  }
}

/** Adapter reverse for y = (α/ρ)·B·(A x): dB += s·dy·(Ax)ᵀ, dA += s·(Bᵀdy)·xᵀ. */
export function adapterBack(dY: Float64Array, U: Float64Array, X: Float64Array, row0: number, n: number, d: number, rho: number, lora: Float64Array, bOff: number, sc: number, g: Float64Array, gA: number, gB: number, bdy: Float64Array): void {
  for (let t = 0; t < n; t++) {
    const yo = t * d;
    const uo = (row0 + t) * rho;
    const xo = (row0 + t) * d;
    bdy.fill(0, 0, rho);
    for (let i = 0; i < d; i++) {
      const dy = sc * dY[yo + i];
      if (dy === 0) continue;
      for (let k = 0; k < rho; k++) {
        g[gB + i * rho + k] += dy * U[uo + k];
        bdy[k] += dy * lora[bOff + i * rho + k];
      }
    }
    for (let k = 0; k < rho; k++) {
      const v = bdy[k];
      if (v === 0) continue;
      const go = gA + k * d;
      for (let j = 0; j < d; j++) g[go + j] += v * X[xo + j];
    }
  }
}

/** Y += X on the given rows (d wide). */
export function addRows(Y: Float64Array, X: Float64Array, rows: Int32Array, R: number, d: number): void {
  for (let i = 0; i < R; i++) {
    const o = rows[i] * d;
    for (let j = 0; j < d; j++) Y[o + j] += X[o + j];
  }
}

/** Y = γ ⊙ (x − μ)/σ + β on the given rows; keeps x̂ and 1/σ. */
export function layerNorm(X: Float64Array, rows: Int32Array, R: number, d: number, P: Float64Array, gOff: number, bOff: number, xhat: Float64Array, rstd: Float64Array, Y: Float64Array): void {
  for (let i = 0; i < R; i++) {
    const t = rows[i];
    const o = t * d;
    let m = 0;
    for (let j = 0; j < d; j++) m += X[o + j];
    m /= d;
    let v = 0;
    for (let j = 0; j < d; j++) {
      const c = X[o + j] - m;
      v += c * c;
    }
    const r = 1 / Math.sqrt(v / d + LN_EPS);
    rstd[t] = r;
    for (let j = 0; j < d; j++) {
      const xh = (X[o + j] - m) * r;
      xhat[o + j] = xh;
      Y[o + j] = P[gOff + j] * xh + P[bOff + j];
    }
  }
}

/**
 * Reverse of layerNorm over rows t < n of one sample (dY from dyOff): writes (accumulate=false)
 * or adds (true) dX into dX[t·d …]; dγ, dβ into g when given.
 */
export function layerNormBack(dY: Float64Array, dyOff: number, xhat: Float64Array, rstd: Float64Array, row0: number, n: number, d: number, P: Float64Array, gOff: number, dX: Float64Array, g: Float64Array | null, gG: number, gB: number, accumulate: boolean): void {
  for (let t = 0; t < n; t++) {
    const yo = dyOff + t * d;
    const xo = (row0 + t) * d;
    let m1 = 0;
    let m2 = 0;
    for (let j = 0; j < d; j++) {
      const dxh = dY[yo + j] * P[gOff + j];
      m1 += dxh;
      m2 += dxh * xhat[xo + j];
    }
    m1 /= d;
    m2 /= d;
    const r = rstd[row0 + t];
    const o = t * d;
    for (let j = 0; j < d; j++) {
      const dy = dY[yo + j];
      const v = r * (dy * P[gOff + j] - m1 - xhat[xo + j] * m2);
      if (accumulate) dX[o + j] += v;
      else dX[o + j] = v;
      if (g) {
        g[gG + j] += dy * xhat[xo + j];
        g[gB + j] += dy;
      }
    }
  }
}
