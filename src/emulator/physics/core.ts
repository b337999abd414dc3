// SpuCore: the emulated analog device. Holds the uploaded system (validated, quantised,
// mismatched), the state x, and runs the SDE dx = −(Ax − g)dt + √(2κ₀) dW in τ units with the
// Euler–Maruyama or the exact integrator. Normative description: firmware-spec/EMULATOR.md.
import { PhysicsError } from './errors.ts';
import { DOMAIN, fillGaussians, gaussianAt, seedKey } from './philox.ts';
import { Adc, dacQuantise, validateProfile, type Profile } from './profile.ts';
import { DenseOperator, FactoredOperator, type CoreSpec, type Operator } from './operators.ts';
import { isPositiveDefinite } from './linalg.ts';
import { exactDense, exactFactored, type FactoredScratch } from './exact.ts';
import { checkEulerStep, lambdaMaxOf } from './stability.ts';
import type { SegmentPlan } from './ou.ts';

export interface SpuCoreOptions {
  /** largest N the device holds */
  maxCells: number;
  /** largest factor rank r */
  maxRank: number;
  profile: Profile;
  /** device seed, integer in [0, 2^53) */
  seed: number;
}

export interface FactoredCurvature {
  n: number;
  r: number;
  /** r×n row-major */
  J: Float64Array;
  core: CoreSpec;
  /** s in A = s·JᵀHJ + λI, ≥ 0 */
  scale: number;
  /** λ > 0 */
  lambda: number;
}

export interface UploadOptions {
  /** hand the arrays to the core (no copy); the caller must not touch them afterwards */
  transfer?: boolean;
}

export interface UploadReport {
  /** entries clamped by the DAC (fixed dacRange only; 'auto' never clips) */
  dacClips: number;
}

export type Integrator = { kind: 'euler'; dtTau: number } | { kind: 'exact' };

export interface RunConfig {
  /** noise strength κ₀ ≥ 0 */
  kappa0: number;
  integrator: Integrator;
  /** sample period Δ in τ (Euler: an integer multiple of dtTau) */
  samplePeriodTau: number;
  /** samples at k·Δ ≤ burnInTau are not averaged (a multiple of Δ) */
  burnInTau: number;
  /** average only the last windowTau/Δ samples (a multiple of Δ); default: all after burn-in */
  windowTau?: number;
}

export type StartMode = 'carry' | 'reset' | 'gradient';

export interface SampleBlock {
  /** 1-based index k (sample at k·Δ of the main segment) of the first row */
  first: number;
  count: number;
  n: number;
  /** count×n row-major ADC readings; the buffer is reused — copy to keep */
  values: Float64Array;
  /** no further block of this run follows: the block holds sample K, or is the partial block an abort flushes */
  last: boolean;
}

export interface RunOptions {
  durationTau: number;
  /** state before the run: keep, zero, or load g (the paper's x₀ = g); default 'carry' */
  start?: StartMode;
  /** evolve this long under the previous (A, g) before pending uploads take effect */
  delayTau?: number;
  /** stream of averaged samples (selects sample-by-sample evaluation in exact mode) */
  onSampleBlock?: (block: SampleBlock) => void;
  /** rows per sample block (default 16) */
  blockSamples?: number;
}

export type RunFlag = 'saturated' | 'adc-clipped' | 'aborted';

export interface RunResult {
  /** ADC(average of the analog samples in the window) */
  mean: Float64Array;
  /** ADC(final analog state) */
  final: Float64Array;
  sampleCount: number;
  /** analog time actually run, delay included, τ */
  analogTimeTau: number;
  /** state clamps at the rails (Euler, per cell per step) or rail-clamped exact outputs */
  saturationCount: number;
  /** ADC conversions that clipped */
  clipCount: number;
  /** run counter value used for the noise of this run */
  runIndex: number;
  flags: RunFlag[];
}

interface System {
  op: Operator;
  g: Float64Array;
}

const DIVERGENCE_LIMIT = 1e150;
const UINT32_MAX = 4294967295;

function fail(code: ConstructorParameters<typeof PhysicsError>[0], msg: string): never {
  throw new PhysicsError(code, msg);
}

