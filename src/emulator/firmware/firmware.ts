// The emulated firmware: protocol v1 served over a byte stream with the production FrameDecoder
// and codec, the shared state table and the bit-exact SpuCore. Transport-agnostic: bytes come in
// through receive(), frames go out through `io.send`. Normative behaviour:
// firmware-spec/PROTOCOL.md; what this device advertises and chooses: EMULATED-DEVICE.md.
import type { Logger } from 'pino';
import {
  CRC_BYTES,
  DeviceError,
  ErrorCode,
  EVENTS,
  FLAG_ERROR,
  FLAG_EVENT,
  FLAG_REPLY,
  FrameDecoder,
  HEADER_BYTES,
  MIN_MAX_FRAME_BYTES,
  OPERATIONS,
  PROTOCOL_VERSION,
  ProtocolError,
  ProtocolViolationError,
  ResourceError,
  SCHEMA_FINGERPRINT,
  StateError,
  ValueRangeError,
  encodeFrame,
  errorMessageFrom,
  legality,
  maxChunkBytes,
  maxInnerBytes,
  opNameOfType,
  tensorFromFloat64,
} from '../../protocol/index.ts';
import type {
  DecodedFrame,
  DeviceState,
  FrameFault,
  FrameHeader,
  Message,
  OpName,
  ReplyBody,
  RequestBody,
  RequestMessage,
} from '../../protocol/index.ts';
import { PhysicsError, SpuCore } from '../physics/index.ts';
import type { RunConfig, CoreRunHandle, CoreRunResult, CoreSampleBlock } from '../physics/index.ts';
import { ErrorQueue } from './error-queue.ts';
import { deviceProfile, profileOf } from './options.ts';
import type { ResolvedOptions } from './options.ts';
import { Staging } from './transfers.ts';
import { TensorResolver, curvatureLoad, vectorLoad, wireErrorOfPhysics } from './uploads.ts';
import type { CurvatureLoad } from './uploads.ts';

type Flag = ReplyBody<'Run'>['flags'][number];
type Feature = ResolvedOptions['capabilities']['features'][number];
type Readout = RequestBody<'Configure'>['readout'];

export interface FirmwareIo {
  /** One complete encoded frame (with its 0x00 delimiter) toward the host. */
  send(frame: Buffer, info: { kind: string; requestId: number }): void;
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

interface StoredResult {
  runId: number;
  n: number;
  sampleCount: number;
  analogTimeTau: number;
  saturationCount: number;
  clipCount: number;
  flags: Flag[];
  /** absent when the run produced no vectors (diverged, not positive definite) */
  mean: Float64Array | null;
  final: Float64Array | null;
}

interface ActiveRun {
  runId: number;
  requestId: number;
  handle: CoreRunHandle;
  startedMs: number;
  chunkSteps: number;
  /** sample-event bytes emitted during the current chunk (bounds the overshoot past congestion) */
  chunkStreamBytes: number;
}

/** A streamed run's chunk emits at most about this much, so output waiting for a slow host stays
 *  within the link's high-water mark plus one chunk, whatever the machine's speed. */
const STREAM_CHUNK_BYTES = 32 * 1024;

/** What is in force: the last successful Curvature/Gradient, kept as uploaded (f64) so a new
 *  seed or profile can re-realise it on a fresh analog core. */
interface Committed {
  curvature: CurvatureLoad | null;
  /** the core refused A as not positive definite: runs report the flag instead of running */
  notPd: boolean;
  gradient: Float64Array | null;
}

const u32 = (x: number): number => Math.floor(x) >>> 0;
const next32 = (x: number): number => (x >= 0xffffffff ? 1 : x + 1);
const RUN_TYPE = OPERATIONS.Run.type;

export class Firmware {
  readonly decoder: FrameDecoder;
  private readonly opts: ResolvedOptions;
  private readonly io: FirmwareIo;
  private readonly log: Logger;
  private bootMs: number;
  private state: DeviceState = 'IDLE';
  private seed: number;
  private profile: string;
  private core: SpuCore;
  private readout: Readout = 'both';
  private runConfig: RunConfig | null = null;
  private errors: ErrorQueue;
  private readonly staging: Staging;
  private committed: Committed = { curvature: null, notPd: false, gradient: null };
  /** bytes the analog core holds: the system the next run uses and the one the last run used */
  private coreBytes = { next: 0, live: 0 };
  private curvatureId = 0;
  private runCounter = 0;
  private lastRunId = 0;
  /** a run happened on this core, so a delay has a previous system to evolve under */
  private hasLive = false;
  private results: StoredResult | null = null;
  private run: ActiveRun | null = null;
  private ring: ReplyBody<'SamplesRead'>['blocks'] = [];
  private ringNext = 0;
  private hostMaxFrame = MIN_MAX_FRAME_BYTES;
  private sessionId = 0;
  private dead = false;
  private linkGen = 0;
  /** the next frame starts with a 0x00, ending whatever fragment the host holds (§2: after power-on or a new link) */
  private leadingDelimiter = true;

