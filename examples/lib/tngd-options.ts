// The TNGD optimizers' option names in one place, so the studies state their settings in the
// paper's terms (t, t_d, κ₀, λ, start, integrator, curvature).
import { getOptimizerSpec } from '../../src/host-loop/optimizers/index.ts';

export interface TngdSettings {
  lr: number;
  damping: number;
  /** analogue time per iteration, τ */
  tTau: number;
  /** delay t_d, τ */
  delayTau?: number;
  kappa0?: number;
  /** state at the start of each iteration's run */
  start?: 'carry' | 'reset' | 'gradient';
  integrator?: 'exact' | 'euler';
  dtTau?: number;
  curvature?: 'ggn' | 'ef';
  /** 'mean' (time average over the run, the optimizer's default) or 'final' state */
  readout?: 'mean' | 'final';
  /** TNGD-Adam: β₁ = β₂ = 0 as in the paper */
  adam?: boolean;
}

export const TNGD = 'tngd';
export const TNGD_ADAM = 'tngd-adam';

export function tngdAvailable(): boolean {
  return getOptimizerSpec(TNGD) !== undefined;
}

/** Optimizer name and options for train(). */
export function tngdConfig(s: TngdSettings): { optimizer: string; options: Record<string, unknown> } {
  const o: Record<string, unknown> = { lr: s.lr, damping: s.damping, tTau: s.tTau };
  if (s.delayTau !== undefined && s.delayTau > 0) o.delay = s.delayTau;
  if (s.kappa0 !== undefined) o.kappa0 = s.kappa0;
  // the optimizer's defaults (start carry, curvature GGN) are left out so equal configurations
  // hash equal and are trained once
  if (s.start !== undefined && s.start !== 'carry') o.start = s.start;
  if (s.integrator !== undefined) o.integrator = s.integrator;
  if (s.dtTau !== undefined) o.dt = s.dtTau;
  if (s.curvature !== undefined && s.curvature !== 'ggn') o.curvature = s.curvature;
  if (s.readout !== undefined) o.readout = s.readout;
  if (s.adam) Object.assign(o, { beta1: 0, beta2: 0 });
  return { optimizer: s.adam ? TNGD_ADAM : TNGD, options: o };
}
