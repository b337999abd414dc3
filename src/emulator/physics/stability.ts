// Euler step stability: x ← x − δt(Ax − g) is stable only for δt·λmax(A) < 2. A real device has
// no step, so an unstable step is an artefact of the emulator and a run with one is refused
// (EMULATOR.md §9.1.1). λmax comes from a cheap upper bound U and, only when U does not already
// clear the step, a power-iteration estimate (a lower bound of λmax); both are cached per
// uploaded operator and use only + − × ÷ √ in a fixed order, so every implementation agrees.
import { createHash } from 'node:crypto';
import { DOMAIN, fillGaussians, seedKey } from './philox.ts';
import type { DenseCoupling, FactoredCoupling, Coupling } from './couplings.ts';
import type { LayeredCoupling } from './layered-coupling.ts';

/** Refuse when δt·λ ≥ STEP_LIMIT = 2·(1 − 1/16): below it the top mode still contracts by ≥ 1/8 per step. */
export const STEP_LIMIT = 1.875;
/** Power iteration stops when the estimate grew by at most ESTIMATE_TOL relative, or after MAX_ITERATIONS. */
export const ESTIMATE_TOL = 2 ** -10;
export const MAX_ITERATIONS = 64;
export const MIN_ITERATIONS = 3;

export interface StepCheck {
  /** λmax(A) as the verdict used it: U when the bound cleared the step, else the estimate */
  lambdaMax: number;
  /** 'bound' = U (an upper bound); 'estimate' = power iteration (a lower bound) */
  source: 'bound' | 'estimate';
  /** power iterations spent (0 when the bound decided; cached afterwards) */
  iterations: number;
  stable: boolean;
  /** steps below this are accepted for this A: STEP_LIMIT / lambdaMax */
  maxStableDtTau: number;
}

interface Cached {
  bound: number;
  estimate: number | null;
  iterations: number;
}

const cache = new WeakMap<Coupling, Cached>();

/**
 * λ̂ by content, process-wide: the same realised A uploaded again (a resumed session re-uploading
 * its last system, a benchmark, several devices in one process) reuses the estimate instead of up
 * to 64 drift products. The key is a SHA-256 of every input of the iteration, so a hit returns
 * exactly the bits the iteration would compute. A few entries suffice (recency order).
 */
const byContent = new Map<string, { estimate: number; iterations: number }>();
const BY_CONTENT_MAX = 8;
let estimatesComputed = 0;

/** Power iterations run so far in this process (not served from a cache); for tests and diagnostics. */
export function estimatesRun(): number {
  return estimatesComputed;
}

function contentKey(op: Coupling): string {
  const h = createHash('sha256');
  const bytes = (v: Float64Array) => h.update(new Uint8Array(v.buffer, v.byteOffset, v.byteLength));
  if (op.kind === 'dense') {
    h.update(`dense ${op.n};`);
    bytes(op.a);
  } else if (op.kind === 'layered') {
    const { n, r, b, core, scale, lambda } = op;
    h.update(`layered ${n} ${r} ${b} ${core.kind} ${core.kind === 'block' ? core.dz : 0};`);
    bytes(Float64Array.of(scale, lambda));
    for (const l of op.layers) {
      if (l.kind === 'explicit') {
        h.update(`explicit ${l.cols};`);
        bytes(l.J);
      } else {
        h.update(`dense ${l.nIn} ${l.nOut} ${l.bias ? 1 : 0};`);
        bytes(l.A);
        bytes(l.D);
      }
    }
    if (core.kind === 'diagonal') bytes(core.d);
    else if (core.kind === 'block') bytes(core.blocks);
    else if (core.kind === 'dense') bytes(core.h);
  } else {
    const { n, r, core, scale, lambda, store } = op;
    h.update(`factored ${n} ${r} ${core.kind} ${core.kind === 'block' ? core.dz : 0};`);
    bytes(Float64Array.of(scale, lambda));
    bytes(store.m.subarray(0, store.np * 2 * n));
    if (core.kind === 'diagonal') bytes(core.d);
    else if (core.kind === 'block') bytes(core.blocks);
    else if (core.kind === 'dense') bytes(core.h);
  }
  return h.digest('hex');
}

/** The power-iteration estimate of op, from the content cache when the same A was seen. */
function estimateOf(op: Coupling): { estimate: number; iterations: number } {
  const key = contentKey(op);
  const hit = byContent.get(key);
  if (hit) {
    byContent.delete(key); // refresh recency
    byContent.set(key, hit);
    return hit;
  }
  const e = powerEstimate(op);
  estimatesComputed++;
  byContent.set(key, e);
  if (byContent.size > BY_CONTENT_MAX) byContent.delete(byContent.keys().next().value!);
  return e;
}

/** Gershgorin: max_i Σ_j ascending |A_ij| ≥ λmax(A). */
function denseBound(op: DenseCoupling): number {
  const { n, a } = op;
  let m = 0;
  for (let i = 0; i < n; i++) {
    let s = 0;
    const row = i * n;
    for (let j = 0; j < n; j++) s = s + Math.abs(a[row + j]);
    if (s > m) m = s;
  }
  return m;
}