  constructor(opts: ResolvedOptions, io: FirmwareIo) {
    this.opts = opts;
    this.io = io;
    this.log = io.logger;
    this.bootMs = opts.now();
    this.seed = opts.seed;
    this.profile = opts.profile;
    this.core = this.newCore();
    this.errors = new ErrorQueue(opts.capabilities.errorQueueDepth);
    this.staging = new Staging(opts.capabilities.maxOpenTransfers, opts.capabilities.bulkWindow);
    this.decoder = new FrameDecoder({ maxFrameBytes: opts.maxFrameBytes, onFault: (f) => this.onFault(f) });
  }

  // ————————————————————————————————————————— link side

  receive(chunk: Uint8Array): void {
    if (this.dead) return;
    const link = this.linkGen;
    for (const f of this.decoder.push(chunk)) {
      // a link lost mid-chunk takes the rest of the chunk with it
      if (this.dead || this.linkGen !== link) return;
      this.onFrame(f);
    }
  }

  /** Power-off: a run stops, nothing more is sent, input is ignored. */
  shutdown(): void {
    this.dead = true;
    this.run = null;
  }

  /** A detected hardware fault: the device enters FAULT; a run in progress ends with HARDWARE_FAULT. */
  enterFault(reason: string): void {
    const e = new DeviceError(ErrorCode.HARDWARE_FAULT, reason);
    const r = this.run;
    this.run = null;
    this.state = 'FAULT';
    if (r) this.fail({ type: RUN_TYPE, requestId: r.requestId }, e);
    else this.queueError(e, 0, 0);
    this.log.error({ reason }, 'hardware fault: state FAULT until DeviceReset');
  }

  /** The host side of the link went away: uploads in progress are interrupted (committed ones stay). */
  linkLost(): void {
    this.linkGen++;
    this.leadingDelimiter = true;
    this.decoder.reset();
    const n = this.staging.dropOpen();
    if (n > 0) this.log.info({ dropped: n }, 'link lost: discarded open transfers');
  }

  /** Snapshot for tests and diagnostics (not a protocol message). */
  inspect() {
    const c = this.committed.curvature;
    return {
      state: this.state,
      n: c?.n ?? 0,
      r: c?.r ?? 0,
      notPositiveDefinite: this.committed.notPd,
      gradientN: this.committed.gradient?.length ?? 0,
      curvatureId: this.curvatureId,
      transfers: this.staging.count,
      openTransfers: this.staging.openCount,
      memoryUsed: this.memoryUsed(),
      memoryBudget: this.opts.memoryBytes,
      errorQueueLength: this.errors.length,
      running: this.run !== null,
      runIndex: this.core.runIndex,
      seed: this.seed,
      profile: this.profile,
      hostMaxFrameBytes: this.hostMaxFrame,
      decoderBuffered: this.decoder.buffered,
    };
  }

  private uptime(): number {
    return u32(this.opts.now() - this.bootMs);
  }

  private newCore(): SpuCore {
    return new SpuCore({ maxCells: this.opts.maxCells, maxRank: this.opts.maxRank, profile: deviceProfile(this.opts, this.profile)!, seed: this.seed });
  }

  private has(f: Feature): boolean {
    return this.opts.capabilities.features.includes(f);
  }

  /** The run counter as replies carry it (PROTOCOL.md §7.3.1): only when advertising 'emulator'. */
  private reportedRunIndex(): { runIndex?: number } {
    return this.has('emulator') ? { runIndex: this.core.runIndex } : {};
  }

  private needFeature(f: Feature, what: string): void {
    if (!this.has(f)) throw new ValueRangeError(ErrorCode.DTYPE_UNSUPPORTED, `${what} needs feature '${f}', which this device does not advertise`);
  }

  // ————————————————————————————————————————— frames in, frames out

  private onFault(f: FrameFault): void {
    const e = f.error;
    const h = f.header;
    this.log.debug({ fault: f.kind, code: e.code, bytes: f.bytes, requestId: h?.requestId }, 'frame fault');
    // Faults without a trusted header (CRC, COBS, oversize, short) are queued but not answered.
    if (!h) this.queueError(e, 0, 0);
    else this.fail(h, e);
  }

