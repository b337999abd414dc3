// TNGD: the search direction is the SPU's readout after it relaxes under dx = −(A x − g) dt + noise,
// A = scale·JᵀHJ + λI from the batch's curvature factors (uploaded factored, never N×N), g the
// batch gradient. SgdRule (TNGD) or AdamRule (TNGD-Adam; the paper used β₁ = β₂ = 0) applies it.
//
// Pipelined mode (the paper's asynchronous loop): step k uploads (A_k, g_k) and starts run k, then
// returns while the device runs, so the host computes the next gradient meanwhile; the direction
// applied at step k is the readout of run k−1 (at step 1, the gradient itself: Algorithm 1's
// x ← ∇ℓ(θ₀)). Non-pipelined: step k waits for run k and applies its readout.
//
// Device state for checkpoints (saveDevice/restoreDevice): the carried x, the emulator's run
// counter (noise is keyed by run index; a fresh emulator is set to it by Configure, PROTOCOL.md
// §7.3.1) and, with a delay, the parameters at which the last system was built (rebuilt and run
// once on resume, because a delayed run first evolves under the previous system).
//
// Over ~400 lines on purpose: the step, the pipelined step, checkpointing and the device-error
// translation share one device session and its carried state; split, each piece would need the
// others' private state (options live in tngd-registry.ts, core folding in tngd-fold.ts, state
// traces in tngd-trace.ts).
import { z } from 'zod';
import { HostLoopError } from '../errors.ts';
import type { SpuDriver } from '../../driver/driver.ts';
import { curvatureRefusalOf, unstableStepOf } from '../../driver/errors.ts';
import type { RunResult } from '../../driver/types.ts';
import type { BatchOracle, CurvatureFactors, LayeredFactors } from '../types.ts';
import { FactorWorkspace } from '../curvature/factors.ts';
import type { DirectionSource, DirectionStats } from './direction.ts';
import { OptimizerLimitError, OptimizerStateError } from './errors.ts';
import { curvatureFormSchema, ngdBaseShape } from './ngd.ts';
import { foldCore, layeredUpload, psdCore } from './tngd-fold.ts';
import { loadVec, parseState, saveVec, vecSchema } from './state-codec.ts';
import { beginTrace, type StateTraceSink } from './tngd-trace.ts';

const num = (name: string) => z.number({ error: `${name} must be a number` }).finite(`${name} must be finite`);

export const tngdShape = {
  ...ngdBaseShape,
  /** analog run time per step, in τ */
  tTau: num('tTau').positive('tTau (analog time t) must be > 0').default(5),
  /** noise strength κ₀ */
  kappa0: num('kappa0').min(0, 'kappa0 must be ≥ 0').default(1e-3),
  // exact by default: Euler with δt = 0.1τ (the paper's) needs δt·λmax(A) < 2, and λmax of the GGN grows
  // to ~20 during training on the shipped data; the emulator then refuses the run (unstable-step,
  // EMULATOR.md §9.1.1) and training stops naming the fix (see unstableStep).
  integrator: z.enum(['euler', 'exact'], { error: "integrator must be 'euler' or 'exact'" }).default('exact'),
  /** Euler step δt in τ */
  dt: num('dt').positive('dt must be > 0').default(0.1),
  /** readout sample period Δ in τ (default δt); the mean averages the samples at k·Δ */
  samplePeriod: num('samplePeriod').positive('samplePeriod must be > 0').optional(),
  /** average only the last `window` τ of the run (0 = the whole run) */
  window: num('window').min(0, 'window must be ≥ 0').default(0),
  start: z.enum(['carry', 'reset', 'gradient'], { error: "start must be 'carry', 'reset' or 'gradient'" }).default('carry'),
  /** t_d in τ: first evolve this long under the previous system */
  delay: num('delay').min(0, 'delay must be ≥ 0').default(0),
  readout: z.enum(['mean', 'final'], { error: "readout must be 'mean' or 'final'" }).default('mean'),
  pipelined: z.boolean().default(false),
  /** wire dtype of uploads; auto = the most precise the device takes */
  dtype: z.enum(['auto', 'f64', 'f32', 'i16'], { error: 'dtype must be auto, f64, f32 or i16' }).default('auto'),
  /**
   * How the core H goes to the device: 'block' as is (b blocks dz×dz), 'folded' into the factor
   * (U = LᵀJ, identity core; needed for f32/i16 uploads of a singular CE core), 'auto' = folded
   * for layered uploads and for f32/i16, block otherwise.
   */
  core: z.enum(['auto', 'block', 'folded'], { error: 'core must be auto, block or folded' }).default('auto'),
  /**
   * How J goes to the device: 'layered' per layer (dense layers as inputs and sensitivities; the
   * host never writes the r × N J; devices without the 'layered-curvature' feature get it
   * expanded by the driver), 'explicit' the r × N J, 'auto' layered when the model emits it and
   * the device takes it.
   */
  curvatureForm: curvatureFormSchema,
};