/**
 * λ + Σ_b ascending c_b·f_b over the core's diagonal blocks b (identity/diagonal: 1×1 blocks,
 * block: d_z×d_z, dense: one r×r block), c_b = s·max_{k∈b} Σ_l∈b ascending |H_kl| ≥ λmax(s·H_b) and
 * f_b = Σ_{k∈b} ascending Σ_j ascending J_kj·J_kj = trace(J_b J_bᵀ) ≥ λmax(J_b J_bᵀ); by Weyl,
 * λmax(Σ_b J_bᵀ(sH_b)J_b) ≤ Σ_b c_b·f_b.
 */
function factoredBound(op: FactoredCoupling | LayeredCoupling): number {
  const { r, core, scale } = op;
  const rowSq = op.kind === 'layered' ? op.rowSquares() : op.store.rowSquares();
  const dz = core.kind === 'block' ? core.dz : core.kind === 'dense' ? r : 1;
  let total = 0;
  for (let b0 = 0; b0 < r; b0 += dz) {
    let hmax = 0;
    let f = 0;
    for (let k = b0; k < b0 + dz; k++) {
      let h: number;
      if (core.kind === 'identity') h = 1;
      else if (core.kind === 'diagonal') h = Math.abs(core.d[k]);
      else {
        const src = core.kind === 'block' ? core.blocks : core.h;
        const off = core.kind === 'block' ? b0 * dz + (k - b0) * dz : k * r;
        h = 0;
        for (let l = 0; l < dz; l++) h = h + Math.abs(src[off + l]);
      }
      if (h > hmax) hmax = h;
      f = f + rowSq[k];
    }
    total = total + (scale * hmax) * f;
  }
  return op.lambda + total;
}

/** The power iteration of EMULATOR.md §9.1.1 on B = A (dense) or B = A − λI (factored, layered). */
function powerEstimate(op: Coupling): { estimate: number; iterations: number } {
  const n = op.n;
  const v = new Float64Array(n);
  const w = new Float64Array(n);
  const [k0, k1] = seedKey(0);
  fillGaussians(v, n, k0, k1, 0, 0, DOMAIN.stability);
  let vv = 0;
  for (let i = 0; i < n; i++) vv = vv + v[i] * v[i];
  const nv = Math.sqrt(vv);
  for (let i = 0; i < n; i++) v[i] = v[i] / nv;
  let offset = 0;
  let applyB: (x: Float64Array, out: Float64Array) => void;
  if (op.kind === 'dense') applyB = (x, out) => op.apply(x, out);
  else {
    offset = op.lambda;
    const y = new Float64Array(op.r);
    const c = new Float64Array(op.r);
    applyB = (x, out) => {
      op.applyJ(x, y);
      op.applyCore(y, c);
      op.applyJT(c, out);
    };
  }
  let mu = 0;
  let k = 0;
  while (k < MAX_ITERATIONS) {
    k++;
    applyB(v, w);
    let ww = 0;
    for (let i = 0; i < n; i++) ww = ww + w[i] * w[i];
    const next = Math.sqrt(ww);
    if (!(next > 0)) break; // B·v = 0: B vanishes on the start vector (μ stays at the last value, 0 at first)
    const grew = next - mu;
    mu = next;
    for (let i = 0; i < n; i++) v[i] = w[i] / next;
    if (k >= MIN_ITERATIONS && grew <= next * ESTIMATE_TOL) break;
  }
  return { estimate: offset + mu, iterations: k };
}

function cached(op: Coupling): Cached {
  let c = cache.get(op);
  if (!c) {
    c = { bound: op.kind === 'dense' ? denseBound(op) : factoredBound(op), estimate: null, iterations: 0 };
    cache.set(op, c);
  }
  return c;
}

/**
 * Verdict for an Euler step dtTau on op: stable when dtTau·U < STEP_LIMIT, else when
 * dtTau·λ̂ < STEP_LIMIT with λ̂ the (cached) power-iteration estimate.
 */
export function checkEulerStep(op: Coupling, dtTau: number): StepCheck {
  const c = cached(op);
  if (dtTau * c.bound < STEP_LIMIT) {
    return { lambdaMax: c.bound, source: 'bound', iterations: c.iterations, stable: true, maxStableDtTau: STEP_LIMIT / c.bound };
  }
  if (c.estimate === null) {
    const e = estimateOf(op);
    c.estimate = e.estimate;
    c.iterations = e.iterations;
  }
  const lam = c.estimate;
  return { lambdaMax: lam, source: 'estimate', iterations: c.iterations, stable: dtTau * lam < STEP_LIMIT, maxStableDtTau: STEP_LIMIT / lam };
}

/** The power iteration itself, bypassing every cache (tests compare it with the cached value). */
export function lambdaEstimateUncached(op: Coupling): { estimate: number; iterations: number } {
  return powerEstimate(op);
}

/** The upper bound U and (computing it if needed) the estimate λ̂ of op, for diagnostics and tests. */
export function lambdaMaxOf(op: Coupling): { bound: number; estimate: number; iterations: number } {
  const c = cached(op);
  if (c.estimate === null) {
    const e = estimateOf(op);
    c.estimate = e.estimate;
    c.iterations = e.iterations;
  }
  return { bound: c.bound, estimate: c.estimate, iterations: c.iterations };
}