  private onFrame(f: DecodedFrame): void {
    const { header, message } = f;
    this.log.trace({ dir: 'rx', kind: message.kind, requestId: header.requestId, bytes: f.encodedBytes }, 'frame');
    if (header.flags & (FLAG_REPLY | FLAG_ERROR | FLAG_EVENT) || !message.kind.endsWith('Request')) {
      this.fail(header, new ProtocolViolationError(ErrorCode.BAD_FLAGS, `the device accepts requests only, got ${message.kind}`));
      return;
    }
    const op = opNameOfType(header.type) as OpName;
    if (this.io.admit && !this.io.admit(op, header.requestId)) return;
    try {
      const verdict = legality(this.state, op);
      if (verdict !== null) throw new StateError(verdict, `${op} is not allowed in state ${this.state}`, { state: this.state });
      this.dispatch(message as RequestMessage, header.requestId);
    } catch (e) {
      this.fail(header, this.asProtocolError(e));
    }
  }

  private asProtocolError(e: unknown): ProtocolError {
    if (e instanceof ProtocolError) return e;
    if (e instanceof PhysicsError) return wireErrorOfPhysics(e);
    this.log.error({ err: e }, 'internal error while serving a request');
    return new DeviceError(ErrorCode.INTERNAL, `internal error: ${(e as Error)?.message ?? String(e)}`);
  }

  private queueError(e: ProtocolError, requestId: number, type: number): void {
    this.errors.push({ code: e.code, message: e.message, requestId, type, uptimeMs: this.uptime() });
  }

  /** Answers a request with an Error and queues it (every Error sent is queued, §9.3). */
  private fail(header: Pick<FrameHeader, 'requestId' | 'type'>, e: ProtocolError): void {
    this.queueError(e, header.requestId, header.type);
    this.log.debug({ code: e.code, requestId: header.requestId, type: header.type, msg: e.message }, 'request refused');
    this.sendMessage(errorMessageFrom(e, header.type), header.requestId);
  }

  private reply<K extends OpName>(op: K, body: ReplyBody<K>, requestId: number): void {
    this.sendMessage({ kind: `${op}Reply`, body } as Message, requestId);
  }

  /** Encodes and sends; a frame larger than the host accepts becomes REPLY_TOO_LARGE. */
  private sendMessage(msg: Message, requestId: number, opts: { more?: boolean } = {}): void {
    if (this.dead) return;
    let frame = encodeFrame(msg, requestId, opts);
    if (frame.length - 1 > this.hostMaxFrame) {
      const type = typeOfMessage(msg);
      const e = new ResourceError(ErrorCode.REPLY_TOO_LARGE, `${msg.kind} needs ${frame.length - 1} encoded bytes, the host accepts ${this.hostMaxFrame}`);
      this.queueError(e, requestId, type);
      if (msg.kind === 'SampleBlockEvent') return; // events are not answers: drop (a seq gap)
      frame = encodeFrame(errorMessageFrom(e, type), requestId);
    }
    this.log.trace({ dir: 'tx', kind: msg.kind, requestId, bytes: frame.length }, 'frame');
    if (this.leadingDelimiter) {
      this.leadingDelimiter = false;
      frame = Buffer.concat([Buffer.of(0), frame]);
    }
    this.io.send(frame, { kind: msg.kind, requestId });
  }

  // ————————————————————————————————————————— requests

  private dispatch(m: RequestMessage, id: number): void {
    switch (m.kind) {
      case 'HelloRequest':
        return this.hello(m.body, id);
      case 'StatusRequest':
        return this.reply('Status', this.status(), id);
      case 'HeartbeatRequest':
        return this.reply('Heartbeat', { nonce: m.body.nonce, uptimeMs: this.uptime(), state: this.state }, id);
      case 'DeviceResetRequest':
        return this.deviceReset(m.body.hard === true, id);
      case 'ErrorsReadRequest': {
        const entries = this.errors.read(m.body.max, maxInnerBytes(this.hostMaxFrame) - HEADER_BYTES - CRC_BYTES - 32);
        return this.reply('ErrorsRead', { entries, remaining: Math.min(this.errors.length, 0xffff) }, id);
      }
      case 'ErrorsClearRequest':
        return this.reply('ErrorsClear', { cleared: Math.min(this.errors.clear(), 0xffff) }, id);
      case 'ConfigureRequest':
        return this.configure(m.body, id);
      case 'CurvatureRequest':
        return this.curvature(m.body, id);
      case 'GradientRequest':
        return this.gradient(m.body, id);
      case 'StateSetRequest':
        return this.stateSet(m.body, id);
      case 'StateResetRequest':
        this.core.resetState();
        return this.reply('StateReset', {}, id);
      case 'BulkBeginRequest':
        return this.bulkBegin(m.body, id);
      case 'BulkChunkRequest': {
        if (this.io.onBulkChunk?.() === false) return;
        const received = this.staging.chunk(m.body);
        return this.reply('BulkChunk', { transferId: m.body.transferId, seq: m.body.seq, received }, id);
      }
      case 'BulkCommitRequest': {
        const t = this.staging.commit(m.body.transferId);
        return this.reply('BulkCommit', { transferId: t.id, bytes: t.totalBytes, crc32c: t.crc32c }, id);
      }
      case 'BulkAbortRequest':
        return this.reply('BulkAbort', { transferId: m.body.transferId, discarded: this.staging.abort(m.body.transferId) }, id);
      case 'RunRequest':
        return this.startRun(m.body, id);
      case 'AbortRequest':
        return this.abort(id);
      case 'ResultsRequest':
        return this.resultsReply(m.body, id);
      case 'ResultsReadRequest':
        return this.resultsRead(m.body, id);
      case 'SamplesReadRequest':
        return this.samplesRead(m.body, id);
    }
  }