/** What one upload carries: explicit factors, or layered ones (told apart by `layers`). */
export type UploadFactors = CurvatureFactors | LayeredFactors;

export function isLayered(f: UploadFactors): f is LayeredFactors {
  return 'layers' in f;
}

/** |t/unit − round(t/unit)| within the device's tolerance (EMULATOR.md §8). */
function isMultiple(t: number, unit: number): boolean {
  const c = Math.round(t / unit);
  return c >= 1 && Math.abs(c * unit - t) <= 1e-9 * Math.max(Math.abs(t), unit);
}

function checkTimes(o: { tTau: number; dt: number; samplePeriod?: number; window: number; delay: number; integrator: string }, ctx: z.RefinementCtx): void {
  const period = o.samplePeriod ?? o.dt;
  const issue = (path: string, message: string): void => ctx.addIssue({ code: 'custom', path: [path], message });
  if (o.integrator === 'euler') {
    if (!isMultiple(o.tTau, o.dt)) issue('tTau', `tTau = ${o.tTau} must be a whole number of Euler steps dt = ${o.dt}`);
    if (o.delay > 0 && !isMultiple(o.delay, o.dt)) issue('delay', `delay = ${o.delay} must be a whole number of Euler steps dt = ${o.dt}`);
    if (!isMultiple(period, o.dt)) issue('samplePeriod', `samplePeriod = ${period} must be a whole number of Euler steps dt = ${o.dt}`);
  }
  if (period > o.tTau * (1 + 1e-9)) issue('samplePeriod', `samplePeriod = ${period} is longer than the run tTau = ${o.tTau}: no sample to read`);
  if (o.window > 0 && !isMultiple(o.window, period)) issue('window', `window = ${o.window} must be a whole number of sample periods ${period}`);
}

function nesterovNeedsMomentum(o: { nesterov: boolean; momentum: number }, ctx: z.RefinementCtx): void {
  if (o.nesterov && o.momentum === 0) ctx.addIssue({ code: 'custom', path: ['nesterov'], message: 'nesterov needs momentum > 0' });
}

export const tngdOptionsSchema = z.strictObject(tngdShape).superRefine(checkTimes).superRefine(nesterovNeedsMomentum);
/** TNGD-Adam: the device readout fed to Adam; β₁ = β₂ = 0 by default as in the paper. */
export const tngdAdamOptionsSchema = z
  .strictObject({
    ...tngdShape,
    inner: z.literal('adam', { error: "tngd-adam always uses the Adam rule (use tngd --inner sgd for SGD)" }).default('adam'),
    beta1: tngdShape.beta1.removeDefault().default(0),
    beta2: tngdShape.beta2.removeDefault().default(0),
  })
  .superRefine(checkTimes)
  .superRefine(nesterovNeedsMomentum);

export type TngdOptions = z.output<typeof tngdOptionsSchema>;

