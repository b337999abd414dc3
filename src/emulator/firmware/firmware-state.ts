// The one explicit state of the emulated device: what the handlers (handlers/*.ts) read and
// change, and the outbox they answer through. Nothing here decides protocol behaviour; the
// handlers do. Grouped as the spec describes the device (PROTOCOL.md §4 state, §7 system and
// runs, §8 transfers, §9.3 error queue).
import type { Logger } from 'pino';
import {
  DeviceFaultError,
  ErrorCode,
  FEATURE_SINCE_MINOR,
  PROTOCOL_VERSION,
  MIN_MAX_FRAME_BYTES,
  ProtocolError,
  ResourceError,
  ValueRangeError,
  errorMessageFrom,
  StateError,
} from '../../protocol/index.ts';
import type { DeviceState, FrameDecoder, FrameHeader, LinkMessage, Message, OpName, ReplyBody, RequestBody } from '../../protocol/index.ts';
import { PhysicsError, SpuCore } from '../physics/index.ts';
import type { RunConfig, CoreRunHandle } from '../physics/index.ts';
import { ErrorQueue } from './error-queue.ts';
import { deviceProfile } from './options.ts';
import type { ResolvedOptions } from './options.ts';
import type { Outbox } from './outbox.ts';
import { Staging } from './transfers.ts';
import { wireErrorOfPhysics } from './uploads.ts';
import type { CurvatureLoad } from './uploads.ts';

export type RunFlag = ReplyBody<'Run'>['flags'][number];
export type Feature = ResolvedOptions['capabilities']['features'][number];
export type Readout = RequestBody<'Configure'>['readout'];

export interface FirmwareIo {
  /** One complete encoded frame (with its 0x00 delimiter) toward the host. */
  send(frame: Buffer, info: { kind: string; requestId: number }): void;
  /**
   * True while the host is reached by messages instead of bytes (the in-process message link):
   * outgoing messages then go to `deliver` validated but unencoded.
   */
  messageLevel?(): boolean;
  /** One validated message toward the host (message-level links only). */
  deliver?(m: LinkMessage, info: { kind: string; requestId: number }): void;
  /** A request passed the decoder; the device-side fault layer may swallow it. */
  admit?(op: OpName, requestId: number): boolean;
  /** After each run chunk, with the analog time covered (link-drop faults). */
  onRunProgress?(tau: number): void;
  /** True while the host is not reading fast enough: a run waits (UART FIFO full) rather than piling up sample events. */
  congested?(): boolean;
  /** Before a BulkChunk is stored (link-drop faults); false = the link is gone, drop the request. */
  onBulkChunk?(): boolean;
  logger: Logger;
}

export interface StoredResult {
  runId: number;
  n: number;
  sampleCount: number;
  analogTimeTau: number;
  saturationCount: number;
  clipCount: number;
  flags: RunFlag[];
  /** absent when the run produced no vectors (diverged, not positive definite) */
  mean: Float64Array | null;
  final: Float64Array | null;
}

export interface ActiveRun {
  runId: number;
  requestId: number;
  handle: CoreRunHandle;
  startedMs: number;
  chunkSteps: number;
  /** sample-event bytes emitted during the current chunk (bounds the overshoot past congestion) */
  chunkStreamBytes: number;
}

/** What is in force: the last successful Curvature/Gradient, kept as uploaded (f64) so a new
 *  seed or profile can re-realise it on a fresh analog core. */
export interface Committed {
  curvature: CurvatureLoad | null;
  /** the core refused A as not positive definite: runs report the flag instead of running */
  notPd: boolean;
  gradient: Float64Array | null;
}

export type SampleRing = ReplyBody<'SamplesRead'>['blocks'];

export const u32 = (x: number): number => Math.floor(x) >>> 0;
export const next32 = (x: number): number => (x >= 0xffffffff ? 1 : x + 1);

export class FirmwareState {
  readonly opts: ResolvedOptions;
  readonly io: FirmwareIo;
  readonly log: Logger;
  readonly staging: Staging;
  /** set once by the Firmware façade (the decoder's fault callback needs the state first) */
  decoder!: FrameDecoder;
  /** set once by the Firmware façade */
  out!: Outbox;

  // ———— session (§5)
  bootMs: number;
  state: DeviceState = 'IDLE';
  hostMaxFrame = MIN_MAX_FRAME_BYTES;
  sessionId = 0;
  /** the minor negotiated by the last Hello (features newer than it are neither advertised nor honoured) */
  sessionMinor: number = PROTOCOL_VERSION.minor;
  /** powered off: nothing more is sent, input is ignored */
  dead = false;
  /** bumped when the host side of the link goes away (a chunk in progress is then dropped) */
  linkGen = 0;
  /** the next frame starts with a 0x00, ending whatever fragment the host holds (§2: after power-on or a new link) */
  leadingDelimiter = true;
  errors: ErrorQueue;