function checkFinite(v: Float64Array, len: number, what: string): void {
  if (!(v instanceof Float64Array)) fail('shape', `${what} must be a Float64Array`);
  if (v.length !== len) fail('shape', `${what} has length ${v.length}, expected ${len}`);
  for (let i = 0; i < len; i++) if (!Number.isFinite(v[i])) fail('non-finite', `${what}[${i}] = ${v[i]}`);
}

function checkSymmetric(a: Float64Array, n: number, off: number, what: string): void {
  for (let i = 0; i < n; i++)
    for (let j = i + 1; j < n; j++)
      if (a[off + i * n + j] !== a[off + j * n + i]) fail('not-symmetric', `${what}[${i},${j}] ≠ [${j},${i}]`);
}

/** PSD test tolerant to rounding: Cholesky of B + ε·I, ε = 1e−10·(n·max|B_ii| + tiny). */
function checkPsd(a: Float64Array, n: number, off: number, what: string): void {
  const b = Float64Array.from(a.subarray(off, off + n * n));
  let m = 0;
  for (let i = 0; i < n; i++) m = Math.max(m, Math.abs(b[i * n + i]));
  const eps = 1e-10 * (n * m) + 1e-300;
  for (let i = 0; i < n; i++) b[i * n + i] += eps;
  if (!isPositiveDefinite(b, n)) fail('not-positive-definite', `${what} is not positive semidefinite`);
}

/**
 * Refuses an Euler step δt with δt·λmax(A) ≥ 2·(1 − 1/16) (EMULATOR.md §9.1.1) before anything
 * changes: the blow-up would be the emulator's discretisation, not the device it emulates.
 */
function checkStep(op: Operator, dt: number, segment: 'main' | 'delay'): void {
  const c = checkEulerStep(op, dt);
  if (c.stable) return;
  const lam = c.lambdaMax;
  const what = segment === 'delay' ? 'the previous system (delay)' : 'this A';
  throw new PhysicsError(
    'unstable-step',
    `Euler step δt = ${dt}τ unstable for ${what}: λmax ≈ ${lam.toPrecision(4)}, δt·λmax = ${(dt * lam).toPrecision(4)} ≥ 1.875 ` +
      `(an artefact of the emulator's integrator, not the device): use δt < ${c.maxStableDtTau.toPrecision(4)}τ or the exact integrator`,
    { lambdaMax: lam, maxStableDtTau: c.maxStableDtTau, dtTau: dt, segment },
  );
}

/** Integer count of `unit` in `t` (τ); t must be a multiple within 1e−9 relative. */
function countOf(t: number, unit: number, what: string): number {
  const c = Math.round(t / unit);
  if (!(Math.abs(c * unit - t) <= 1e-9 * Math.max(Math.abs(t), unit))) fail('config', `${what} = ${t} is not a multiple of ${unit}`);
  if (c > UINT32_MAX) fail('limit', `${what}: ${c} steps exceed 2^32 − 1`);
  return c;
}

export class SpuCore {
  readonly maxCells: number;
  readonly maxRank: number;
  readonly profile: Readonly<Profile>;
  readonly seed: number;
  private readonly k0: number;
  private readonly k1: number;
  private staged: { op: Operator | null; g: Float64Array | null } = { op: null, g: null };
  private live: { op: Operator | null; g: Float64Array | null } = { op: null, g: null };
  private config: RunConfig | null = null;
  private runCounter = 0;
  private busy = false;
  /** state (first n cells meaningful) */
  readonly x: Float64Array;
  // per-core scratch, allocated once
  private readonly ax: Float64Array;
  private readonly z: Float64Array;
  private readonly x0: Float64Array;
  private readonly sum: Float64Array;
  private readonly scratch: FactoredScratch;

  constructor(opts: SpuCoreOptions) {
    const { maxCells, maxRank, seed } = opts;
    if (!Number.isInteger(maxCells) || maxCells < 1 || maxCells > 1 << 26) fail('config', 'maxCells');
    if (!Number.isInteger(maxRank) || maxRank < 1 || maxRank > 1 << 16) fail('config', 'maxRank');
    if (!Number.isInteger(seed) || seed < 0 || seed >= 2 ** 53) fail('config', 'seed must be an integer in [0, 2^53)');
    validateProfile(opts.profile);
    this.maxCells = maxCells;
    this.maxRank = maxRank;
    this.profile = Object.freeze({ ...opts.profile });
    this.seed = seed;
    [this.k0, this.k1] = seedKey(seed);
    this.x = new Float64Array(maxCells);
    this.ax = new Float64Array(maxCells);
    this.z = new Float64Array(2 * maxCells);
    this.x0 = new Float64Array(maxCells);
    this.sum = new Float64Array(maxCells);
    this.scratch = {
      z: new Float64Array(2 * Math.max(maxCells, maxRank)),
      w1: new Float64Array(maxCells),
      w2: new Float64Array(maxCells),
      jr: new Float64Array(6 * maxRank),
    };
  }

