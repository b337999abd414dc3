// What the host knows the device holds: the last committed configuration, curvature, gradient and
// state, and (on an emulator) its run counter. Every state-changing call records here once the
// device has confirmed it; replay() re-sends it all to a device that lost it (a fresh link after
// reconnect, or a firmware reboot on a live link), so that a run repeated after the restore gives
// the result it would have given without the fault (PROTOCOL.md §7.3.1).
import type { ConfigureRequest, ReplyBody } from '../protocol/index.ts';
import type { NumericArray, Readout, UploadOptions } from './types.ts';
import type { PreparedUpload } from './uploads.ts';

interface Recorded {
  /** as sent, without runIndex (the counter is recorded below: it moves with every run) */
  configure?: ConfigureRequest;
  /** the upload as sent (wire tensors own their bytes): the caller may reuse its J buffer */
  curvature?: { prepared: PreparedUpload<'Curvature'>; opts: UploadOptions };
  gradient?: { g: Float64Array; opts: UploadOptions };
  /** last known state x: set by the host, or the final vector of the last run */
  state?: { x: Float64Array } | { reset: true };
  n?: number;
  /**
   * An emulator's run counter after the last Configure or the last run whose results reached the
   * host (matching `state`): a run that failed on its way to the host is not counted.
   */
  runIndex?: number;
}

/** How replay() reaches the device; the driver supplies it over its current channel. */
export interface ReplayTarget {
  /** Configure.runIndex is honoured (an emulator at protocol ≥ 1.1). */
  readonly canSetRunIndex: boolean;
  configure(req: ConfigureRequest): Promise<ReplyBody<'Configure'>>;
  sendCurvature(prepared: PreparedUpload<'Curvature'>, opts: UploadOptions): Promise<unknown>;
  sendVector(op: 'Gradient' | 'StateSet', v: Float64Array, opts: UploadOptions): Promise<unknown>;
  stateReset(): Promise<unknown>;
}

/** A Float64Array of its own (a Float64Array is sliced: one memcpy, not an element-wise from()). */
const ownCopy = (v: NumericArray): Float64Array => (v instanceof Float64Array ? v.slice() : Float64Array.from(v as ArrayLike<number>));

export class SessionRecord {
  private rec: Recorded = {};

  /** See Recorded.runIndex; undefined before the first Configure and on devices without a counter. */
  get runIndex(): number | undefined {
    return this.rec.runIndex;
  }

  /** N of the loaded curvature (0 before one). */
  get n(): number {
    return this.rec.n ?? 0;
  }

  get readout(): Readout {
    return this.rec.configure?.readout ?? 'both';
  }

  /** Configure confirmed: `sent` without runIndex, `runIndex` as the device reports it. */
  configured(sent: ConfigureRequest, runIndex: number | undefined): void {
    this.rec.configure = sent;
    // what the device reports: a new seed or profile restarts its counter
    this.rec.runIndex = runIndex;
  }

  curvatureLoaded(prepared: PreparedUpload<'Curvature'>, opts: UploadOptions): void {
    this.rec.curvature = { prepared, opts };
    if (this.rec.n !== prepared.n) {
      // A new dimension invalidates a gradient or state of the old one.
      delete this.rec.gradient;
      delete this.rec.state;
    }
    this.rec.n = prepared.n;
  }

  gradientLoaded(g: NumericArray, opts: UploadOptions): void {
    this.rec.gradient = { g: ownCopy(g), opts };
  }

  stateSet(x: NumericArray): void {
    this.rec.state = { x: ownCopy(x) };
  }

  stateReset(): void {
    this.rec.state = { reset: true };
  }

  /** A run's final state reached the host. */
  finalState(x: Float64Array): void {
    this.rec.state = { x };
  }

  /** A run reached the host: now it counts. */
  runCounted(runIndex: number): void {
    this.rec.runIndex = runIndex;
  }

  /** DeviceReset: the device dropped everything, and so does the record. */
  clear(): void {
    this.rec = {};
  }

  /** What replay() would send (for the log). */
  summary(): { configure: boolean; curvature: boolean; gradient: boolean; state: boolean; runIndex: number | undefined } {
    const r = this.rec;
    return { configure: !!r.configure, curvature: !!r.curvature, gradient: !!r.gradient, state: !!r.state, runIndex: r.runIndex };
  }

  /** Re-sends the recorded configuration (with the run counter where honoured), curvature, gradient and state. */
  async replay(to: ReplayTarget): Promise<void> {
    const rec = this.rec;
    if (!rec.configure) return;
    const req: ConfigureRequest = { ...rec.configure };
    if (rec.runIndex !== undefined && to.canSetRunIndex) req.runIndex = rec.runIndex;
    const r = await to.configure(req);
    rec.runIndex = r.runIndex;
    if (rec.curvature) await to.sendCurvature(rec.curvature.prepared, rec.curvature.opts);
    if (rec.gradient) await to.sendVector('Gradient', rec.gradient.g, rec.gradient.opts);
    if (rec.state && 'x' in rec.state) await to.sendVector('StateSet', rec.state.x, {});
    else if (rec.state) await to.stateReset();
  }
}
