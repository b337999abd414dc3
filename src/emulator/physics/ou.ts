// Exact joint law of one scalar OU mode du = −a u dt + √(2κ) dW over a readout segment:
// the final value u_T and the sum S of m samples taken every Δ after an unsampled lead-in.
// Built by composing segment statistics with binary powering (only sums of non-negative terms,
// so no cancellation for small aΔ). See EMULATOR.md §Exact integrator.
import { expDet, oneMinusExpNeg } from './detmath.ts';

export interface SegmentPlan {
  /** unsampled lead-in before the first sample step, τ */
  pre: number;
  /** sample period Δ, τ */
  dt: number;
  /** number of samples m (0 = transition only over `pre`) */
  m: number;
  /** unsampled tail after the last sample, τ */
  post: number;
}

/** Law coefficients: u_T = cT·u0 + L11 z1;  S = (cS·u0 + L21 z1) + L22 z2. */
export interface ModeLaw {
  cT: number;
  cS: number;
  L11: number;
  L21: number;
  L22: number;
}

/** Stationary-relative variance gained over τ: κ·(1 − e^{−2aτ}) / a. */
function varOver(a: number, kappa: number, tau: number): number {
  return (kappa * oneMinusExpNeg((2 * a) * tau)) / a;
}

export function modeLaw(a: number, kappa: number, plan: SegmentPlan, out: ModeLaw): void {
  const c = expDet(-(a * plan.pre));
  const vp = varOver(a, kappa, plan.pre);
  if (plan.m === 0) {
    out.cT = c;
    out.cS = 0;
    out.L11 = Math.sqrt(vp);
    out.L21 = 0;
    out.L22 = 0;
    return;
  }
  const rho = expDet(-(a * plan.dt));
  const q = varOver(a, kappa, plan.dt);
  // Segment statistics (α, β, vv, vs, ss) of k sample steps from a deterministic start.
  let al = 1, be = 0, vv = 0, vs = 0, ss = 0;
  const m = plan.m;
  let bit = 1;
  while (bit * 2 <= m) bit *= 2;
  for (; bit >= 1; bit = Math.floor(bit / 2)) {
    // square: compose(seg, seg)
    {
      const aB = al, bB = be, vvB = vv, vsB = vs, ssB = ss;
      const nss = ((ss + (2 * bB) * vs) + (bB * bB) * vv) + ssB;
      const nvs = aB * (vs + bB * vv) + vsB;
      const nvv = (aB * aB) * vv + vvB;
      be = be + al * bB;
      al = al * aB;
      vv = nvv;
      vs = nvs;
      ss = nss;
    }
    if (m & bit) {
      // compose(seg, base) with base = (ρ, ρ, q, q, q)
      const nss = ((ss + (2 * rho) * vs) + (rho * rho) * vv) + q;
      const nvs = rho * (vs + rho * vv) + q;
      const nvv = (rho * rho) * vv + q;
      be = be + al * rho;
      al = al * rho;
      vv = nvv;
      vs = nvs;
      ss = nss;
    }
  }
  const e = expDet(-(a * plan.post));
  const vpost = varOver(a, kappa, plan.post);
  const varS = (be * be) * vp + ss;
  const covBS = (al * be) * vp + vs;
  const varB = (al * al) * vp + vv;
  const varT = (e * e) * varB + vpost;
  const covTS = e * covBS;
  out.cT = (e * al) * c;
  out.cS = be * c;
  out.L11 = Math.sqrt(varT);
  out.L21 = out.L11 > 0 ? covTS / out.L11 : 0;
  const d = varS - out.L21 * out.L21;
  out.L22 = d > 0 ? Math.sqrt(d) : 0;
}