  /** The run counter: runs started so far, or as set by setRunIndex (the next run's noise index). */
  get runIndex(): number {
    return this.runCounter;
  }

  /**
   * Sets the run counter: the next run draws the noise of run `index`, so with the same system,
   * state and configuration it gives the bytes of a device that had started `index` runs
   * (EMULATOR.md §4). Nothing else changes (systems, state, the previous system kept for a delay).
   */
  setRunIndex(index: number): void {
    this.guardIdle();
    if (!Number.isInteger(index) || index < 0 || index > UINT32_MAX) fail('config', `run index must be an integer in [0, 2^32 − 1], got ${index}`);
    this.runCounter = index;
  }

  /**
   * λmax data of the loaded (pending, else live) A as the Euler step check uses it (EMULATOR.md
   * §9.1.1): the upper bound U and the power-iteration estimate λ̂ (computed now if not cached).
   */
  lambdaMax(): { bound: number; estimate: number; iterations: number } {
    const op = this.staged.op ?? this.live.op ?? fail('state', 'no curvature loaded');
    return lambdaMaxOf(op);
  }

  /** Cells of the loaded (pending, else live) system, or 0. */
  get n(): number {
    return (this.staged.op ?? this.live.op)?.n ?? 0;
  }

  private guardIdle(): void {
    if (this.busy) fail('state', 'a run is in progress');
  }

  private dac(v: Float64Array): number {
    const p = this.profile;
    return p.dacBits === null ? 0 : dacQuantise(v, p.dacBits, p.dacRange);
  }

  /** Multiplies entry (row, col) of a coupling array by (1 + σ z), z from the mismatch stream. */
  private mismatch(v: Float64Array, rows: number, cols: number, domain: number, symmetric: boolean, off = 0, rowBase = 0): void {
    const sigma = this.profile.mismatchSigma;
    if (sigma === 0) return;
    for (let i = 0; i < rows; i++) {
      for (let j = symmetric ? i : 0; j < cols; j++) {
        const z = gaussianAt(this.k0, this.k1, rowBase + i, 0, domain, rowBase + j);
        const f = 1 + sigma * z;
        v[off + i * cols + j] = v[off + i * cols + j] * f;
        if (symmetric && j !== i) v[off + j * cols + i] = v[off + j * cols + i] * f;
      }
    }
  }

  /**
   * Loads a dense symmetric A (+ λI if given). Validates shape, finiteness, exact symmetry and —
   * after DAC quantisation and mismatch — positive definiteness; on failure nothing changes.
   */
  setCurvatureDense(n: number, A: Float64Array, lambda = 0, opts: UploadOptions = {}): UploadReport {
    this.guardIdle();
    if (!Number.isInteger(n) || n < 1 || n > this.maxCells) fail('shape', `n = ${n} outside [1, ${this.maxCells}]`);
    checkFinite(A, n * n, 'A');
    if (!Number.isFinite(lambda) || lambda < 0) fail('non-finite', 'lambda must be finite and ≥ 0');
    checkSymmetric(A, n, 0, 'A');
    const a = opts.transfer ? A : Float64Array.from(A);
    if (lambda !== 0) for (let i = 0; i < n; i++) a[i * n + i] = a[i * n + i] + lambda;
    const clips = this.dac(a);
    this.mismatch(a, n, n, DOMAIN.mismatchA, true);
    if (!isPositiveDefinite(a, n)) fail('not-positive-definite', 'A (as realised on the device) is not positive definite');
    this.staged.op = new DenseOperator(n, a);
    return { dacClips: clips };
  }

