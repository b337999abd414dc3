// Exact integrator: per-mode joint Gaussian law of (final state, sample average) in the
// eigenbasis of A, mapped back without forming N×N (factored) — EMULATOR.md §Exact integrator.
import { DOMAIN, fillGaussians } from './philox.ts';
import { modeLaw, type ModeLaw, type SegmentPlan } from './ou.ts';
import type { DenseCoupling, FactoredCoupling } from './couplings.ts';
import type { Spectral } from './spectral.ts';

export interface ExactScratch {
  /** ≥ 2·maxCells */
  z: Float64Array;
  /** ≥ maxCells each */
  w1: Float64Array;
  w2: Float64Array;
}

export interface NoiseAddress {
  k0: number;
  k1: number;
  /** counter word c1: segment id */
  segment: number;
  /** counter word c2: run index */
  run: number;
}

const law: ModeLaw = { cT: 0, cS: 0, L11: 0, L21: 0, L22: 0 };

/**
 * Draws the final state into outFinal (and, when plan.m > 0 and outMean is given, the average of
 * the plan's samples into outMean) for dx = −(Ax − g)dt + √(2κ) dW started at x0.
 * outFinal may alias x0.
 */
export function exactDense(
  op: DenseCoupling, g: Float64Array, x0: Float64Array, kappa: number, plan: SegmentPlan,
  addr: NoiseAddress, s: ExactScratch, outFinal: Float64Array, outMean: Float64Array | null,
): void {
  const n = op.n;
  const sp = op.getSpectral();
  const Q = sp.basis;
  const z = s.z;
  if (kappa > 0) fillGaussians(z, 2 * n, addr.k0, addr.k1, addr.segment, addr.run, DOMAIN.exactModes);
  else z.fill(0, 0, 2 * n);
  const fT = s.w1;
  const fM = s.w2;
  for (let i = 0; i < n; i++) {
    let xq = 0;
    let gq = 0;
    for (let j = 0; j < n; j++) {
      const qji = Q[j * n + i];
      xq = xq + qji * x0[j];
      gq = gq + qji * g[j];
    }
    const a = sp.a[i];
    modeLaw(a, kappa, plan, law);
    const m = gq / a;
    const u0 = xq - m;
    const uT = law.cT * u0 + law.L11 * z[2 * i];
    fT[i] = m + uT;
    if (plan.m > 0) {
      const S = (law.cS * u0 + law.L21 * z[2 * i]) + law.L22 * z[2 * i + 1];
      fM[i] = m + S / plan.m;
    }
  }
  for (let j = 0; j < n; j++) {
    let accT = 0;
    let accM = 0;
    const row = j * n;
    for (let i = 0; i < n; i++) {
      accT = accT + Q[row + i] * fT[i];
      if (outMean) accM = accM + Q[row + i] * fM[i];
    }
    outFinal[j] = accT;
    if (outMean && plan.m > 0) outMean[j] = accM;
  }
}

export interface FactoredScratch extends ExactScratch {
  /** ≥ 2·maxRank */
  jr: Float64Array;
}

/**
 * Factored A = λI + U diag(μ) Uᵀ, U = JᵀR; complement of span(U) has eigenvalue λ. The passes over
 * J run in the factor's kernel store (one J·(x₀, g, w1, w2) pass, one or two Jᵀ·ρ passes).
 */