/** Raised when the device cannot produce a usable direction (not PD, diverged, no vectors). */
export class TngdDeviceError extends HostLoopError {
  readonly category = 'device';
}

/** What the training loop needs to put the device back after a resume. */
export interface TngdRestoreHooks {
  /** the batch oracle of the last completed iteration, evaluated at `params` */
  lastBatchAt(params: Float64Array): BatchOracle;
}

const deviceStateSchema = z.strictObject({
  version: z.literal(1),
  /** the emulator's run counter after the last run (runs started, plus a delay's priming run); 0 on hardware */
  coreRuns: z.number().int().min(0).max(0xffffffff),
  hasRun: z.boolean(),
  /** device state x after the last run (start = carry) */
  x: vecSchema,
  /** parameters at which the last uploaded system was built (delay > 0) */
  theta: vecSchema,
});
export type TngdDeviceState = z.infer<typeof deviceStateSchema>;

const settledSchema = z.strictObject({ deviceTau: z.number(), bytesIn: z.number(), saturations: z.number() });
const sourceStateSchema = z.strictObject({ pending: vecSchema, settled: settledSchema.nullable() });
type Settled = z.infer<typeof settledSchema>;

const hr = (): bigint => process.hrtime.bigint();
const secs = (a: bigint, b: bigint): number => Number(b - a) / 1e9;

export class TngdDirection implements DirectionSource {
  private configured = false;
  private hasRun = false;
  private x: Float64Array | null = null;
  private theta: Float64Array | null = null;
  /** pipelined: the run in flight and the readout waiting to be applied */
  private inflight: Promise<RunResult> | null = null;
  private pending: Float64Array | null = null;
  /** accounting of a run settled between steps (for a checkpoint), reported with the next step */
  private settled: Settled | null = null;
  /** its split into rail saturations and ADC clips (not checkpointed: the sum is) */
  private settledSplit: { rail: number; adc: number } | null = null;
  private readonly samplePeriod: number;
  private readonly fold: boolean;
  /** stability bound of the run in flight (see checkBounded); null = unknown (e.g. after resume) */
  private bound: number | null = null;
  private prevGradNorm = 0;
  private foldBuf: Float64Array | undefined;
  private readonly foldPool = new FactorWorkspace();

  constructor(
    readonly driver: SpuDriver,
    readonly opts: TngdOptions,
    /** emulator noise seed sent with Configure (undefined: leave the device's seed) */
    private readonly seed?: number,
    /** records a few cells' x(t) of some runs (live page); null: never stream samples */
    private readonly traceSink: StateTraceSink | null = null,
  ) {
    this.samplePeriod = opts.samplePeriod ?? opts.dt;
    this.fold = opts.core === 'folded' || (opts.core === 'auto' && (opts.dtype === 'f32' || opts.dtype === 'i16'));
  }

  /** Layered uploads for this batch? ('auto': when the batch has them and the device takes them.) */
  private layeredFor(batch: BatchOracle): boolean {
    const form = this.opts.curvatureForm;
    if (form === 'explicit') return false;
    if (!batch.layered) {
      if (form === 'layered') throw new OptimizerLimitError("tngd: curvatureForm 'layered' needs a model that emits per-layer factors (dense and conv MLPs through makeBatchOracle); use 'auto' or 'explicit'");
      return false;
    }
    return form === 'layered' || this.driver.capabilities.features.includes('layered-curvature');
  }

  /** The factors as uploaded (folded when configured). */
  private factorsOf(batch: BatchOracle): UploadFactors {
    if (this.layeredFor(batch)) {
      return layeredUpload(batch, this.opts.curvature, this.opts.core, this.foldPool);
    }
    const f = batch.curvature(this.opts.curvature);
    if (!this.fold) return psdCore(f);
    if (!this.foldBuf || this.foldBuf.length < f.r * f.n) this.foldBuf = new Float64Array(f.r * f.n);
    return foldCore(f, this.foldBuf);
  }