  /** Loads A = s·JᵀHJ + λI in factored form; same all-or-nothing validation. */
  setCurvatureFactored(f: FactoredCurvature, opts: UploadOptions = {}): UploadReport {
    this.guardIdle();
    const { n, r, core, scale, lambda } = f;
    if (!Number.isInteger(n) || n < 1 || n > this.maxCells) fail('shape', `n = ${n} outside [1, ${this.maxCells}]`);
    if (!Number.isInteger(r) || r < 1 || r > this.maxRank) fail('shape', `r = ${r} outside [1, ${this.maxRank}]`);
    if (n * r > 2 ** 31) fail('limit', 'r·n too large');
    checkFinite(f.J, r * n, 'J');
    if (!Number.isFinite(scale) || !Number.isFinite(lambda)) fail('non-finite', 'scale and lambda must be finite');
    if (scale < 0) fail('not-positive-definite', 'scale must be ≥ 0');
    if (!(lambda > 0)) fail('not-positive-definite', 'lambda must be > 0');
    let coreCopy: CoreSpec;
    const cp = (v: Float64Array) => (opts.transfer ? v : Float64Array.from(v));
    switch (core?.kind) {
      case 'identity':
        coreCopy = { kind: 'identity' };
        break;
      case 'diagonal':
        checkFinite(core.d, r, 'core.d');
        for (let k = 0; k < r; k++) if (core.d[k] < 0) fail('not-positive-definite', `core.d[${k}] < 0`);
        coreCopy = { kind: 'diagonal', d: cp(core.d) };
        break;
      case 'block': {
        const dz = core.dz;
        if (!Number.isInteger(dz) || dz < 1 || r % dz !== 0) fail('shape', `block size ${dz} does not divide r = ${r}`);
        checkFinite(core.blocks, r * dz, 'core.blocks');
        for (let b = 0; b < r / dz; b++) {
          checkSymmetric(core.blocks, dz, b * dz * dz, `H block ${b}`);
          checkPsd(core.blocks, dz, b * dz * dz, `H block ${b}`);
        }
        coreCopy = { kind: 'block', dz, blocks: cp(core.blocks) };
        break;
      }
      case 'dense':
        checkFinite(core.h, r * r, 'core.h');
        checkSymmetric(core.h, r, 0, 'H');
        checkPsd(core.h, r, 0, 'H');
        coreCopy = { kind: 'dense', h: cp(core.h) };
        break;
      default:
        fail('shape', 'unknown core kind');
    }
    const J = cp(f.J);
    let clips = this.dac(J);
    this.mismatch(J, r, n, DOMAIN.mismatchJ, false);
    if (coreCopy.kind === 'diagonal') {
      clips += this.dac(coreCopy.d);
      const d = coreCopy.d;
      const sigma = this.profile.mismatchSigma;
      if (sigma > 0) for (let k = 0; k < r; k++) d[k] = d[k] * (1 + sigma * gaussianAt(this.k0, this.k1, k, 0, DOMAIN.mismatchH, k));
    } else if (coreCopy.kind === 'block') {
      clips += this.dac(coreCopy.blocks);
      const dz = coreCopy.dz;
      for (let b = 0; b < r / dz; b++) this.mismatch(coreCopy.blocks, dz, dz, DOMAIN.mismatchH, true, b * dz * dz, b * dz);
    } else if (coreCopy.kind === 'dense') {
      clips += this.dac(coreCopy.h);
      this.mismatch(coreCopy.h, r, r, DOMAIN.mismatchH, true);
    }
    this.staged.op = new FactoredOperator(n, r, J, coreCopy, scale, lambda);
    return { dacClips: clips };
  }

  /** Loads g (DAC-quantised). */
  setGradient(g: Float64Array, opts: UploadOptions = {}): UploadReport {
    this.guardIdle();
    if (!(g instanceof Float64Array) || g.length < 1 || g.length > this.maxCells) fail('shape', 'g length outside [1, maxCells]');
    checkFinite(g, g.length, 'g');
    const v = opts.transfer ? g : Float64Array.from(g);
    const clips = this.dac(v);
    this.staged.g = v;
    return { dacClips: clips };
  }

