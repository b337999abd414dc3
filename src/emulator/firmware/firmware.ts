// The emulated firmware: protocol v1 served over a byte stream with the production FrameDecoder
// and codec, the shared state table and the bit-exact SpuCore. Transport-agnostic: bytes come in
// through receive(), frames go out through the `io.send` callback. Normative behaviour:
// firmware-spec/PROTOCOL.md; what this device advertises and chooses: EMULATED-DEVICE.md.
import type { Logger } from 'pino';
import {
  ErrorCode,
  FLAG_ERROR,
  FLAG_EVENT,
  FLAG_REPLY,
  FrameDecoder,
  MIN_MAX_FRAME_BYTES,
  PROTOCOL_VERSION,
  ProtocolError,
  ProtocolViolationError,
  ResourceError,
  SCHEMA_FINGERPRINT,
  StateError,
  ValueRangeError,
  DeviceError,
  encodeFrame,
  OPERATIONS,
  EVENTS,
  errorMessageFrom,
  legality,
  maxChunkBytes,
  maxInnerBytes,
  opNameOfType,
  tensorFromFloat64,
  CRC_BYTES,
  HEADER_BYTES,
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
import type { RunHandle, RunResult, SampleBlock } from '../physics/index.ts';
import { ErrorQueue } from './error-queue.ts';
import { profileOf } from './options.ts';
import type { ResolvedOptions } from './options.ts';
import { Staging } from './transfers.ts';
import { TensorResolver, curvatureLoad, vectorLoad, wireErrorOfPhysics } from './uploads.ts';

type Flag = ReplyBody<'Run'>['flags'][number];

export interface FirmwareIo {
  /** One complete encoded frame (with its 0x00 delimiter) toward the host. */
  send(frame: Buffer, info: { kind: string; requestId: number }): void;
  /** A request passed the decoder; the device-side fault layer may swallow it. */
  admit?(op: OpName, requestId: number): boolean;
  /** Called after each run chunk with the analog time covered (for link-drop faults). */
  onRunProgress?(tau: number): void;
  onBulkChunk?(): void;
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
  mean: Float64Array;
  final: Float64Array;
}

interface ActiveRun {
  runId: number;
  requestId: number;
  handle: RunHandle;
  abort: boolean;
  startedMs: number;
  chunkSteps: number;
  stream: boolean;
}

/** Bytes of a vector in the core (f64). */
const vecBytes = (n: number): number => 8 * n;
const u32 = (x: number): number => Math.floor(x) >>> 0;

export class Firmware {
  readonly decoder: FrameDecoder;
  private readonly opts: ResolvedOptions;
  private readonly io: FirmwareIo;
  private readonly log: Logger;
  private readonly bootMs: number;
  private state: DeviceState = 'IDLE';
  private core: SpuCore;
  private seed: number;
  private profile: string;
  private errors: ErrorQueue;
  private staging: Staging;
  /** bytes of the loaded curvature/gradient: `next` takes effect at the next run, `live` ran last */
  private mem = { curvNext: 0, curvLive: 0, gradNext: 0, gradLive: 0 };
  private curvN = 0;
  private curvR = 0;
  private gradN = 0;
  private curvatureId = 0;
  private runCounter = 0;
  private lastRunId = 0;
  private hasRun = false;
  private results: StoredResult | null = null;
  private run: ActiveRun | null = null;
  private ring: ReplyBody<'SamplesRead'>['blocks'] = [];
  private ringNext = 0;
  private hostMaxFrame: number;
  private sessionId = 0;
  private dead = false;

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
    this.hostMaxFrame = opts.maxFrameBytes;
    this.decoder = new FrameDecoder({ maxFrameBytes: opts.maxFrameBytes, onFault: (f) => this.onFault(f) });
  }

  // ————————————————————————————————————————— link side

  receive(chunk: Uint8Array): void {
    if (this.dead) return;
    for (const f of this.decoder.push(chunk)) {
      if (this.dead) return;
      this.onFrame(f);
    }
  }

  /** Power-off: stops a run and ignores further input. */
  shutdown(): void {
    this.dead = true;
    this.run = null;
  }

  /** Snapshot for tests and diagnostics (not a protocol message). */
  inspect(): { state: DeviceState; n: number; r: number; gradientN: number; curvatureId: number; openTransfers: number; stagedTransfers: number; memoryUsed: number; errorQueueLength: number; running: boolean; seed: number; profile: string } {
    return {
      state: this.state,
      n: this.curvN,
      r: this.curvR,
      gradientN: this.gradN,
      curvatureId: this.curvatureId,
      openTransfers: this.staging.openCount,
      stagedTransfers: this.staging.count,
      memoryUsed: this.memoryUsed(),
      errorQueueLength: this.errors.length,
      running: this.run !== null,
      seed: this.seed,
      profile: this.profile,
    };
  }

  private uptime(): number {
    return u32(this.opts.now() - this.bootMs);
  }

  private newCore(): SpuCore {
    const profile = profileOf(this.profile);
    if (!profile) throw new Error(`unknown profile ${this.profile}`);
    return new SpuCore({ maxCells: this.opts.maxCells, maxRank: this.opts.maxRank, profile, seed: this.seed });
  }

  private onFault(f: FrameFault): void {
    const e = f.error;
    const h = f.header;
    this.log.debug({ fault: f.kind, code: e.code, bytes: f.bytes, requestId: h?.requestId }, 'frame fault');
    this.errors.push({ code: e.code, message: e.message, requestId: h?.requestId ?? 0, type: h?.type ?? 0, uptimeMs: this.uptime() });
    if (h) this.sendMessage(errorMessageFrom(e, h.type), h.requestId);
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
      this.dispatch(message as RequestMessage, header);
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

  private fail(header: FrameHeader, e: ProtocolError): void {
    this.errors.push({ code: e.code, message: e.message, requestId: header.requestId, type: header.type, uptimeMs: this.uptime() });
    this.log.debug({ code: e.code, requestId: header.requestId, type: header.type, msg: e.message }, 'request refused');
    this.sendMessage(errorMessageFrom(e, header.type), header.requestId);
  }

  private reply<K extends OpName>(op: K, body: ReplyBody<K>, requestId: number): void {
    this.sendMessage({ kind: `${op}Reply`, body } as Message, requestId);
  }

  /** Encodes and sends; a reply larger than the host accepts becomes REPLY_TOO_LARGE. */
  private sendMessage(msg: Message, requestId: number, opts: { more?: boolean } = {}): void {
    if (this.dead) return;
    let frame = encodeFrame(msg, requestId, opts);
    if (frame.length - 1 > this.hostMaxFrame && msg.kind !== 'HelloReply') {
      const type = typeOfMessage(msg);
      const e = new ResourceError(ErrorCode.REPLY_TOO_LARGE, `${msg.kind} needs ${frame.length - 1} encoded bytes, the host accepts ${this.hostMaxFrame}`);
      this.errors.push({ code: e.code, message: e.message, requestId, type, uptimeMs: this.uptime() });
      frame = encodeFrame(errorMessageFrom(e, type), requestId);
    }
    this.log.trace({ dir: 'tx', kind: msg.kind, requestId, bytes: frame.length }, 'frame');
    this.io.send(frame, { kind: msg.kind, requestId });
  }

  // ————————————————————————————————————————— requests

  private dispatch(m: RequestMessage, h: FrameHeader): void {
    const id = h.requestId;
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
        const entries = this.errors.read(m.body.max);
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
        this.io.onBulkChunk?.();
        if (this.dead) return;
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
      case 'AbortRequest': {
        const r = this.run;
        if (!r) return this.reply('Abort', { aborted: false, runId: this.lastRunId }, id);
        r.abort = true;
        // The Run reply (flag 'aborted') goes out first, then this one.
        this.finishRun();
        return this.reply('Abort', { aborted: true, runId: r.runId }, id);
      }
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
    if (b.maxFrameBytes < MIN_MAX_FRAME_BYTES) throw new ValueRangeError(ErrorCode.OUT_OF_RANGE, `host maxFrameBytes ${b.maxFrameBytes} is below the protocol minimum ${MIN_MAX_FRAME_BYTES}`);
    // A new session: uploads the previous host left half-done are interrupted.
    const dropped = this.staging.dropOpen();
    if (dropped > 0) this.log.info({ dropped }, 'new session: discarded open transfers');
    this.hostMaxFrame = b.maxFrameBytes;
    this.sessionId = this.sessionId >= 0xffffffff ? 1 : this.sessionId + 1;
    this.log.info({ host: b.host, hostMaxFrameBytes: b.maxFrameBytes, fingerprintMatch: b.schemaFingerprint === SCHEMA_FINGERPRINT, sessionId: this.sessionId }, 'hello');
    this.reply(
      'Hello',
      {
        major: PROTOCOL_VERSION.major,
        minor: Math.min(b.minor, PROTOCOL_VERSION.minor),
        identity: { ...this.opts.identity },
        schemaFingerprint: SCHEMA_FINGERPRINT,
        capabilities: { ...this.opts.capabilities, dtypes: [...this.opts.capabilities.dtypes], features: [...this.opts.capabilities.features] },
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
      n: this.curvN,
      hasCurvature: this.curvN > 0,
      hasGradient: this.gradN > 0,
      openTransfers: this.staging.openCount,
      runId: this.lastRunId,
    };
    if (this.errors.last) s.lastError = { ...this.errors.last };
    return s;
  }

  /** Soft: back to IDLE with nothing loaded (identity, counters, error queue kept). Hard: power cycle. */
  private deviceReset(hard: boolean, id: number): void {
    const r = this.run;
    if (r) {
      this.run = null;
      this.lastRunId = r.runId;
      this.sendMessage(errorMessageFrom(new DeviceError(ErrorCode.RESET, `run ${r.runId} ended by DeviceReset`), OPERATIONS.Run.type), r.requestId);
    }
    this.reply('DeviceReset', {}, id);
    this.seed = this.opts.seed;
    this.profile = this.opts.profile;
    this.clearState();
    if (hard) {
      this.errors = new ErrorQueue(this.opts.capabilities.errorQueueDepth);
      this.decoder.reset();
      for (const k of Object.keys(this.decoder.counters) as (keyof typeof this.decoder.counters)[]) this.decoder.counters[k] = 0;
      this.hostMaxFrame = this.opts.maxFrameBytes;
      this.sessionId = 0;
      this.runCounter = 0;
    }
    this.log.info({ hard }, 'device reset');
  }

  private clearState(): void {
    this.state = 'IDLE';
    this.core = this.newCore();
    this.staging.clear();
    this.mem = { curvNext: 0, curvLive: 0, gradNext: 0, gradLive: 0 };
    this.curvN = this.curvR = this.gradN = 0;
    this.hasRun = false;
    this.results = null;
    this.lastRunId = 0;
    this.ring = [];
  }

  private memoryUsed(): number {
    const m = this.mem;
    return this.staging.bytes + m.curvNext + m.curvLive + m.gradNext + m.gradLive;
  }

  private checkMemory(extra: number, replacing: number, what: string): void {
    const after = this.memoryUsed() - replacing + extra;
    if (after > this.opts.memoryBytes)
      throw new ResourceError(ErrorCode.OUT_OF_MEMORY, `${what} needs ${extra} bytes; ${this.memoryUsed() - replacing} of ${this.opts.memoryBytes} are in use`, { needed: extra, budget: this.opts.memoryBytes });
  }

  private configure(b: RequestBody<'Configure'>, id: number): void {
    const caps = this.opts.capabilities;
    if (b.kappa0 < caps.kappa0Min || b.kappa0 > caps.kappa0Max)
      throw new ValueRangeError(ErrorCode.KAPPA_OUT_OF_RANGE, `κ₀ = ${b.kappa0} outside [${caps.kappa0Min}, ${caps.kappa0Max}]`);
    if (b.profile !== undefined && !profileOf(b.profile)) throw new ValueRangeError(ErrorCode.OUT_OF_RANGE, `unknown profile '${b.profile}' (emulator profiles: ideal, prototype)`);
    if (b.integrator.kind === 'exact' && !caps.features.includes('exact-integrator')) throw new ValueRangeError(ErrorCode.OUT_OF_RANGE, 'exact integrator not supported');
    const cfg = {
      kappa0: b.kappa0,
      integrator: b.integrator,
      samplePeriodTau: b.samplePeriodTau,
      burnInTau: b.burnInTau,
      windowTau: b.windowTau > 0 ? b.windowTau : undefined,
    };
    const seed = b.seed ?? this.seed;
    const profile = b.profile ?? this.profile;
    if (seed !== this.seed || profile !== this.profile) {
      // A new seed or profile re-powers the analog core: loaded tensors, state and results go.
      const probe = new SpuCore({ maxCells: 1, maxRank: 1, profile: profileOf(profile)!, seed });
      probe.configure(cfg); // validate before discarding anything
      this.seed = seed;
      this.profile = profile;
      this.core = this.newCore();
      this.mem = { curvNext: 0, curvLive: 0, gradNext: 0, gradLive: 0 };
      this.curvN = this.curvR = this.gradN = 0;
      this.hasRun = false;
      this.results = null;
    }
    this.core.configure(cfg);
    this.state = 'READY';
    this.reply('Configure', { state: this.state }, id);
  }

  private curvature(b: RequestBody<'Curvature'>, id: number): void {
    const res = new TensorResolver(this.staging, this.opts.capabilities);
    const load = curvatureLoad(b, res, this.opts.capabilities);
    this.checkMemory(load.bytes, this.mem.curvNext, 'curvature');
    if (load.form === 'dense') this.core.setCurvatureDense(load.n, load.a, load.lambda, { transfer: true });
    else this.core.setCurvatureFactored(load.f, { transfer: true });
    for (const ref of res.refs) this.staging.release(ref);
    this.mem.curvNext = load.bytes;
    this.curvN = load.n;
    this.curvR = load.r;
    this.curvatureId = this.curvatureId >= 0xffffffff ? 1 : this.curvatureId + 1;
    this.reply('Curvature', { n: load.n, r: load.r, curvatureId: this.curvatureId }, id);
  }

  private gradient(b: RequestBody<'Gradient'>, id: number): void {
    const res = new TensorResolver(this.staging, this.opts.capabilities);
    const g = vectorLoad(b.g, 'g', res, this.opts.capabilities);
    this.checkMemory(vecBytes(g.length), this.mem.gradNext, 'gradient');
    this.core.setGradient(g, { transfer: true });
    for (const ref of res.refs) this.staging.release(ref);
    this.mem.gradNext = vecBytes(g.length);
    this.gradN = g.length;
    this.reply('Gradient', { n: g.length }, id);
  }

  private stateSet(b: RequestBody<'StateSet'>, id: number): void {
    const res = new TensorResolver(this.staging, this.opts.capabilities);
    const x = vectorLoad(b.x, 'x', res, this.opts.capabilities);
    if (this.curvN > 0 && x.length !== this.curvN) throw new ValueRangeError(ErrorCode.SHAPE_MISMATCH, `x has ${x.length} cells, the curvature has N = ${this.curvN}`);
    this.core.setState(x);
    for (const ref of res.refs) this.staging.release(ref);
    this.reply('StateSet', { n: x.length }, id);
  }

  private bulkBegin(b: RequestBody<'BulkBegin'>, id: number): void {
    if (!this.opts.capabilities.dtypes.includes(b.dtype)) throw new ValueRangeError(ErrorCode.DTYPE_UNSUPPORTED, `dtype ${b.dtype} not supported`);
    // Chunks must fit both directions' frames: the host's request frame limit is ours.
    const chunkBytes = Math.max(1, maxChunkBytes(this.opts.maxFrameBytes));
    const t = this.staging.begin(b, chunkBytes, this.opts.memoryBytes - this.memoryUsed());
    this.reply('BulkBegin', { transferId: t.id, chunkBytes, window: this.opts.capabilities.bulkWindow }, id);
  }

  // ————————————————————————————————————————— runs

  private startRun(b: RequestBody<'Run'>, id: number): void {
    if (this.curvN === 0) throw new StateError(ErrorCode.NO_CURVATURE, 'no curvature loaded');
    if (this.gradN === 0) throw new StateError(ErrorCode.NO_GRADIENT, 'no gradient loaded');
    if (this.gradN !== this.curvN) throw new ValueRangeError(ErrorCode.SHAPE_MISMATCH, `gradient has ${this.gradN} cells, curvature N = ${this.curvN}`);
    if ((b.delayTau ?? 0) > 0 && !this.hasRun) throw new StateError(ErrorCode.ILLEGAL_IN_STATE, 'a delay segment needs a previous run (it evolves under the previous A and g)');
    const stream = b.streamSamples === true;
    const n = this.curvN;
    const blockSamples = stream ? this.samplesPerBlock(n) : undefined;
    const runId = (this.runCounter = this.runCounter >= 0xffffffff ? 1 : this.runCounter + 1);
    const handle = this.core.startRun({
      durationTau: b.durationTau,
      start: b.start,
      delayTau: b.delayTau,
      onSampleBlock: stream ? (blk) => this.onSamples(runId, id, blk) : undefined,
      blockSamples,
    });
    // The core now holds the new system as the one the next delay runs under.
    this.mem.curvLive = this.mem.curvNext || this.mem.curvLive;
    this.mem.gradLive = this.mem.gradNext || this.mem.gradLive;
    this.mem.curvNext = 0;
    this.mem.gradNext = 0;
    this.hasRun = true;
    this.lastRunId = runId;
    this.state = 'RUNNING';
    const r = this.opts.capabilities.maxRank;
    this.run = { runId, requestId: id, handle, abort: false, startedMs: performance.now(), chunkSteps: Math.max(1, Math.floor(2e5 / (n * Math.min(r, n) + n))), stream };
    this.log.debug({ runId, durationTau: b.durationTau, start: b.start, delayTau: b.delayTau, stream }, 'run started');
    setImmediate(() => this.step(this.run));
  }

  /** Rows per sample block so one SampleBlock event fits the host's frame (≥ 1; wide rows are split by cells). */
  private samplesPerBlock(n: number): number {
    const room = this.sampleRoom();
    return Math.max(1, Math.min(16, Math.floor(room / (8 * n))));
  }

  private sampleRoom(): number {
    return maxInnerBytes(this.hostMaxFrame) - HEADER_BYTES - CRC_BYTES - 160;
  }

  private onSamples(runId: number, requestId: number, blk: SampleBlock): void {
    const n = blk.n;
    const cellsPer = Math.max(1, Math.min(n, Math.floor(this.sampleRoom() / (8 * blk.count))));
    for (let c0 = 0; c0 < n; c0 += cellsPer) {
      const cells = Math.min(cellsPer, n - c0);
      const vals = new Float64Array(blk.count * cells);
      for (let k = 0; k < blk.count; k++) vals.set(blk.values.subarray(k * n + c0, k * n + c0 + cells), k * cells);
      const body = { runId, seq: this.ringNext, firstSample: blk.first, cellOffset: c0, data: tensorFromFloat64(vals, [blk.count, cells], 'f64') };
      this.ringNext = (this.ringNext + 1) >>> 0;
      this.ring.push(body);
      if (this.ring.length > this.opts.capabilities.sampleRingBlocks) this.ring.shift();
      this.sendMessage({ kind: 'SampleBlockEvent', body }, requestId, { more: true });
    }
  }

  private step(r: ActiveRun | null): void {
    if (!r || this.run !== r || this.dead) return;
    const t0 = performance.now();
    try {
      r.handle.advance(r.chunkSteps);
    } catch (e) {
      if (e instanceof PhysicsError && e.code === 'diverged') return this.finishRun(['diverged']);
      this.run = null;
      this.state = 'READY';
      this.fail({ version: 1, flags: 0, type: OPERATIONS.Run.type, requestId: r.requestId }, this.asProtocolError(e));
      return;
    }
    const dt = performance.now() - t0;
    // Adapt the chunk to ~4 ms so Abort/Heartbeat/Status are served promptly (results do not depend on it).
    if (dt < 2) r.chunkSteps = Math.min(r.chunkSteps * 2, 1 << 24);
    else if (dt > 8) r.chunkSteps = Math.max(1, Math.floor(r.chunkSteps / 2));
    this.io.onRunProgress?.(r.handle.progressTau);
    if (this.run !== r || this.dead) return;
    const wait = this.realtimeWait(r);
    if (r.handle.done && wait <= 0) return this.finishRun();
    if (wait > 0) setTimeout(() => this.step(r), Math.min(wait, 50));
    else setImmediate(() => this.step(r));
  }

  /** With analog real-time pacing: ms until wall time catches up with the analog time covered. */
  private realtimeWait(r: ActiveRun): number {
    if (!this.opts.pacing.analogRealtime) return 0;
    const due = r.handle.progressTau * this.opts.capabilities.tauSeconds * 1000;
    return due - (performance.now() - r.startedMs);
  }

  private finishRun(extra: Flag[] = []): void {
    const r = this.run;
    if (!r) return;
    this.run = null;
    this.state = 'READY';
    let res: RunResult | null = null;
    if (extra.includes('diverged')) res = null;
    else res = r.abort ? r.handle.abort() : r.handle.result();
    const flags: Flag[] = [...extra];
    if (res) for (const f of res.flags) flags.push(f === 'adc-clipped' ? 'clipped' : f);
    const n = res ? res.mean.length : 0;
    this.results = {
      runId: r.runId,
      n,
      sampleCount: res?.sampleCount ?? 0,
      analogTimeTau: res?.analogTimeTau ?? r.handle.progressTau,
      saturationCount: res?.saturationCount ?? 0,
      clipCount: res?.clipCount ?? 0,
      flags,
      mean: res?.mean ?? new Float64Array(0),
      final: res?.final ?? new Float64Array(0),
    };
    this.log.debug({ runId: r.runId, flags, sampleCount: this.results.sampleCount }, 'run finished');
    this.reply('Run', { runId: r.runId, analogTimeTau: this.results.analogTimeTau, sampleCount: this.results.sampleCount, flags }, r.requestId);
  }

  private storedResults(): StoredResult {
    if (!this.results) throw new StateError(ErrorCode.NO_RESULTS, 'no run has completed since power-on or reset');
    return this.results;
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
    if (r.n > 0) {
      if (b.vectors === 'mean' || b.vectors === 'both') body.mean = tensorFromFloat64(r.mean, [r.n], b.dtype);
      if (b.vectors === 'final' || b.vectors === 'both') body.final = tensorFromFloat64(r.final, [r.n], b.dtype);
    }
    this.reply('Results', body, id);
  }

  private resultsRead(b: RequestBody<'ResultsRead'>, id: number): void {
    const r = this.storedResults();
    if (b.offset + b.count > r.n) throw new ValueRangeError(ErrorCode.OUT_OF_RANGE, `elements [${b.offset}, ${b.offset + b.count}) outside the result's ${r.n}`, { n: r.n });
    const src = b.field === 'mean' ? r.mean : r.final;
    const data = tensorFromFloat64(src.subarray(b.offset, b.offset + b.count), [b.count], b.dtype);
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
      if (size > room && blocks.length > 0) break;
      room -= size;
      blocks.push(blk);
    }
    const nextSeq = blocks.length > 0 ? (blocks[blocks.length - 1].seq + 1) >>> 0 : start;
    this.reply('SamplesRead', { blocks, nextSeq, oldestSeq }, id);
  }

  // ————————————————————————————————————————— used by the device wrapper

  /** The host side of the link went away: uploads in progress are interrupted (committed ones stay). */
  linkLost(): void {
    const n = this.staging.dropOpen();
    if (n > 0) this.log.info({ dropped: n }, 'link lost: discarded open transfers');
  }
}

/** Header type a message travels with (an Error echoes the failed request's type). */
function typeOfMessage(msg: Message): number {
  if (msg.kind === 'Error') return msg.requestType;
  if (msg.kind === 'SampleBlockEvent') return EVENTS.SampleBlock.type;
  return OPERATIONS[msg.kind.replace(/(Request|Reply)$/, '') as OpName].type;
}