  private get emulator(): boolean {
    return this.driver.capabilities.features.includes('emulator');
  }

  private async configure(runIndex?: number): Promise<void> {
    if (this.configured && runIndex === undefined) return;
    const o = this.opts;
    // With start = carry the final state is read too: it is the device state a checkpoint keeps.
    const readout = o.readout === 'final' ? 'final' : o.start === 'carry' ? 'both' : 'mean';
    await this.driver.configure({
      kappa0: o.kappa0,
      readout,
      samplePeriodTau: this.samplePeriod,
      windowTau: o.window,
      burnInTau: 0,
      integrator: o.integrator === 'exact' ? { kind: 'exact' } : { kind: 'euler', dtTau: o.dt },
      ...(this.seed !== undefined && this.emulator ? { seed: this.seed } : {}),
      ...(runIndex !== undefined ? { runIndex } : {}),
    });
    this.configured = true;
  }

  /**
   * Encodes and sends A and g (the driver reads f64 arrays in place until the upload settles:
   * `sent` is awaited before the next step reuses the factor workspaces). Resolves with
   * the tensor bytes sent (payload, without framing: deterministic, unlike link byte counts that
   * include heartbeats and request ids).
   */
  private upload(f: UploadFactors, g: Float64Array): { sent: Promise<{ bytes: number; dacClips: number }>; encodeSeconds: number } {
    const t0 = hr();
    const dtype = this.opts.dtype;
    const lambda = this.opts.damping;
    const a = this.driver
      .uploadCurvature(
        isLayered(f)
          ? { form: 'layered', n: f.n, r: f.r, b: f.b, layers: f.layers, core: f.core, scale: f.scale, lambda }
          : { form: 'factored', n: f.n, r: f.r, J: f.J, core: f.core, scale: f.scale, lambda },
        { dtype },
      )
      .catch((e: unknown) => {
        throw this.curvatureRefused(e) ?? e;
      });
    const b = this.driver.uploadGradient(g, { dtype });
    return { sent: Promise.all([a, b]).then(([ra, rb]) => ({ bytes: ra.bytes + rb.bytes, dacClips: ra.saturated + rb.saturated })), encodeSeconds: secs(t0, hr()) };
  }

  /** f64 payload of the vectors a run's results carried. */
  private static bytesRead(res: RunResult): number {
    return 8 * ((res.mean?.length ?? 0) + (res.final?.length ?? 0));
  }

  private setBound(g: Float64Array): void {
    const o = this.opts;
    let gg = 0;
    for (let i = 0; i < g.length; i++) gg += g[i] * g[i];
    const gNorm = Math.sqrt(gg);
    let x0 = 0;
    if (o.start === 'gradient') x0 = gNorm;
    else if (o.start === 'carry') {
      if (this.hasRun && this.x === null) {
        this.bound = null; // carried state unknown to the host
        this.prevGradNorm = gNorm;
        return;
      }
      let xx = 0;
      if (this.x) for (let i = 0; i < this.x.length; i++) xx += this.x[i] * this.x[i];
      x0 = Math.sqrt(xx);
    }
    const drive = Math.max(gNorm, o.delay > 0 ? this.prevGradNorm : 0) / o.damping;
    this.bound = x0 + drive + 6 * Math.sqrt((g.length * o.kappa0) / o.damping) + 1e-300;
    this.prevGradNorm = gNorm;
  }

  private startRun(f: UploadFactors, g: Float64Array): Promise<RunResult> {
    const o = this.opts;
    this.hasRun = true;
    const trace =
      this.traceSink && this.driver.capabilities.features.includes('sample-stream') && this.traceSink.wantRun(o.integrator === 'euler' || o.kappa0 === 0)
        ? beginTrace(this.traceSink, { factors: f, g, lambda: o.damping, kappa0: o.kappa0, samplePeriodTau: this.samplePeriod })
        : null;
    const h = this.driver.run({ durationTau: o.tTau, start: o.start, ...(o.delay > 0 ? { delayTau: o.delay } : {}), ...(trace ? { streamSamples: true } : {}) });
    trace?.follow(h);
    // Check the run's flags before its results are fetched: a failed run has no vectors.
    return h.ended.then(
      (reply) => {
        this.checkFlags(reply.runId, reply.flags);
        return h.result;
      },
      (e: unknown) => {
        throw this.unstableStep(e) ?? e;
      },
    );
  }