  /** Loads the state x (DAC-quantised); cells beyond x.length are zeroed. */
  setState(x: Float64Array): UploadReport {
    this.guardIdle();
    if (!(x instanceof Float64Array) || x.length > this.maxCells) fail('shape', 'x length exceeds maxCells');
    checkFinite(x, x.length, 'x');
    const v = Float64Array.from(x);
    const clips = this.dac(v);
    this.x.fill(0);
    this.x.set(v);
    return { dacClips: clips };
  }

  resetState(): void {
    this.guardIdle();
    this.x.fill(0);
  }

  /** Copy of the first n cells of the analog state (n = loaded size, or all cells). */
  getState(n = this.n || this.maxCells): Float64Array {
    return this.x.slice(0, n);
  }

  configure(cfg: RunConfig): void {
    this.guardIdle();
    const { kappa0, integrator, samplePeriodTau, burnInTau, windowTau } = cfg;
    if (!(Number.isFinite(kappa0) && kappa0 >= 0)) fail('config', 'kappa0 must be finite and ≥ 0');
    if (!(Number.isFinite(samplePeriodTau) && samplePeriodTau > 0)) fail('config', 'samplePeriodTau must be > 0');
    if (!(Number.isFinite(burnInTau) && burnInTau >= 0)) fail('config', 'burnInTau must be ≥ 0');
    if (windowTau !== undefined && !(Number.isFinite(windowTau) && windowTau > 0)) fail('config', 'windowTau must be > 0');
    if (integrator?.kind === 'euler') {
      if (!(Number.isFinite(integrator.dtTau) && integrator.dtTau > 0)) fail('config', 'dtTau must be > 0');
      countOf(samplePeriodTau, integrator.dtTau, 'samplePeriodTau');
    } else if (integrator?.kind !== 'exact') fail('config', 'integrator.kind must be euler or exact');
    countOf(burnInTau, samplePeriodTau, 'burnInTau');
    if (windowTau !== undefined) countOf(windowTau, samplePeriodTau, 'windowTau');
    this.config = { kappa0, integrator: { ...integrator }, samplePeriodTau, burnInTau, windowTau };
  }

  /** Starts a run; advance it with the returned handle (results do not depend on chunking). */
  startRun(opts: RunOptions): RunHandle {
    this.guardIdle();
    const cfg = this.config ?? fail('state', 'configure() has not been called');
    const op = this.staged.op ?? this.live.op ?? fail('state', 'no curvature loaded');
    const g = this.staged.g ?? this.live.g ?? fail('state', 'no gradient loaded');
    if (g.length !== op.n) fail('shape', `g has length ${g.length}, A is ${op.n}×${op.n}`);
    const delayTau = opts.delayTau ?? 0;
    if (!(Number.isFinite(opts.durationTau) && opts.durationTau > 0)) fail('config', 'durationTau must be > 0');
    if (!(Number.isFinite(delayTau) && delayTau >= 0)) fail('config', 'delayTau must be ≥ 0');
    let old: System | null = null;
    if (delayTau > 0) {
      if (!this.live.op || !this.live.g) fail('state', 'a delay needs a previously run system');
      if (this.live.op.n !== op.n) fail('shape', 'delay across uploads of different size');
      old = { op: this.live.op, g: this.live.g };
    }
    // the counter stays within u32 (the wire reports it): the last run index is 2^32 − 2
    if (this.runCounter >= UINT32_MAX) fail('limit', 'run counter exhausted (2^32 − 1)');
    const start = opts.start ?? 'carry';
    if (start !== 'carry' && start !== 'reset' && start !== 'gradient') fail('config', `start = ${String(start)}`);
    const blockSamples = opts.blockSamples ?? 16;
    if (!Number.isInteger(blockSamples) || blockSamples < 1) fail('config', 'blockSamples must be a positive integer');
    if (cfg.integrator.kind === 'euler') {
      if (old) checkStep(old.op, cfg.integrator.dtTau, 'delay');
      checkStep(op, cfg.integrator.dtTau, 'main');
    }
    // A run refused by the handle's own checks (step counts) is not started: the counter stays.
    const h = new RunHandle(this, {
      cfg, old, next: { op, g }, runIndex: this.runCounter, start, delayTau, durationTau: opts.durationTau,
      onSampleBlock: opts.onSampleBlock, blockSamples,
    });
    this.runCounter++;
    return h;
  }

