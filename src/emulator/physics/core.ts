// SpuCore: the emulated analog device's state — the uploaded systems (pending and live), the
// analog state x, the run configuration and the run counter — and the entry points that change
// it. Uploads are realised in uploads.ts, a run's timeline in run-handle.ts, the integrators in
// euler.ts / exact.ts, the readout in readout.ts. Normative description: firmware-spec/EMULATOR.md.
import { PhysicsError } from './errors.ts';
import { UINT32_MAX, checkFinite, countOf, fail } from './checks.ts';
import type { Coupling } from './couplings.ts';
import type { FactoredScratch } from './exact.ts';
import { seedKey } from './philox.ts';
import { validateProfile, type Profile } from './profile.ts';
import { CoreRunHandle, type RunHost, type System } from './run-handle.ts';
import { checkEulerStep, lambdaMaxOf } from './stability.ts';
import { dac, realiseDense, realiseFactored, realiseLayered, type DeviceTraits } from './uploads.ts';
import type { LayeredCurvature } from './layered-coupling.ts';
import type {
  CoreRunResult, CoreUploadReport, FactoredCurvature, RunConfig, RunOptions, SpuCoreOptions, UploadOptions,
} from './types.ts';

/**
 * Refuses an Euler step δt with δt·λmax(A) ≥ 2·(1 − 1/16) (EMULATOR.md §9.1.1) before anything
 * changes: the blow-up would be the emulator's discretisation, not the device it emulates.
 */
function checkStep(op: Coupling, dt: number, segment: 'main' | 'delay'): void {
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

export class SpuCore implements RunHost {
  readonly maxCells: number;
  readonly maxRank: number;
  readonly profile: Readonly<Profile>;
  readonly seed: number;
  private readonly traits: DeviceTraits;
  private staged: { op: Coupling | null; g: Float64Array | null } = { op: null, g: null };
  private live: { op: Coupling | null; g: Float64Array | null } = { op: null, g: null };
  private config: RunConfig | null = null;
  private runCounter = 0;
  private busy = false;
  /** systems replaced while a run might still use them (a delay's old system): retired when it ends */
  private retiring: Coupling[] = [];
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
    const [k0, k1] = seedKey(seed);
    this.traits = { profile: this.profile, k0, k1, maxCells, maxRank, scalarKernels: opts.scalarKernels === true };
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

  /**
   * Loads a dense symmetric A (+ λI if given). Validates shape, finiteness, exact symmetry and —
   * after DAC quantisation and mismatch — positive definiteness; on failure nothing changes.
   */
  setCurvatureDense(n: number, A: Float64Array, lambda = 0, opts: UploadOptions = {}): CoreUploadReport {
    this.guardIdle();
    const { coupling, dacClips } = realiseDense(this.traits, n, A, lambda, opts);
    const prev = this.staged.op;
    this.staged.op = coupling;
    this.retire(prev);
    return { dacClips };
  }

  /** Loads A = s·JᵀHJ + λI in factored form; same all-or-nothing validation. */
  setCurvatureFactored(f: FactoredCurvature, opts: UploadOptions = {}): CoreUploadReport {
    this.guardIdle();
    const { coupling, dacClips } = realiseFactored(this.traits, f, opts);
    const prev = this.staged.op;
    this.staged.op = coupling;
    this.retire(prev);
    return { dacClips };
  }

  /** Loads A = s·JᵀHJ + λI with J given per layer (never formed); same all-or-nothing validation. */
  setCurvatureLayered(f: LayeredCurvature, opts: UploadOptions = {}): CoreUploadReport {
    this.guardIdle();
    const { coupling, dacClips } = realiseLayered(this.traits, f, opts);
    const prev = this.staged.op;
    this.staged.op = coupling;
    this.retire(prev);
    return { dacClips };
  }

  /** Loads g (DAC-quantised). */
  setGradient(g: Float64Array, opts: UploadOptions = {}): CoreUploadReport {
    this.guardIdle();
    if (!(g instanceof Float64Array) || g.length < 1 || g.length > this.maxCells) fail('shape', 'g length outside [1, maxCells]');
    checkFinite(g, g.length, 'g');
    const v = opts.transfer ? g : Float64Array.from(g);
    const clips = dac(this.profile, v);
    this.staged.g = v;
    return { dacClips: clips };
  }

  /** Loads the state x (DAC-quantised); cells beyond x.length are zeroed. */
  setState(x: Float64Array): CoreUploadReport {
    this.guardIdle();
    if (!(x instanceof Float64Array) || x.length > this.maxCells) fail('shape', 'x length exceeds maxCells');
    checkFinite(x, x.length, 'x');
    const v = Float64Array.from(x);
    const clips = dac(this.profile, v);
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
  startRun(opts: RunOptions): CoreRunHandle {
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
    const h = new CoreRunHandle(this, {
      cfg, old, next: { op, g }, runIndex: this.runCounter, start, delayTau, durationTau: opts.durationTau,
      onSampleBlock: opts.onSampleBlock, blockSamples,
    });
    this.runCounter++;
    return h;
  }

  /** Runs to completion (or until shouldAbort() returns true, polled every chunkSteps steps). */
  run(opts: RunOptions & { shouldAbort?: () => boolean; chunkSteps?: number }): CoreRunResult {
    const h = this.startRun(opts);
    const chunk = opts.chunkSteps ?? 256;
    while (!h.done) {
      if (opts.shouldAbort?.()) return h.abort();
      h.advance(chunk);
    }
    return h.result();
  }

  // —— internals used by CoreRunHandle ——
  /** @internal */ _setBusy(b: boolean): void {
    this.busy = b;
    if (b) return;
    const done = this.retiring;
    this.retiring = [];
    for (const op of done) this.retire(op);
  }
  /** @internal */ _commit(sys: System): void {
    const prev = this.live.op;
    this.live = { op: sys.op, g: sys.g };
    this.staged = { op: null, g: null };
    this.retire(prev);
  }

  /**
   * A system this core no longer holds gives its kernel memory back for reuse (kernels/store.ts)
   * at once, instead of whenever the garbage collector gets to it: a training loop uploads a new J
   * every step. Not while a run is in progress (its delay may still read the old system).
   */
  private retire(op: Coupling | null): void {
    if (!op || op === this.staged.op || op === this.live.op) return;
    if (this.busy) this.retiring.push(op);
    else if (op.kind === 'factored') op.store.dispose();
  }
  /** @internal */ _buffers() {
    const { k0, k1 } = this.traits;
    return { x: this.x, ax: this.ax, z: this.z, x0: this.x0, sum: this.sum, scratch: this.scratch, k0, k1 };
  }
}