  /**
   * An emulator refuses an Euler run whose step is unstable for the uploaded A (δt·λmax ≥ 1.875,
   * EMULATOR.md §9.1.1) with OUT_OF_RANGE, detail.reason 'unstable-step': say what to change.
   */
  private unstableStep(e: unknown): TngdDeviceError | null {
    const u = unstableStepOf(e);
    if (!u) return null;
    const p = (v: number, d: number): string => (Number.isFinite(v) ? v.toPrecision(d) : '?');
    // λmax grows during training: suggest a step with headroom, rounded to 1 significant digit
    const suggest = Number.isFinite(u.maxStableDtTau) ? Number((u.maxStableDtTau / 2).toPrecision(1)) : NaN;
    return new TngdDeviceError(
      `the Euler step dt = ${this.opts.dt} is unstable for this curvature${u.segment === 'delay' ? ' (previous system, delay segment)' : ''}: ` +
        `λmax(A) ≈ ${p(u.lambdaMax, 3)}, dt·λmax ≥ 1.875 — an artefact of the emulator's Euler integrator, not of the analog device; ` +
        `use --integrator exact, or --dt below ${p(u.maxStableDtTau, 2)}` +
        (Number.isFinite(suggest) ? ` (e.g. ${suggest}: λmax grows in training; --t-tau must be a multiple of it)` : '') +
        ', or a larger --lambda',
    );
  }

  /** The device refuses an indefinite core at upload (PROTOCOL.md §7.4.1): say what to change. */
  private curvatureRefused(e: unknown): TngdDeviceError | null {
    const c = curvatureRefusalOf(e);
    if (!c) return null;
    return new TngdDeviceError(
      `the device refused the curvature at upload: ${c.reason}${c.field ? ` (${c.field})` : ''}` +
        (this.opts.dtype !== 'auto' && this.opts.dtype !== 'f64' && !this.fold ? ' (the CE core rounded to low precision is indefinite: use --set core=folded)' : ''),
    );
  }

  private checkFlags(runId: number, flags: readonly string[]): void {
    const bad = flags.filter((f) => f === 'not-positive-definite' || f === 'diverged' || f === 'aborted');
    if (bad.length)
      throw new TngdDeviceError(
        `device run ${runId} ended with ${bad.join(', ')}` +
          (bad.includes('diverged') && this.opts.integrator === 'euler' ? ` (Euler step dt = ${this.opts.dt} may exceed 2/λmax(A): try a smaller --dt, --integrator exact, or a larger --lambda)` : '') +
          (bad.includes('not-positive-definite') && this.opts.dtype !== 'auto' && this.opts.dtype !== 'f64' && !this.fold ? ' (the CE core rounded to low precision is indefinite: use --set core=folded)' : ''),
      );
  }

  /**
   * A stable run cannot leave the ball ‖x‖ ≤ ‖x₀‖ + ‖g‖/λ (plus the noise). Second line of defence:
   * the emulator refuses unstable Euler steps up front (unstable-step), but a device without that
   * check (a 1.0 emulator, another implementation, faulty hardware) may return a state grown
   * geometrically yet below its 1e150 divergence flag.
   */
  private checkBounded(res: RunResult, v: Float64Array): void {
    const b = this.bound;
    if (b === null) return;
    let s = 0;
    for (let i = 0; i < v.length; i++) s += v[i] * v[i];
    const norm = Math.sqrt(s);
    if (!(norm <= 4 * b))
      throw new TngdDeviceError(
        `device run ${res.runId}: readout norm ${norm.toExponential(2)} exceeds the stable bound ${b.toExponential(2)} (‖x₀‖ + ‖g‖/λ + noise)` +
          (this.opts.integrator === 'euler' ? `: the Euler step dt = ${this.opts.dt} is unstable for this curvature (needs dt·λmax(A) < 2): use a smaller --dt or --integrator exact` : ''),
      );
  }