  /** Runs to completion (or until shouldAbort() returns true, polled every chunkSteps steps). */
  run(opts: RunOptions & { shouldAbort?: () => boolean; chunkSteps?: number }): RunResult {
    const h = this.startRun(opts);
    const chunk = opts.chunkSteps ?? 256;
    while (!h.done) {
      if (opts.shouldAbort?.()) return h.abort();
      h.advance(chunk);
    }
    return h.result();
  }

  // —— internals used by RunHandle ——
  /** @internal */ _setBusy(b: boolean): void {
    this.busy = b;
  }
  /** @internal */ _commit(sys: System): void {
    this.live = { op: sys.op, g: sys.g };
    this.staged = { op: null, g: null };
  }
  /** @internal */ _buffers() {
    return { x: this.x, ax: this.ax, z: this.z, x0: this.x0, sum: this.sum, scratch: this.scratch, k0: this.k0, k1: this.k1 };
  }
}

interface RunSpec {
  cfg: RunConfig;
  old: System | null;
  next: System;
  runIndex: number;
  start: StartMode;
  delayTau: number;
  durationTau: number;
  onSampleBlock?: (b: SampleBlock) => void;
  blockSamples: number;
}

/** Incremental run: advance(maxSteps) until done, then result(). */
export class RunHandle {
  private readonly core: SpuCore;
  private readonly spec: RunSpec;
  private readonly n: number;
  private readonly exact: boolean;
  private readonly sigma: number;
  private readonly dt: number;
  /** Euler: steps of delay / main; exact: 1 unit each (or samples when streaming) */
  private readonly delaySteps: number;
  private readonly mainSteps: number;
  private readonly stepsPerSample: number;
  private readonly K: number;
  private readonly kFirst: number;
  private readonly M: number;
  private readonly block: Float64Array | null;
  private blockCount = 0;
  private blockFirst = 0;
  private readonly adc: Adc;
  private step = 0;
  private samples = 0;
  private saturations = 0;
  private committed = false;
  private finished: RunResult | null = null;
  private readonly total: number;

  constructor(core: SpuCore, spec: RunSpec) {
    this.core = core;
    this.spec = spec;
    const cfg = spec.cfg;
    this.n = spec.next.op.n;
    this.exact = cfg.integrator.kind === 'exact';
    const delta = cfg.samplePeriodTau;
    if (cfg.integrator.kind === 'euler') {
      const dt = cfg.integrator.dtTau;
      this.dt = dt;
      this.delaySteps = spec.delayTau > 0 ? countOf(spec.delayTau, dt, 'delayTau') : 0;
      this.mainSteps = countOf(spec.durationTau, dt, 'durationTau');
      this.stepsPerSample = countOf(delta, dt, 'samplePeriodTau');
      this.K = Math.floor(this.mainSteps / this.stepsPerSample);
      if (this.delaySteps + this.mainSteps > UINT32_MAX) fail('limit', 'more than 2^32 − 1 steps in one run');
    } else {
      this.dt = 0;
      this.stepsPerSample = 1;
      const kf = Math.floor(spec.durationTau / delta);
      // K = ⌊T/Δ⌋, tolerant to T being a multiple of Δ up to 1e−9 relative.
      this.K = Math.abs((kf + 1) * delta - spec.durationTau) <= 1e-9 * spec.durationTau ? kf + 1 : kf;
      if (this.K > UINT32_MAX - 8) fail('limit', 'too many samples');
      this.delaySteps = spec.delayTau > 0 ? 1 : 0;
      this.mainSteps = 0; // set below
    }
    const kb = countOf(cfg.burnInTau, delta, 'burnInTau');
    const W = cfg.windowTau !== undefined ? countOf(cfg.windowTau, delta, 'windowTau') : this.K;
    this.kFirst = Math.max(kb, this.K - W) + 1;
    this.M = this.K - this.kFirst + 1;
    if (this.M < 1) fail('config', `no samples to average: ${this.K} samples, burn-in ${kb}`);
    if (this.exact) this.mainSteps = spec.onSampleBlock ? this.K + 1 : 1;
    this.total = this.delaySteps + this.mainSteps;
    this.sigma = cfg.kappa0 > 0 && !this.exact ? Math.sqrt((2 * cfg.kappa0) * this.dt) : 0;
    this.block = spec.onSampleBlock ? new Float64Array(spec.blockSamples * this.n) : null;
    this.adc = new Adc(core.profile.adcBits, core.profile.fullScale);

    const { x, x0, sum } = core._buffers();
    if (spec.start === 'reset') x.fill(0);
    else if (spec.start === 'gradient') {
      x.fill(0);
      x.set(spec.next.g);
    }
    x0.set(x);
    sum.fill(0, 0, this.n);
    if (this.delaySteps === 0) this.commit();
    core._setBusy(true);
  }