  // ———— the analog core and what is loaded into it (§7)
  seed: number;
  profile: string;
  core: SpuCore;
  readout: Readout = 'both';
  runConfig: RunConfig | null = null;
  committed: Committed = { curvature: null, notPd: false, gradient: null };
  /** bytes the analog core holds: the system the next run uses and the one the last run used */
  coreBytes = { next: 0, live: 0 };
  curvatureId = 0;
  /** a run happened on this core, so a delay has a previous system to evolve under */
  hasLive = false;

  // ———— runs, results and the sample ring (§7.6, §7.7)
  runCounter = 0;
  lastRunId = 0;
  results: StoredResult | null = null;
  run: ActiveRun | null = null;
  ring: SampleRing = [];
  ringNext = 0;

  constructor(opts: ResolvedOptions, io: FirmwareIo) {
    this.opts = opts;
    this.io = io;
    this.log = io.logger;
    this.bootMs = opts.now();
    this.seed = opts.seed;
    this.profile = opts.profile;
    this.core = this.newCore(this.profile, this.seed);
    this.errors = new ErrorQueue(opts.capabilities.errorQueueDepth);
    this.staging = new Staging(opts.capabilities.maxOpenTransfers, opts.capabilities.bulkWindow, opts.maxRank);
  }

  uptime(): number {
    return u32(this.opts.now() - this.bootMs);
  }

  newCore(profile: string, seed: number): SpuCore {
    return new SpuCore({ maxCells: this.opts.maxCells, maxRank: this.opts.maxRank, profile: deviceProfile(this.opts, profile)!, seed });
  }

  has(f: Feature): boolean {
    return this.opts.capabilities.features.includes(f) && (FEATURE_SINCE_MINOR[f] ?? 0) <= this.sessionMinor;
  }

  needFeature(f: Feature, what: string): void {
    if (!this.has(f)) throw new ValueRangeError(ErrorCode.DTYPE_UNSUPPORTED, `${what} needs feature '${f}', which this device does not advertise`);
  }

  /** The run counter as replies carry it (PROTOCOL.md §7.3.1): only when advertising 'emulator'. */
  reportedRunIndex(): { runIndex?: number } {
    return this.has('emulator') ? { runIndex: this.core.runIndex } : {};
  }

  memoryUsed(): number {
    const c = this.committed;
    return this.staging.bytes + (c.curvature?.bytes ?? 0) + 8 * (c.gradient?.length ?? 0) + this.coreBytes.next + this.coreBytes.live;
  }

  checkMemory(extra: number, freed: number, what: string): void {
    const inUse = this.memoryUsed() - freed;
    if (inUse + extra > this.opts.memoryBytes)
      throw new ResourceError(ErrorCode.OUT_OF_MEMORY, `${what} needs ${extra} bytes; ${inUse} of ${this.opts.memoryBytes} are in use`, { needed: extra, inUse, budget: this.opts.memoryBytes });
  }

  committedN(): number {
    const n = this.committed.curvature?.n;
    if (n === undefined) throw new StateError(ErrorCode.NO_CURVATURE, 'no committed curvature: upload one first');
    return n;
  }

  asProtocolError(e: unknown): ProtocolError {
    if (e instanceof ProtocolError) return e;
    if (e instanceof PhysicsError) return wireErrorOfPhysics(e);
    this.log.error({ err: e }, 'internal error while serving a request');
    return new DeviceFaultError(ErrorCode.INTERNAL, `internal error: ${(e as Error)?.message ?? String(e)}`);
  }

  queueError(e: ProtocolError, requestId: number, type: number): void {
    this.errors.push({ code: e.code, message: e.message, requestId, type, uptimeMs: this.uptime() });
  }

  /** Answers a request with an Error and queues it (every Error sent is queued, §9.3). */
  fail(header: Pick<FrameHeader, 'requestId' | 'type'>, e: ProtocolError): void {
    this.queueError(e, header.requestId, header.type);
    this.log.debug({ code: e.code, requestId: header.requestId, type: header.type, msg: e.message }, 'request refused');
    this.out.send(errorMessageFrom(e, header.type), header.requestId);
  }

  reply<K extends OpName>(op: K, body: ReplyBody<K>, requestId: number): void {
    this.out.send({ kind: `${op}Reply`, body } as Message, requestId);
  }
}