  private readout(res: RunResult, out: Float64Array): void {
    this.checkFlags(res.runId, res.flags);
    const v = this.opts.readout === 'mean' ? res.mean : res.final;
    if (!v || v.length !== out.length) throw new TngdDeviceError(`device run ${res.runId} returned no ${this.opts.readout} vector of length ${out.length}`);
    this.checkBounded(res, v);
    out.set(v);
    if (res.final) this.x = res.final;
  }

  async compute(params: Float64Array, batch: BatchOracle, out: Float64Array): Promise<DirectionStats> {
    const o = this.opts;
    let host = 0;
    await this.configure();
    const tf = hr();
    const f = this.factorsOf(batch);
    host += secs(tf, hr());
    // Kept only once the step succeeds: a step lost with the link must leave the state of the last
    // completed one (what a checkpoint then stores, and what a repeated step starts from).
    const theta = o.delay > 0 ? params.slice() : null;
    let deviceTau = 0;
    let deviceSeconds = 0;
    let saturations = 0;
    // per run: state clamped at the rails, ADC readings clipped, DAC (i16 upload) entries clamped
    let railSaturations = 0;
    let adcClips = 0;
    let dacClips = 0;
    let bytesOut = 0;
    let bytesIn = 0;
    if (!o.pipelined) {
      const up = this.upload(f, batch.grad);
      host += up.encodeSeconds;
      const tw = performance.now();
      ({ bytes: bytesOut, dacClips } = await up.sent);
      this.setBound(batch.grad);
      const res = await this.startRun(f, batch.grad);
      bytesIn = TngdDirection.bytesRead(res);
      deviceSeconds = (performance.now() - tw) / 1e3;
      const tr = hr();
      this.readout(res, out);
      host += secs(tr, hr());
      deviceTau = res.analogTimeTau;
      saturations = res.saturationCount + res.clipCount;
      railSaturations = res.saturationCount;
      adcClips = res.clipCount;
    } else {
      // Encode the next system while the previous run is still going; the driver queues the
      // transfer behind it.
      const up = this.upload(f, batch.grad);
      host += up.encodeSeconds;
      const tw = performance.now();
      if (this.inflight) {
        const res = await this.inflight;
        this.inflight = null;
        this.pending = new Float64Array(out.length);
        this.readout(res, this.pending);
        deviceTau = res.analogTimeTau;
        saturations = res.saturationCount + res.clipCount;
        railSaturations = res.saturationCount;
        adcClips = res.clipCount;
        bytesIn = TngdDirection.bytesRead(res);
      }
      ({ bytes: bytesOut, dacClips } = await up.sent);
      deviceSeconds = (performance.now() - tw) / 1e3;
      this.setBound(batch.grad);
      this.inflight = this.startRun(f, batch.grad);
      // Awaited at the next step; until then a failure must not count as unhandled.
      this.inflight.catch(() => {});
      out.set(this.pending ?? batch.grad);
      this.pending = null;
    }
    if (this.settled) {
      // The run this step applies was awaited earlier (checkpoint): report it here, as without one.
      deviceTau += this.settled.deviceTau;
      bytesIn += this.settled.bytesIn;
      saturations += this.settled.saturations;
      railSaturations += this.settledSplit?.rail ?? 0;
      adcClips += this.settledSplit?.adc ?? 0;
      this.settledSplit = null;
      this.settled = null;
    }
    if (theta) this.theta = theta;
    return { hostSeconds: host, deviceTau, deviceSeconds, bytesOut, bytesIn, saturations, railSaturations, adcClips, dacClips } as DirectionStats;
  }