  private hello(b: RequestBody<'Hello'>, id: number): void {
    if (b.major !== PROTOCOL_VERSION.major)
      throw new ProtocolViolationError(ErrorCode.VERSION_UNSUPPORTED, `host speaks major ${b.major}, device speaks ${PROTOCOL_VERSION.major}`, { supportedMajors: [PROTOCOL_VERSION.major] });
    // A new session: uploads the previous host left half-done are interrupted.
    const dropped = this.staging.dropOpen();
    if (dropped > 0) this.log.info({ dropped }, 'new session: discarded open transfers');
    this.hostMaxFrame = b.maxFrameBytes;
    this.sessionId = next32(this.sessionId);
    this.log.info({ host: b.host, hostMaxFrameBytes: b.maxFrameBytes, fingerprintMatch: b.schemaFingerprint === SCHEMA_FINGERPRINT, sessionId: this.sessionId }, 'hello');
    const caps = this.opts.capabilities;
    this.reply(
      'Hello',
      {
        major: PROTOCOL_VERSION.major,
        minor: Math.min(b.minor, PROTOCOL_VERSION.minor),
        identity: { ...this.opts.identity },
        schemaFingerprint: SCHEMA_FINGERPRINT,
        capabilities: { ...caps, dtypes: [...caps.dtypes], features: [...caps.features] },
        sessionId: this.sessionId,
      },
      id,
    );
  }

  private status(): ReplyBody<'Status'> {
    const c = this.decoder.counters;
    const s: ReplyBody<'Status'> = {
      state: this.state,
      uptimeMs: this.uptime(),
      counters: {
        framesOk: u32(c.framesOk),
        badCrc: u32(c.badCrc),
        oversize: u32(c.oversize),
        undecodable: u32(c.undecodable),
        unknownType: u32(c.unknownType),
        unsupported: u32(c.unsupported),
        bytesDiscarded: u32(c.bytesDiscarded),
      },
      errorQueueLength: this.errors.length,
      n: this.committed.curvature?.n ?? 0,
      hasCurvature: this.committed.curvature !== null,
      hasGradient: this.committed.gradient !== null,
      openTransfers: this.staging.count,
      runId: this.lastRunId,
      ...this.reportedRunIndex(),
    };
    if (this.errors.last) s.lastError = { ...this.errors.last };
    return s;
  }

  /**
   * Answered first; then configuration, tensors, state, transfers, results, error queue and
   * counters are cleared and the device is IDLE with a fresh analog core (run index 0). Hard:
   * also uptime, session and run ids restart, and the host limit falls back to 1024 until Hello.
   */
  private deviceReset(hard: boolean, id: number): void {
    const r = this.run;
    this.run = null;
    this.reply('DeviceReset', {}, id);
    if (r) this.sendMessage(errorMessageFrom(new DeviceError(ErrorCode.RESET, `run ${r.runId} ended by DeviceReset`), RUN_TYPE), r.requestId);
    this.state = 'IDLE';
    this.seed = this.opts.seed;
    this.profile = this.opts.profile;
    this.core = this.newCore();
    this.readout = 'both';
    this.runConfig = null;
    this.staging.clear();
    this.committed = { curvature: null, notPd: false, gradient: null };
    this.coreBytes = { next: 0, live: 0 };
    this.hasLive = false;
    this.results = null;
    this.lastRunId = 0;
    this.ring = [];
    this.errors = new ErrorQueue(this.opts.capabilities.errorQueueDepth);
    const c = this.decoder.counters;
    for (const k of Object.keys(c) as (keyof typeof c)[]) c[k] = 0;
    if (hard) {
      this.decoder.reset();
      this.bootMs = this.opts.now();
      this.sessionId = 0;
      this.runCounter = 0;
      this.curvatureId = 0;
      this.ringNext = 0;
      this.hostMaxFrame = MIN_MAX_FRAME_BYTES;
    }
    this.log.info({ hard }, 'device reset');
  }