  get done(): boolean {
    return this.finished !== null || this.step >= this.total;
  }

  /** Steps taken so far (Euler: integration steps; exact: segments or samples). */
  get stepsDone(): number {
    return this.step;
  }

  get stepsTotal(): number {
    return this.total;
  }

  /** Analog time covered so far, τ. */
  get progressTau(): number {
    if (!this.exact) return this.step * this.dt;
    const d = this.spec.delayTau;
    if (this.step >= this.total) return d + this.spec.durationTau;
    if (this.step < this.delaySteps) return 0;
    if (this.mainSteps === 1) return d;
    return d + Math.min(this.step - this.delaySteps, this.K) * this.spec.cfg.samplePeriodTau;
  }

  private commit(): void {
    if (this.committed) return;
    this.committed = true;
    this.core._commit(this.spec.next);
  }

  /** Advances by at most maxSteps; returns true when the run is complete. */
  advance(maxSteps: number): boolean {
    if (this.finished) return true;
    const end = Math.min(this.total, this.step + Math.max(1, Math.floor(maxSteps)));
    try {
      if (this.exact) this.advanceExact(end);
      else this.advanceEuler(end);
    } catch (e) {
      this.fail();
      throw e;
    }
    return this.step >= this.total;
  }

  private fail(): void {
    const { x, x0 } = this.core._buffers();
    x.set(x0.subarray(0, this.n));
    this.commit();
    this.finished = {
      mean: new Float64Array(0), final: new Float64Array(0), sampleCount: 0, analogTimeTau: 0,
      saturationCount: 0, clipCount: 0, runIndex: this.spec.runIndex, flags: [],
    };
    this.core._setBusy(false);
  }

  private advanceEuler(end: number): void {
    const core = this.core;
    const { x, ax, z, sum, k0, k1 } = core._buffers();
    const n = this.n;
    const dt = this.dt;
    const sigma = this.sigma;
    const run = this.spec.runIndex;
    const sat = core.profile.saturate;
    const fs = core.profile.fullScale;
    const p = this.stepsPerSample;
    for (; this.step < end; this.step++) {
      const s = this.step;
      const inDelay = s < this.delaySteps;
      if (!inDelay) this.commit();
      const sys = inDelay ? this.spec.old! : this.spec.next;
      sys.op.apply(x, ax);
      const g = sys.g;
      if (sigma !== 0) fillGaussians(z, n, k0, k1, s, run, DOMAIN.euler);
      let bad = false;
      let sats = 0;
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
      this.saturations += sats;
      if (bad) fail('diverged', `state left ±${DIVERGENCE_LIMIT} at step ${s} (Euler unstable for dt·λmax > 2, or A not positive definite)`);
      if (!inDelay) {
        const j = s - this.delaySteps + 1;
        if (j % p === 0) {
          const k = j / p;
          if (k >= this.kFirst && k <= this.K) {
            for (let i = 0; i < n; i++) sum[i] = sum[i] + x[i];
            this.samples++;
            this.pushSample(k, x);
          }
        }
      }
    }
    if (this.step >= this.total) this.finish();
  }

  private pushSample(k: number, v: Float64Array): void {
    if (!this.block) return;
    const n = this.n;
    if (this.blockCount === 0) this.blockFirst = k;
    const off = this.blockCount * n;
    for (let i = 0; i < n; i++) this.block[off + i] = this.adc.convert(v[i]);
    this.blockCount++;
    if (this.blockCount === this.spec.blockSamples || k === this.K) this.flushBlock(k === this.K);
  }

  private flushBlock(last: boolean): void {
    if (!this.block || this.blockCount === 0) return;
    const count = this.blockCount;
    this.blockCount = 0;
    this.spec.onSampleBlock!({ first: this.blockFirst, count, n: this.n, values: this.block.subarray(0, count * this.n), last });
  }