  /** Waits for a pipelined run in flight and keeps its readout for the next step. */
  async settle(): Promise<void> {
    if (!this.inflight) return;
    const res = await this.inflight;
    this.inflight = null;
    this.pending = new Float64Array(res.n);
    this.readout(res, this.pending);
    this.settled = { deviceTau: res.analogTimeTau, bytesIn: TngdDirection.bytesRead(res), saturations: res.saturationCount + res.clipCount };
    this.settledSplit = { rail: res.saturationCount, adc: res.clipCount };
  }

  saveState(): unknown {
    if (this.inflight) throw new OptimizerStateError('tngd: a device run is in flight; await settle() (or saveDevice()) before saving');
    return { pending: saveVec(this.pending), settled: this.settled };
  }

  loadState(state: unknown): void {
    const s = parseState(sourceStateSchema, state, 'tngd direction');
    this.pending = loadVec(s.pending, 'tngd pending readout');
    this.settled = s.settled;
  }

  /** Device state for a checkpoint; settles a pipelined run first. */
  async saveDevice(): Promise<TngdDeviceState> {
    await this.settle();
    // the counter as the device reported it after the last run whose results arrived
    return { version: 1, coreRuns: this.driver.runIndex ?? 0, hasRun: this.hasRun, x: saveVec(this.x), theta: saveVec(this.theta) };
  }

  /**
   * Puts a freshly connected device into the checkpointed state, at a cost independent of how
   * many runs came before: with a delay the last system is rebuilt and run once (a delayed run
   * first evolves under the previous system); then, on an emulator, Configure sets the run counter
   * to the checkpointed one (the noise continues where it left off) and x is set.
   */
  async restoreDevice(state: unknown, hooks?: TngdRestoreHooks): Promise<void> {
    const s = parseState(deviceStateSchema, state, 'tngd device');
    const x = loadVec(s.x, 'tngd device state x');
    const theta = loadVec(s.theta, 'tngd parameters of the last system');
    const o = this.opts;
    const rebuild = o.delay > 0 && s.hasRun;
    if (rebuild && (!theta || !hooks)) throw new OptimizerStateError('tngd: resuming with a delay needs the parameters of the last system and the last batch');
    // Noise is keyed by run index: without a settable counter the resumed run would draw other noise.
    if (this.emulator && !this.driver.canSetRunIndex && o.kappa0 > 0 && s.coreRuns > 0)
      throw new OptimizerStateError(`tngd: resuming with noise needs an emulator that sets its run counter (protocol ≥ 1.1); this one speaks ${this.driver.info.protocol.major}.${this.driver.info.protocol.minor}`);
    await this.configure();
    if (rebuild) {
      const b = hooks!.lastBatchAt(theta!);
      await this.upload(this.factorsOf(b), b.grad).sent;
      // any run makes it the previous system; its noise index does not matter (the counter is set below)
      const res = await this.driver.run({ durationTau: this.samplePeriod, start: 'carry', fetchResults: false }).result.catch((e: unknown) => {
        throw this.unstableStep(e) ?? e;
      });
      if (res.flags.length) throw new TngdDeviceError(`rebuilding the last system for the delay: the run ended with ${res.flags.join(', ')}`);
    } else if (x) {
      // StateSet needs a committed system of size N; r = 1, J = 0 (A = I) is the cheapest. The
      // next step uploads the real one of the same N, which keeps the state.
      const n = x.length;
      await this.driver.uploadCurvature({ form: 'factored', n, r: 1, J: new Float64Array(n), core: { kind: 'identity' }, scale: 1, lambda: 1 });
      await this.driver.uploadGradient(new Float64Array(n));
    }
    if (this.emulator && this.driver.canSetRunIndex) await this.configure(s.coreRuns);
    if (x) await this.driver.setState(x);
    this.hasRun = s.hasRun;
    this.x = x;
    this.theta = theta;
  }
}
