// One run's timeline (EMULATOR.md §8): step counts, the delay segment under the previous system,
// the commit of pending uploads, sampling and the readout. The integrators themselves live in
// euler.ts and exact.ts, the readout in readout.ts.
import { DIVERGENCE_LIMIT, UINT32_MAX, countOf, fail } from './checks.ts';
import type { Coupling } from './couplings.ts';
import { eulerStep, type EulerParams } from './euler.ts';
import { exactDense, exactFactored, type FactoredScratch } from './exact.ts';
import { exactLayered } from './layered-coupling.ts';
import type { SegmentPlan } from './ou.ts';
import { Adc, type Profile } from './profile.ts';
import { SampleStream, readFinal } from './readout.ts';
import type { CoreRunResult, CoreSampleBlock, RunConfig, RunFlag, StartMode } from './types.ts';

/** A loaded system: the coupling A and the gradient g. */
export interface System {
  op: Coupling;
  g: Float64Array;
}

/** The core's side of a run: its buffers, key and the commit/busy hooks. */
export interface RunHost {
  readonly profile: Readonly<Profile>;
  _setBusy(b: boolean): void;
  _commit(sys: System): void;
  _buffers(): {
    x: Float64Array; ax: Float64Array; z: Float64Array; x0: Float64Array; sum: Float64Array;
    scratch: FactoredScratch; k0: number; k1: number;
  };
}

export interface RunSpec {
  cfg: RunConfig;
  old: System | null;
  next: System;
  runIndex: number;
  start: StartMode;
  delayTau: number;
  durationTau: number;
  onSampleBlock?: (b: CoreSampleBlock) => void;
  blockSamples: number;
}

/** Incremental run: advance(maxSteps) until done, then result(). */
export class CoreRunHandle {
  private readonly core: RunHost;
  private readonly spec: RunSpec;
  private readonly n: number;
  private readonly exact: boolean;
  private readonly dt: number;
  /** Euler: steps of delay / main; exact: 1 unit each (or samples when streaming) */
  private readonly delaySteps: number;
  private readonly mainSteps: number;
  private readonly stepsPerSample: number;
  private readonly K: number;
  private readonly kFirst: number;
  private readonly M: number;
  private readonly stream: SampleStream | null;
  private readonly adc: Adc;
  private readonly euler: EulerParams | null;
  private step = 0;
  private samples = 0;
  private saturations = 0;
  private committed = false;
  private finished: CoreRunResult | null = null;
  private readonly total: number;

  constructor(core: RunHost, spec: RunSpec) {
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
    this.adc = new Adc(core.profile.adcBits, core.profile.fullScale);
    this.stream = spec.onSampleBlock ? new SampleStream(this.n, spec.blockSamples, this.K, this.adc, spec.onSampleBlock) : null;

    const { x, x0, sum, k0, k1 } = core._buffers();
    this.euler = this.exact ? null : {
      n: this.n, dt: this.dt, sigma: cfg.kappa0 > 0 ? Math.sqrt((2 * cfg.kappa0) * this.dt) : 0,
      saturate: core.profile.saturate, fullScale: core.profile.fullScale, k0, k1, run: spec.runIndex,
    };
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

  /** Restores the pre-run state after a failure; the run counts as finished with no result. */
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
    const bufs = this.core._buffers();
    const { x, sum } = bufs;
    const params = this.euler!;
    const n = this.n;
    const p = this.stepsPerSample;
    for (; this.step < end; this.step++) {
      const s = this.step;
      const inDelay = s < this.delaySteps;
      if (!inDelay) this.commit();
      const sys = inDelay ? this.spec.old! : this.spec.next;
      const sats = eulerStep(sys.op, sys.g, s, params, bufs);
      if (sats < 0) fail('diverged', `state left ±${DIVERGENCE_LIMIT} at step ${s} (Euler unstable for dt·λmax > 2, or A not positive definite)`);
      this.saturations += sats;
      if (!inDelay) {
        const j = s - this.delaySteps + 1;
        if (j % p === 0) {
          const k = j / p;
          if (k >= this.kFirst && k <= this.K) {
            for (let i = 0; i < n; i++) sum[i] = sum[i] + x[i];
            this.samples++;
            this.stream?.push(k, x);
          }
        }
      }
    }
    if (this.step >= this.total) this.finish();
  }

  private exactSegment(sys: System, plan: SegmentPlan, segment: number, outMean: Float64Array | null): void {
    const { x, scratch, k0, k1 } = this.core._buffers();
    const addr = { k0, k1, segment, run: this.spec.runIndex };
    const kappa = this.spec.cfg.kappa0;
    const op = sys.op;
    if (op.kind === 'dense') exactDense(op, sys.g, x, kappa, plan, addr, scratch, x, outMean);
    else if (op.kind === 'layered') exactLayered(op, sys.g, x, kappa, plan, addr, scratch, x, outMean);
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
        this.stream?.push(k, x);
        if (k === this.K && post > 0) this.exactSegment(this.spec.next, { pre: post, dt: 0, m: 0, post: 0 }, 3 + this.M, null);
      }
    }
    if (this.step >= this.total) this.finish();
  }

  private finish(): void {
    if (this.finished) return;
    const { x, sum } = this.core._buffers();
    const profile = this.core.profile;
    const meanDiv = this.exact && this.mainSteps === 1 ? 1 : this.samples;
    const clampRails = this.exact && profile.saturate;
    const { mean, final, clamps } = readFinal(this.n, x, sum, meanDiv, clampRails, profile.fullScale, this.adc);
    const sats = this.saturations + clamps;
    this.stream?.flush(true);
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
  abort(): CoreRunResult {
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

  result(): CoreRunResult {
    if (!this.finished) fail('state', 'run not complete');
    return this.finished;
  }
}