  private exactSegment(sys: System, plan: SegmentPlan, segment: number, outMean: Float64Array | null): void {
    const { x, scratch, k0, k1 } = this.core._buffers();
    const addr = { k0, k1, segment, run: this.spec.runIndex };
    const kappa = this.spec.cfg.kappa0;
    const op = sys.op;
    if (op.kind === 'dense') exactDense(op, sys.g, x, kappa, plan, addr, scratch, x, outMean);
    else exactFactored(op, sys.g, x, kappa, plan, addr, scratch, x, outMean);
    for (let i = 0; i < this.n; i++) if (!Number.isFinite(x[i]) || Math.abs(x[i]) > DIVERGENCE_LIMIT) fail('diverged', 'exact state left the representable range');
  }

  private advanceExact(end: number): void {
    const delta = this.spec.cfg.samplePeriodTau;
    const { sum, x } = this.core._buffers();
    const n = this.n;
    for (; this.step < end; this.step++) {
      const s = this.step;
      if (s < this.delaySteps) {
        this.exactSegment(this.spec.old!, { pre: this.spec.delayTau, dt: 0, m: 0, post: 0 }, 0, null);
        continue;
      }
      this.commit();
      const post = Math.max(0, this.spec.durationTau - this.K * delta);
      if (this.mainSteps === 1) {
        const plan = { pre: (this.kFirst - 1) * delta, dt: delta, m: this.M, post };
        this.exactSegment(this.spec.next, plan, 1, sum);
        this.samples = this.M;
        continue;
      }
      // Streaming: segment 2 = lead-in to sample kFirst − 1, then one segment per sample.
      const j = s - this.delaySteps; // 0..K
      if (j === 0) {
        if (this.kFirst > 1) this.exactSegment(this.spec.next, { pre: (this.kFirst - 1) * delta, dt: 0, m: 0, post: 0 }, 2, null);
        continue;
      }
      const k = this.kFirst - 1 + j;
      if (k <= this.K) {
        this.exactSegment(this.spec.next, { pre: delta, dt: 0, m: 0, post: 0 }, 2 + j, null);
        for (let i = 0; i < n; i++) sum[i] = sum[i] + x[i];
        this.samples++;
        this.pushSample(k, x);
        if (k === this.K && post > 0) this.exactSegment(this.spec.next, { pre: post, dt: 0, m: 0, post: 0 }, 3 + this.M, null);
      }
    }
    if (this.step >= this.total) this.finish();
  }

  private finish(): void {
    if (this.finished) return;
    const { x, sum } = this.core._buffers();
    const n = this.n;
    const fs = this.core.profile.fullScale;
    const meanDiv = this.exact && this.mainSteps === 1 ? 1 : this.samples;
    const mean = new Float64Array(n);
    const final = new Float64Array(n);
    let sats = this.saturations;
    for (let i = 0; i < n; i++) {
      let m = meanDiv > 0 ? sum[i] / meanDiv : 0;
      let f = x[i];
      if (this.exact && this.core.profile.saturate) {
        if (f > fs || f < -fs) {
          f = f > fs ? fs : -fs;
          x[i] = f;
          sats++;
        }
        if (m > fs || m < -fs) {
          m = m > fs ? fs : -fs;
          sats++;
        }
      }
      mean[i] = this.adc.convert(m);
      final[i] = this.adc.convert(f);
    }
    this.flushBlock(true);
    const flags: RunFlag[] = [];
    if (sats > 0) flags.push('saturated');
    if (this.adc.clips > 0) flags.push('adc-clipped');
    this.commit();
    this.finished = {
      mean, final, sampleCount: this.samples, analogTimeTau: this.progressTau, saturationCount: sats,
      clipCount: this.adc.clips, runIndex: this.spec.runIndex, flags,
    };
    this.core._setBusy(false);
  }

  /** Stops the run now; the result covers the samples taken so far. */
  abort(): RunResult {
    if (!this.finished) {
      const analog = this.progressTau;
      const done = this.step >= this.total;
      this.finish();
      if (!done) {
        this.finished!.flags.push('aborted');
        this.finished!.analogTimeTau = analog;
      }
    }
    return this.finished!;
  }

  result(): RunResult {
    if (!this.finished) fail('state', 'run not complete');
    return this.finished;
  }
}