  private memoryUsed(): number {
    const c = this.committed;
    return this.staging.bytes + (c.curvature?.bytes ?? 0) + 8 * (c.gradient?.length ?? 0) + this.coreBytes.next + this.coreBytes.live;
  }

  private checkMemory(extra: number, freed: number, what: string): void {
    const inUse = this.memoryUsed() - freed;
    if (inUse + extra > this.opts.memoryBytes)
      throw new ResourceError(ErrorCode.OUT_OF_MEMORY, `${what} needs ${extra} bytes; ${inUse} of ${this.opts.memoryBytes} are in use`, { needed: extra, inUse, budget: this.opts.memoryBytes });
  }

  private configure(b: RequestBody<'Configure'>, id: number): void {
    const caps = this.opts.capabilities;
    if (b.kappa0 < caps.kappa0Min || b.kappa0 > caps.kappa0Max)
      throw new ValueRangeError(ErrorCode.KAPPA_OUT_OF_RANGE, `κ₀ = ${b.kappa0} outside [${caps.kappa0Min}, ${caps.kappa0Max}]`, { kappa0Min: caps.kappa0Min, kappa0Max: caps.kappa0Max });
    if (b.integrator.kind === 'exact') this.needFeature('exact-integrator', 'the exact integrator');
    if (b.profile !== undefined && !profileOf(b.profile)) throw new ValueRangeError(ErrorCode.OUT_OF_RANGE, `unknown profile '${b.profile}' (emulator profiles: ideal, prototype)`);
    const cfg: RunConfig = {
      kappa0: b.kappa0,
      integrator: b.integrator,
      samplePeriodTau: b.samplePeriodTau,
      burnInTau: b.burnInTau,
      windowTau: b.windowTau > 0 ? b.windowTau : undefined,
    };
    const seed = b.seed ?? this.seed;
    const profile = b.profile ?? this.profile;
    if (seed !== this.seed || profile !== this.profile) {
      // The physics fixes seed and profile for a core's life: a new one is a new analog core, on
      // which the committed tensors are realised again (DAC, mismatch) and the state carried over.
      const core = new SpuCore({ maxCells: this.opts.maxCells, maxRank: this.opts.maxRank, profile: deviceProfile(this.opts, profile)!, seed });
      core.configure(cfg); // validate before anything changes
      const x = this.core.getState(this.opts.maxCells);
      this.seed = seed;
      this.profile = profile;
      this.core = core;
      this.hasLive = false;
      this.coreBytes = { next: 0, live: 0 };
      const c = this.committed;
      if (c.curvature) {
        c.notPd = this.realise(c.curvature);
        this.coreBytes.next = c.curvature.bytes;
      }
      if (c.gradient) this.core.setGradient(c.gradient);
      this.core.setState(x.subarray(0, c.curvature?.n ?? this.opts.maxCells));
    } else this.core.configure(cfg);
    // After a new core (counter 0): the run counter the host asks for; hardware ignores it (§7.3.1).
    if (b.runIndex !== undefined && this.has('emulator')) this.core.setRunIndex(b.runIndex);
    this.runConfig = cfg;
    this.readout = b.readout;
    this.state = 'READY';
    this.reply('Configure', { state: this.state, ...this.reportedRunIndex() }, id);
  }

  /** Loads A into the core; returns true when the core refuses it as not positive definite. */
  private realise(load: CurvatureLoad): boolean {
    try {
      if (load.form === 'dense') this.core.setCurvatureDense(load.n, load.a, load.lambda);
      else this.core.setCurvatureFactored(load.f);
      return false;
    } catch (e) {
      if (e instanceof PhysicsError && e.code === 'not-positive-definite') return true;
      throw e;
    }
  }

  private curvature(b: RequestBody<'Curvature'>, id: number): void {
    this.needFeature(b.form === 'dense' ? 'dense-curvature' : 'factored-curvature', `${b.form} curvature`);
    const res = new TensorResolver(this.staging, this.opts.capabilities);
    const load = curvatureLoad(b, res, this.opts.capabilities);
    const c = this.committed;
    // The uploaded copy and the core's realisation both live until the next upload.
    this.checkMemory(2 * load.bytes, (c.curvature?.bytes ?? 0) + this.coreBytes.next, 'curvature');
    const notPd = this.realise(load);
    for (const ref of res.refs) this.staging.release(ref);
    if (c.curvature && c.curvature.n !== load.n) {
      // A new dimension invalidates the gradient and the state (§7.4).
      c.gradient = null;
      this.core.resetState();
    }
    c.curvature = load;
    c.notPd = notPd;
    this.coreBytes.next = load.bytes;
    this.curvatureId = next32(this.curvatureId);
    this.reply('Curvature', { n: load.n, r: load.r, curvatureId: this.curvatureId }, id);
  }