export function exactFactored(
  op: FactoredCoupling, g: Float64Array, x0: Float64Array, kappa: number, plan: SegmentPlan,
  addr: NoiseAddress, s: FactoredScratch, outFinal: Float64Array, outMean: Float64Array | null,
): void {
  const { n, r, lambda } = op;
  const sp = op.getSpectral();
  const q = sp.q;
  const wantMean = outMean !== null && plan.m > 0;
  const st = op.store;
  const w1 = st.vw1;
  const w2 = st.vw2;
  const z = s.z;
  if (kappa > 0) {
    st.ops.gauss(st.quad + 2 * n, n, addr.k0, addr.k1, addr.segment, addr.run, DOMAIN.exactComplement1, 0);
    if (wantMean) st.ops.gauss(st.quad + 3 * n, n, addr.k0, addr.k1, addr.segment, addr.run, DOMAIN.exactComplement2, 0);
    else w2.fill(0, 0, n);
    fillGaussians(z, 2 * q, addr.k0, addr.k1, addr.segment, addr.run, DOMAIN.exactModes);
  } else {
    w1.fill(0, 0, n);
    w2.fill(0, 0, n);
    z.fill(0, 0, 2 * q);
  }
  // J·v for v ∈ {x0, g, w1, w2}, one pass over J (x0 copied first: outFinal may alias it).
  st.vx.set(x0.subarray(0, n));
  st.holdG(g);
  st.ops.jx4(st.P, st.np, n, st.quad, st.j4);
  const m = st.m;
  const o = st.j4, ps = 2 * st.np;
  const jr = s.jr;
  const rF = jr.subarray(0, r), rM = jr.subarray(r, 2 * r);
  const perp = factoredModes(sp, r, lambda, kappa, plan, z, m.subarray(o, o + r), m.subarray(o + ps, o + ps + r), m.subarray(o + 2 * ps, o + 2 * ps + r), m.subarray(o + 3 * ps, o + 3 * ps + r), wantMean, rF, rM);
  complementState(n, g, st.vx, w1, w2, lambda, perp, plan.m, wantMean, outFinal, outMean);
  const acc = st.vout;
  st.vw.set(rF);
  st.jtwSlot();
  for (let i = 0; i < n; i++) outFinal[i] = outFinal[i] + acc[i];
  if (wantMean) {
    st.vw.set(rM);
    st.jtwSlot();
    for (let i = 0; i < n; i++) outMean![i] = outMean![i] + acc[i];
  }
}

/**
 * The middle of the factored exact integrator (EMULATOR.md §9.2), shared by every form of J: from
 * the r-vectors J·x₀, J·g, J·w1, J·w2, the mode coefficients of the two U-corrections and
 * ρ = R·c into rF (final) and rM (mean). Returns the law of the complement (eigenvalue λ).
 */
export function factoredModes(
  sp: Spectral, r: number, lambda: number, kappa: number, plan: SegmentPlan, z: Float64Array,
  jx: Float64Array, jg: Float64Array, j1: Float64Array, j2: Float64Array, wantMean: boolean,
  rF: Float64Array, rM: Float64Array,
): ModeLaw {
  const q = sp.q;
  const R = sp.basis;
  const perp: ModeLaw = { cT: 0, cS: 0, L11: 0, L21: 0, L22: 0 };
  modeLaw(lambda, kappa, plan, perp);
  const M = plan.m;
  const cF = new Float64Array(q);
  const cM = new Float64Array(q);
  for (let j = 0; j < q; j++) {
    let xu = 0, gu = 0, u1 = 0, u2 = 0;
    for (let k = 0; k < r; k++) {
      const rk = R[k * q + j];
      xu = xu + rk * jx[k];
      gu = gu + rk * jg[k];
      u1 = u1 + rk * j1[k];
      u2 = u2 + rk * j2[k];
    }
    const a = sp.a[j];
    modeLaw(a, kappa, plan, law);
    const mj = gu / a;
    const u0 = xu - mj;
    const uT = law.cT * u0 + law.L11 * z[2 * j];
    const gl = gu / lambda;
    cF[j] = ((mj - gl) + uT) - (perp.cT * (xu - gl) + perp.L11 * u1);
    if (wantMean) {
      const S = (law.cS * u0 + law.L21 * z[2 * j]) + law.L22 * z[2 * j + 1];
      const Sp = (perp.cS * (xu - gl) + perp.L21 * u1) + perp.L22 * u2;
      cM[j] = (mj - gl) + (S - Sp) / M;
    }
  }
  for (let k = 0; k < r; k++) {
    let af = 0, am = 0;
    for (let j = 0; j < q; j++) {
      af = af + R[k * q + j] * cF[j];
      am = am + R[k * q + j] * cM[j];
    }
    rF[k] = af;
    rM[k] = am;
  }
  return perp;
}

/** The full-space complement term of the factored exact integrator (before Jᵀρ is added). */
export function complementState(
  n: number, g: Float64Array, xs: Float64Array, w1: Float64Array, w2: Float64Array, lambda: number,
  perp: ModeLaw, M: number, wantMean: boolean, outFinal: Float64Array, outMean: Float64Array | null,
): void {
  for (let i = 0; i < n; i++) {
    const gl = g[i] / lambda;
    const d = xs[i] - gl;
    if (wantMean) outMean![i] = gl + ((perp.cS * d + perp.L21 * w1[i]) + perp.L22 * w2[i]) / M;
    outFinal[i] = gl + (perp.cT * d + perp.L11 * w1[i]);
  }
}
