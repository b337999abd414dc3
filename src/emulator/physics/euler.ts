// Euler–Maruyama step (EMULATOR.md §9.1): x ← x − δt(Ax − g) + σz, clamped at the rails.
import { DIVERGENCE_LIMIT } from './checks.ts';
import type { Coupling } from './couplings.ts';
import { DOMAIN, fillGaussians } from './philox.ts';

/** Per-run constants of the step. */
export interface EulerParams {
  n: number;
  dt: number;
  /** √((2κ₀)·δt); 0 = no noise drawn */
  sigma: number;
  saturate: boolean;
  fullScale: number;
  k0: number;
  k1: number;
  run: number;
}

/** Buffers the step works in (core scratch, ≥ n; z ≥ n). */
export interface EulerBuffers {
  x: Float64Array;
  ax: Float64Array;
  z: Float64Array;
}

/**
 * Step s of the run under (op, g): updates x in place and returns the number of rail clamps, or
 * −1 when a cell left ±1e150 (the caller raises `diverged`; x is then partly updated).
 */
export function eulerStep(op: Coupling, g: Float64Array, s: number, p: EulerParams, b: EulerBuffers): number {
  const { x, ax, z } = b;
  const { n, dt, sigma, fullScale: fs } = p;
  if (op.kind !== 'dense') {
    return op.eulerStep(x, g, p, s);
  }
  op.apply(x, ax);
  if (sigma !== 0) fillGaussians(z, n, p.k0, p.k1, s, p.run, DOMAIN.euler);
  let bad = false;
  let sats = 0;
  const sat = p.saturate;
  for (let i = 0; i < n; i++) {
    let v = x[i] - dt * (ax[i] - g[i]);
    if (sigma !== 0) v = v + sigma * z[i];
    if (sat) {
      if (v > fs) {
        v = fs;
        sats++;
      } else if (v < -fs) {
        v = -fs;
        sats++;
      }
    }
    if (!(v <= DIVERGENCE_LIMIT && v >= -DIVERGENCE_LIMIT)) bad = true;
    x[i] = v;
  }
  return bad ? -1 : sats;
}