  private committedN(): number {
    const n = this.committed.curvature?.n;
    if (n === undefined) throw new StateError(ErrorCode.NO_CURVATURE, 'no committed curvature: upload one first');
    return n;
  }

  private gradient(b: RequestBody<'Gradient'>, id: number): void {
    const n = this.committedN();
    const res = new TensorResolver(this.staging, this.opts.capabilities);
    const g = vectorLoad(b.g, 'g', res, this.opts.capabilities);
    if (g.length !== n) throw new ValueRangeError(ErrorCode.SHAPE_MISMATCH, `g has ${g.length} cells, the committed curvature has N = ${n}`, { n });
    this.checkMemory(8 * n, 8 * (this.committed.gradient?.length ?? 0), 'gradient');
    this.core.setGradient(g);
    for (const ref of res.refs) this.staging.release(ref);
    this.committed.gradient = g;
    this.reply('Gradient', { n }, id);
  }

  private stateSet(b: RequestBody<'StateSet'>, id: number): void {
    const n = this.committedN();
    const res = new TensorResolver(this.staging, this.opts.capabilities);
    const x = vectorLoad(b.x, 'x', res, this.opts.capabilities);
    if (x.length !== n) throw new ValueRangeError(ErrorCode.SHAPE_MISMATCH, `x has ${x.length} cells, the committed curvature has N = ${n}`, { n });
    this.core.setState(x);
    for (const ref of res.refs) this.staging.release(ref);
    this.reply('StateSet', { n }, id);
  }

  private bulkBegin(b: RequestBody<'BulkBegin'>, id: number): void {
    if (!this.opts.capabilities.dtypes.includes(b.dtype)) throw new ValueRangeError(ErrorCode.DTYPE_UNSUPPORTED, `dtype ${b.dtype} not supported`);
    // The chunk size fits the device's own receive limit even with worst-case ids.
    const chunkBytes = Math.max(1, maxChunkBytes(this.opts.maxFrameBytes));
    const t = this.staging.begin(b, chunkBytes, this.opts.memoryBytes - this.memoryUsed());
    this.reply('BulkBegin', { transferId: t.id, chunkBytes, window: this.opts.capabilities.bulkWindow }, id);
  }

  // ————————————————————————————————————————— runs

  private startRun(b: RequestBody<'Run'>, id: number): void {
    const c = this.committed;
    if (!c.curvature) throw new StateError(ErrorCode.NO_CURVATURE, 'no committed curvature');
    if (!c.gradient) throw new StateError(ErrorCode.NO_GRADIENT, 'no committed gradient');
    const delay = b.delayTau ?? 0;
    if (delay > 0) this.needFeature('delay', 'delayTau');
    if (b.streamSamples) this.needFeature('sample-stream', 'streamSamples');
    const n = c.curvature.n;
    if (c.notPd) {
      // Nothing to integrate: the run ends at once with the flag (§7.4).
      const runId = (this.runCounter = next32(this.runCounter));
      this.lastRunId = runId;
      this.results = { runId, n, sampleCount: 0, analogTimeTau: 0, saturationCount: 0, clipCount: 0, flags: ['not-positive-definite'], mean: null, final: null };
      return this.reply('Run', { runId, analogTimeTau: 0, sampleCount: 0, flags: ['not-positive-definite'], ...this.reportedRunIndex() }, id);
    }
    const prime = delay > 0 && !this.hasLive;
    // Refuse before priming so that a refused Run changes nothing (the counter stays within u32).
    if (this.core.runIndex + (prime ? 1 : 0) >= 0xffffffff)
      throw new ValueRangeError(ErrorCode.OUT_OF_RANGE, `run counter exhausted: ${this.core.runIndex} (the last run index is 2^32 − 2)`, { reason: 'limit', runIndex: this.core.runIndex });
    if (prime) this.primeLive(b.durationTau);
    const stream = b.streamSamples === true;
    const runId = next32(this.runCounter);
    const handle = this.core.startRun({
      durationTau: b.durationTau,
      start: b.start,
      delayTau: delay,
      onSampleBlock: stream ? (blk) => this.onSamples(runId, id, blk) : undefined,
      blockSamples: stream ? this.samplesPerBlock(n) : undefined,
    });
    this.runCounter = runId;
    this.coreBytes = { next: 0, live: this.coreBytes.next || this.coreBytes.live };
    this.hasLive = true;
    this.lastRunId = runId;
    this.state = 'RUNNING';
    const cost = c.curvature.form === 'dense' ? n * n : 2 * c.curvature.r * n + n;
    this.run = { runId, requestId: id, handle, startedMs: performance.now(), chunkSteps: Math.max(1, Math.floor(4e5 / cost)), chunkStreamBytes: 0 };
    this.log.debug({ runId, durationTau: b.durationTau, start: b.start, delayTau: delay, stream }, 'run started');
    const r = this.run;
    setImmediate(() => this.step(r));
  }

  /**
   * PROTOCOL.md §7.6: with no previous run, the delay segment evolves under the committed A and g.
   * The physics core only delays under a system that has run, so make the committed system the
   * live one by starting and at once stopping a run on it (no step taken, x unchanged; it uses
   * one run index, EMULATOR.md §4).
   */
  private primeLive(durationTau: number): void {
    this.core.startRun({ durationTau, start: 'carry' }).abort();
    this.hasLive = true;
  }

  /** Rows per sample block so that one SampleBlock event fits the host's frame (wide rows are split by cells). */
  private samplesPerBlock(n: number): number {
    return Math.max(1, Math.min(16, Math.floor(this.sampleRoom() / (8 * n))));
  }

  private sampleRoom(): number {
    return maxInnerBytes(this.hostMaxFrame) - HEADER_BYTES - CRC_BYTES - 160;
  }

  private onSamples(runId: number, requestId: number, blk: CoreSampleBlock): void {
    const n = blk.n;
    const cellsPer = Math.max(1, Math.min(n, Math.floor(this.sampleRoom() / (8 * blk.count))));
    for (let c0 = 0; c0 < n; c0 += cellsPer) {
      const cells = Math.min(cellsPer, n - c0);
      const vals = new Float64Array(blk.count * cells);
      if (this.run) this.run.chunkStreamBytes += vals.byteLength;
      for (let k = 0; k < blk.count; k++) vals.set(blk.values.subarray(k * n + c0, k * n + c0 + cells), k * cells);
      const body = { runId, seq: this.ringNext, firstSample: blk.first, cellOffset: c0, data: tensorFromFloat64(vals, [blk.count, cells], 'f64') };
      this.ringNext = (this.ringNext + 1) >>> 0;
      this.ring.push(body);
      if (this.ring.length > this.opts.capabilities.sampleRingBlocks) this.ring.shift();
      this.sendMessage({ kind: 'SampleBlockEvent', body }, requestId, { more: true });
    }
  }

  private step(r: ActiveRun): void {
    if (this.run !== r || this.dead) return;
    if (this.io.congested?.()) {
      setTimeout(() => this.step(r), 2);
      return;
    }
    const t0 = performance.now();
    r.chunkStreamBytes = 0;
    try {
      r.handle.advance(r.chunkSteps);
    } catch (e) {
      if (e instanceof PhysicsError && e.code === 'diverged') return this.finishRun(r, ['diverged']);
      this.run = null;
      this.state = 'READY';
      this.fail({ type: RUN_TYPE, requestId: r.requestId }, this.asProtocolError(e));
      return;
    }
    // Keep chunks near 4 ms so Abort/Heartbeat/Status are served promptly; results do not
    // depend on the chunking.
    const dt = performance.now() - t0;
    if (dt > 8 || r.chunkStreamBytes > STREAM_CHUNK_BYTES) r.chunkSteps = Math.max(1, Math.floor(r.chunkSteps / 2));
    else if (dt < 2 && r.chunkStreamBytes <= STREAM_CHUNK_BYTES / 2) r.chunkSteps = Math.min(r.chunkSteps * 2, 1 << 24);
    this.io.onRunProgress?.(r.handle.progressTau);
    if (this.run !== r || this.dead) return;
    const wait = this.realtimeWait(r);
    if (r.handle.done && wait <= 0) {
      try {
        return this.finishRun(r);
      } catch (e) {
        // never let a run end without an answer (nor throw out of the event loop)
        this.run = null;
        this.state = 'READY';
        return this.fail({ type: RUN_TYPE, requestId: r.requestId }, this.asProtocolError(e));
      }
    }
    if (wait > 0) setTimeout(() => this.step(r), Math.min(wait, 50));
    else setImmediate(() => this.step(r));
  }

  /** With analog real-time pacing: ms until wall time catches up with the analog time covered. */
  private realtimeWait(r: ActiveRun): number {
    if (!this.opts.pacing.analogRealtime) return 0;
    const due = r.handle.progressTau * this.opts.capabilities.tauSeconds * 1000;
    return due - (performance.now() - r.startedMs);
  }

  private finishRun(r: ActiveRun, extra: Flag[] = [], aborted = false): void {
    if (this.run !== r) return;
    this.run = null;
    this.state = 'READY';
    const res: CoreRunResult | null = extra.includes('diverged') ? null : aborted ? r.handle.abort() : r.handle.result();
    const flags: Flag[] = [...extra];
    if (res) for (const f of res.flags) flags.push(f === 'adc-clipped' ? 'clipped' : f);
    if (aborted && !flags.includes('aborted')) flags.push('aborted');
    this.results = {
      runId: r.runId,
      n: this.committed.curvature?.n ?? 0,
      sampleCount: res?.sampleCount ?? 0,
      analogTimeTau: res?.analogTimeTau ?? r.handle.progressTau,
      saturationCount: res?.saturationCount ?? 0,
      clipCount: res?.clipCount ?? 0,
      flags,
      mean: res?.mean ?? null,
      final: res?.final ?? null,
    };
    this.log.debug({ runId: r.runId, flags, sampleCount: this.results.sampleCount }, 'run finished');
    if (aborted) this.fail({ type: RUN_TYPE, requestId: r.requestId }, new DeviceError(ErrorCode.ABORTED, `run ${r.runId} stopped by Abort after ${this.results.analogTimeTau} τ`, { runId: r.runId, analogTimeTau: this.results.analogTimeTau }));
    else this.reply('Run', { runId: r.runId, analogTimeTau: this.results.analogTimeTau, sampleCount: this.results.sampleCount, flags, ...this.reportedRunIndex() }, r.requestId);
  }

  /** The Run is answered with Error ABORTED first, then the Abort reply (§7.6). */
  private abort(id: number): void {
    const r = this.run;
    if (!r) return this.reply('Abort', { aborted: false, runId: this.lastRunId }, id);
    this.finishRun(r, [], true);
    this.reply('Abort', { aborted: true, runId: r.runId }, id);
  }

  private storedResults(): StoredResult {
    if (!this.results) throw new StateError(ErrorCode.NO_RESULTS, 'no run has ended since power-on or reset');
    return this.results;
  }

  private vector(r: StoredResult, field: 'mean' | 'final'): Float64Array {
    const v = r[field];
    if (!v) throw new StateError(ErrorCode.NO_RESULTS, `run ${r.runId} produced no vectors (${r.flags.join(', ')})`);
    if (this.readout !== 'both' && this.readout !== field) throw new StateError(ErrorCode.NO_RESULTS, `readout is '${this.readout}': no ${field} vector`);
    return v;
  }

  private resultsReply(b: RequestBody<'Results'>, id: number): void {
    const r = this.storedResults();
    const body: ReplyBody<'Results'> = {
      runId: r.runId,
      n: r.n,
      sampleCount: r.sampleCount,
      analogTimeTau: r.analogTimeTau,
      saturationCount: u32(r.saturationCount),
      clipCount: u32(r.clipCount),
      flags: r.flags,
    };
    if (b.vectors === 'mean' || b.vectors === 'both') body.mean = tensorFromFloat64(this.vector(r, 'mean'), [r.n], b.dtype);
    if (b.vectors === 'final' || b.vectors === 'both') body.final = tensorFromFloat64(this.vector(r, 'final'), [r.n], b.dtype);
    this.reply('Results', body, id);
  }

  private resultsRead(b: RequestBody<'ResultsRead'>, id: number): void {
    const r = this.storedResults();
    const v = this.vector(r, b.field);
    if (b.offset + b.count > r.n) throw new ValueRangeError(ErrorCode.OUT_OF_RANGE, `elements [${b.offset}, ${b.offset + b.count}) outside the result's ${r.n}`, { n: r.n });
    const data = tensorFromFloat64(v.subarray(b.offset, b.offset + b.count), [b.count], b.dtype);
    this.reply('ResultsRead', { runId: r.runId, field: b.field, offset: b.offset, n: r.n, data }, id);
  }

  private samplesRead(b: RequestBody<'SamplesRead'>, id: number): void {
    const oldestSeq = this.ring.length > 0 ? this.ring[0].seq : this.ringNext;
    const start = Math.max(b.fromSeq, oldestSeq);
    const blocks: ReplyBody<'SamplesRead'>['blocks'] = [];
    let room = maxInnerBytes(this.hostMaxFrame) - HEADER_BYTES - CRC_BYTES - 64;
    for (const blk of this.ring) {
      if (blk.seq < start) continue;
      if (blocks.length >= b.maxBlocks) break;
      const size = blk.data.data.length + 120;
      if (size > room) break;
      room -= size;
      blocks.push(blk);
    }
    const nextSeq = blocks.length > 0 ? (blocks[blocks.length - 1].seq + 1) >>> 0 : start;
    this.reply('SamplesRead', { blocks, nextSeq, oldestSeq }, id);
  }
}

/** Header type a message travels with (an Error echoes the failed request's type). */
function typeOfMessage(msg: Message): number {
  if (msg.kind === 'Error') return msg.requestType;
  if (msg.kind === 'SampleBlockEvent') return EVENTS.SampleBlock.type;
  return OPERATIONS[msg.kind.replace(/(Request|Reply)$/, '') as OpName].type;
}
