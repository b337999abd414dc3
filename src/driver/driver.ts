// SpuDriver: one SPU behind one byte link. Opens with a handshake (stale bytes discarded,
// version negotiated, schema fingerprint and capabilities checked), then offers a typed async
// API. Operations that change device state are serialised (a Run holds the device until its
// results are read, so an upload issued meanwhile waits instead of failing BUSY); status,
// heartbeat, errors and abort go straight through. The driver keeps a record of the last
// committed device state so that reconnect({ restore: true }) can rebuild it on a fresh link —
// on an emulator including its run counter (PROTOCOL.md §7.3.1), so that a run repeated after
// the restore draws the noise it would have drawn without the fault.
import { EventEmitter } from 'node:events';
import { hostname } from 'node:os';
import pino from 'pino';
import type { Logger } from 'pino';
import {
  ErrorCode,
  MAX_MAX_FRAME_BYTES,
  MIN_MAX_FRAME_BYTES,
  PROTOCOL_VERSION,
  SCHEMA_FINGERPRINT,
  maxInnerBytes,
  planElementReads,
  tensorElementCount,
  tensorToFloat64,
} from '../protocol/index.ts';
import type { Capabilities, ConfigureRequest, Dtype, EventMessage, OpName, ReplyBody, RequestBody } from '../protocol/index.ts';
import { Channel } from './channel.ts';
import type { RequestOptions } from './channel.ts';
import { chooseDtype } from './convert.ts';
import type { DtypeChoice, NumericArray } from './convert.ts';
import { ArgumentError, CapabilityError, DeviceError, DisconnectedError, HandshakeError, ProtocolMismatchError, TimeoutError } from './errors.ts';
import { MetricsRecorder } from './metrics.ts';
import type { DriverMetrics } from './metrics.ts';
import { RunHandle, SampleQueue } from './run-handle.ts';
import type { ByteLink } from './transports/open-link.ts';
import type {
  ConfigureOptions,
  CurvatureInput,
  DeviceInfo,
  DeviceStatus,
  ErrorEntry,
  Readout,
  RunOptions,
  RunResult,
  SampleBlock,
  UploadOptions,
  UploadReport,
} from './types.ts';
import { prepareCurvature, prepareVector, retainedCopy, sendUpload } from './uploads.ts';
import type { PreparedUpload } from './uploads.ts';

/** Opens (or re-opens) the byte link; the driver calls it again on reconnect(). */
export type LinkOpener = () => Promise<ByteLink>;

export interface DriverOptions {
  /** pino logger; the driver logs through a child per link. Default: silent. */
  logger?: Logger;
  /** Per-request timeout. Default 2000 ms. */
  timeoutMs?: number;
  /** Extra attempts for idempotent requests after a timeout. Default 2. */
  retries?: number;
  /** Hello timeout per attempt. Default timeoutMs. */
  handshakeTimeoutMs?: number;
  /** Largest frame the host accepts (advertised in Hello). Default 65535. */
  hostMaxFrameBytes?: number;
  /** Heartbeat when the link has been quiet this long; 0 disables. Default 1000 ms. */
  heartbeatIntervalMs?: number;
  /** Consecutive unanswered heartbeats that declare the device gone. Default 3. */
  heartbeatMisses?: number;
  /** Wire dtype for uploads. Default 'auto'. */
  dtype?: DtypeChoice;
  /** Upper bound on a run's wall time however long the device reports RUNNING. Default 10 min. */
  maxRunMs?: number;
  /** Fail at open unless the device offers at least this much. */
  require?: { cells?: number; rank?: number; features?: Capabilities['features'] };
  /** Free-form host identification sent in Hello. */
  hostName?: string;
  /** Cap on bulk chunk bytes in flight (e.g. a USB bridge with a small buffer). Default: the device's window alone. */
  maxInFlightBytes?: number;
  /**
   * Schema fingerprint mismatch (same major): 'strict' (default) refuses the device with a
   * HandshakeError; 'warn' logs and continues, as PROTOCOL.md §7.1 permits between minors.
   */
  fingerprint?: 'strict' | 'warn';
}

export interface ReconnectOptions {
  /** Re-send the last configuration, curvature, gradient and state. Default true. */
  restore?: boolean;
}

interface DeviceRecord {
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

const DEFAULTS = {
  timeoutMs: 2000,
  retries: 2,
  hostMaxFrameBytes: MAX_MAX_FRAME_BYTES,
  heartbeatIntervalMs: 1000,
  heartbeatMisses: 3,
  maxRunMs: 600_000,
};

const silent = pino({ level: 'silent' });

export class SpuDriver extends EventEmitter {
  private readonly opener: LinkOpener;
  private readonly opts: DriverOptions;
  private readonly rootLog: Logger;
  private log: Logger;
  private readonly metricsRec = new MetricsRecorder();
  private ch!: Channel;
  private deviceInfo!: DeviceInfo;
  private record: DeviceRecord = {};
  private chain: Promise<unknown> = Promise.resolve();
  private heartbeatTimer: NodeJS.Timeout | null = null;
  private heartbeatBusy = false;
  private misses = 0;
  private lastUptime = 0;
  private closing: Promise<void> | null = null;
  private readonly hostMax: number;
  private readonly timeoutMs: number;
  /** id of the device's last run as far as this host knows (to tell a lost Run reply from a lost Run) */
  private lastRunId = 0;

  private constructor(opener: LinkOpener, opts: DriverOptions) {
    super();
    this.opener = opener;
    this.opts = opts;
    this.rootLog = opts.logger ?? silent;
    this.log = this.rootLog;
    this.timeoutMs = opts.timeoutMs ?? DEFAULTS.timeoutMs;
    this.hostMax = opts.hostMaxFrameBytes ?? DEFAULTS.hostMaxFrameBytes;
    if (!Number.isInteger(this.hostMax) || this.hostMax < MIN_MAX_FRAME_BYTES || this.hostMax > MAX_MAX_FRAME_BYTES)
      throw new ArgumentError(`hostMaxFrameBytes must be an integer in [${MIN_MAX_FRAME_BYTES}, ${MAX_MAX_FRAME_BYTES}]`);
    if (!(this.timeoutMs > 0)) throw new ArgumentError(`timeoutMs must be > 0, got ${this.timeoutMs}`);
  }

  /** Opens the link, performs the handshake and starts heartbeats. */
  static async open(opener: LinkOpener, opts: DriverOptions = {}): Promise<SpuDriver> {
    const d = new SpuDriver(opener, opts);
    await d.attach();
    return d;
  }

  // ---- session ---------------------------------------------------------------------------------

  private async attach(): Promise<void> {
    const link = await this.opener();
    this.log = this.rootLog.child({ link: link.label });
    this.ch = new Channel(link, {
      logger: this.log,
      metrics: this.metricsRec,
      maxFrameBytes: this.hostMax,
      timeoutMs: this.timeoutMs,
      retries: this.opts.retries ?? DEFAULTS.retries,
    });
    const ch = this.ch;
    ch.onDown((e) => {
      if (ch !== this.ch) return;
      this.stopHeartbeat();
      if (!this.closing) this.emit('disconnected', e);
    });
    try {
      this.deviceInfo = await this.handshake();
    } catch (e) {
      ch.goDown(new DisconnectedError('closed-by-host', 'handshake failed'));
      await closeLink(link);
      throw e;
    }
    this.misses = 0;
    const hs = this.opts.handshakeTimeoutMs ?? this.timeoutMs;
    this.lastRunId = (await this.ch.request('Status', {}, { timeoutMs: hs }).catch(() => ({ runId: 0 }))).runId;
    this.startHeartbeat();
  }

  private async handshake(): Promise<DeviceInfo> {
    const ch = this.ch;
    const before = ch.decoderCounters.bytesDiscarded;
    // A lone delimiter ends whatever partial frame the device holds from an earlier session.
    ch.writeRaw(Buffer.of(0));
    const hello: RequestBody<'Hello'> = {
      major: PROTOCOL_VERSION.major,
      minor: PROTOCOL_VERSION.minor,
      host: (this.opts.hostName ?? `tngd-driver@${hostname()}`).slice(0, 64),
      maxFrameBytes: this.hostMax,
      schemaFingerprint: SCHEMA_FINGERPRINT,
    };
    const timeoutMs = this.opts.handshakeTimeoutMs ?? this.timeoutMs;
    let reply: ReplyBody<'Hello'> | undefined;
    for (let busyTries = 0; !reply; busyTries++) {
      try {
        reply = await ch.request('Hello', hello, { timeoutMs });
      } catch (e) {
        if (e instanceof DeviceError && e.code === ErrorCode.BUSY && busyTries < 3) {
          // A run left over from an earlier session: stop it, then greet again.
          this.log.warn('device busy with a run from an earlier session; aborting it');
          await ch.request('Abort', {}, { timeoutMs });
          await delay(20 * (busyTries + 1));
          continue;
        }
        throw handshakeFailure(e, ch.link.label, timeoutMs);
      }
    }
    if (reply.major !== PROTOCOL_VERSION.major)
      throw new HandshakeError('version', `device speaks protocol ${reply.major}.${reply.minor}, this host ${PROTOCOL_VERSION.major}.${PROTOCOL_VERSION.minor}`);
    if (reply.schemaFingerprint !== SCHEMA_FINGERPRINT) {
      const msg =
        `schema fingerprint mismatch: device ${reply.schemaFingerprint}, host ${SCHEMA_FINGERPRINT} (protocol ${reply.major}.${reply.minor}). ` +
        'Host and firmware were built from different revisions of the v1 message schemas (firmware-spec/schemas/FINGERPRINT)';
      if ((this.opts.fingerprint ?? 'strict') === 'strict')
        throw new HandshakeError('fingerprint', `${msg}; update one of them, or connect with fingerprint: 'warn' to rely on the minor-version rules.`);
      this.log.warn(msg);
    }
    const caps = reply.capabilities;
    if (caps.maxFrameBytes < MIN_MAX_FRAME_BYTES || caps.maxCells < 1 || caps.dtypes.length === 0)
      throw new HandshakeError('capabilities', `device capabilities are unusable: maxFrameBytes ${caps.maxFrameBytes}, maxCells ${caps.maxCells}, dtypes [${caps.dtypes.join(', ')}]`);
    const req = this.opts.require ?? {};
    if (req.cells !== undefined && caps.maxCells < req.cells)
      throw new CapabilityError('maxCells', caps.maxCells, req.cells, `device has ${caps.maxCells} cells, ${req.cells} required`);
    if (req.rank !== undefined && caps.maxRank < req.rank)
      throw new CapabilityError('maxRank', caps.maxRank, req.rank, `device supports rank ${caps.maxRank}, ${req.rank} required`);
    for (const f of req.features ?? [])
      if (!caps.features.includes(f)) throw new CapabilityError('features', caps.features, f, `device lacks the required feature '${f}'`);
    const discarded = ch.decoderCounters.bytesDiscarded - before;
    const info: DeviceInfo = {
      link: ch.link.label,
      identity: reply.identity,
      capabilities: caps,
      protocol: { major: reply.major, minor: Math.min(reply.minor, PROTOCOL_VERSION.minor) },
      sessionId: reply.sessionId,
      schemaFingerprint: reply.schemaFingerprint,
    };
    this.log.info({ identity: info.identity, sessionId: info.sessionId, staleBytesDiscarded: discarded }, 'connected');
    return info;
  }

  /** Identity, capabilities and protocol of the device (from the handshake). */
  get info(): DeviceInfo {
    return this.deviceInfo;
  }

  /**
   * An emulator's run counter — the noise run index of its next run (PROTOCOL.md §7.3.1) — after
   * the last Configure or the last run whose results this host received; what a checkpoint keeps
   * and what restore() puts back. Undefined for devices that do not report it (hardware,
   * protocol 1.0) and before the first Configure.
   */
  get runIndex(): number | undefined {
    return this.record.runIndex;
  }

  /** True when Configure.runIndex will be honoured: feature 'emulator' and protocol ≥ 1.1. */
  get canSetRunIndex(): boolean {
    const p = this.deviceInfo.protocol;
    return this.capabilities.features.includes('emulator') && (p.major > 1 || p.minor >= 1);
  }

  get capabilities(): Capabilities {
    return this.deviceInfo.capabilities;
  }

  /** Bulk bytes the driver keeps in flight on this link (see DriverOptions.maxInFlightBytes). */
  get maxInFlightBytes(): number {
    return this.opts.maxInFlightBytes ?? Infinity;
  }

  /** The request engine (raw frames, taps) — for conformance checks and diagnostics. */
  get channel(): Channel {
    return this.ch;
  }

  get isOpen(): boolean {
    return !this.closing && !this.ch.isDown;
  }

  metrics(): DriverMetrics {
    return this.metricsRec.snapshot();
  }

  /** Runs `fn` after every earlier state-changing operation has settled. */
  private exclusive<T>(fn: () => Promise<T>): Promise<T> {
    const run = this.chain.then(fn, fn);
    this.chain = run.catch(() => {});
    return run;
  }

  private ensureOpen(): void {
    if (this.closing) throw new DisconnectedError('closed-by-host', 'the driver is closed');
  }

  /** Sends any request (typed); the API methods below are built on it. */
  async request<K extends OpName>(op: K, body: RequestBody<K>, opts?: RequestOptions): Promise<ReplyBody<K>> {
    this.ensureOpen();
    return this.ch.request(op, body, opts);
  }

  // ---- liveness --------------------------------------------------------------------------------

  private startHeartbeat(): void {
    const every = this.opts.heartbeatIntervalMs ?? DEFAULTS.heartbeatIntervalMs;
    if (!every) return;
    this.heartbeatTimer = setInterval(() => void this.tick(every), Math.max(10, Math.floor(every / 2)));
    this.heartbeatTimer.unref();
  }

  private stopHeartbeat(): void {
    if (this.heartbeatTimer) clearInterval(this.heartbeatTimer);
    this.heartbeatTimer = null;
  }

  private async tick(every: number): Promise<void> {
    const ch = this.ch;
    if (this.heartbeatBusy || ch.isDown || this.closing) return;
    if (performance.now() - ch.lastRxAt < every) return;
    this.heartbeatBusy = true;
    try {
      await this.heartbeat();
      this.misses = 0;
    } catch (e) {
      if (e instanceof TimeoutError && ch === this.ch) {
        this.misses++;
        this.log.warn({ misses: this.misses }, 'heartbeat unanswered');
        if (this.misses >= (this.opts.heartbeatMisses ?? DEFAULTS.heartbeatMisses)) {
          ch.goDown(new DisconnectedError('heartbeat-lost', `no heartbeat reply ${this.misses} times in a row: device considered gone (${ch.link.label})`));
          void closeLink(ch.link);
        }
      }
    } finally {
      this.heartbeatBusy = false;
    }
  }

  /** Round trip with a nonce; detects a device that rebooted behind the host's back. */
  async heartbeat(opts: { timeoutMs?: number } = {}): Promise<ReplyBody<'Heartbeat'> & { rttMs: number }> {
    this.ensureOpen();
    const nonce = (Math.random() * 0x100000000) >>> 0;
    const t0 = performance.now();
    const r = await this.ch.request('Heartbeat', { nonce }, { retries: 0, ...(opts.timeoutMs ? { timeoutMs: opts.timeoutMs } : {}) });
    if (r.nonce !== nonce) throw new ProtocolMismatchError(`Heartbeat: nonce ${r.nonce} echoed for ${nonce}`);
    if (r.uptimeMs + 1000 < this.lastUptime) {
      this.log.warn({ uptimeMs: r.uptimeMs, before: this.lastUptime }, 'device uptime went backwards: it rebooted and lost its state');
      this.emit('reboot', r);
    }
    this.lastUptime = r.uptimeMs;
    return { ...r, rttMs: performance.now() - t0 };
  }

  async status(opts: { timeoutMs?: number } = {}): Promise<DeviceStatus> {
    this.ensureOpen();
    const s = await this.ch.request('Status', {}, opts.timeoutMs ? { timeoutMs: opts.timeoutMs } : {});
    if (s.state !== 'RUNNING') this.lastRunId = s.runId;
    return s;
  }

  /** Reads (and removes) queued device errors, oldest first. */
  async readErrors(max = 64): Promise<{ entries: ErrorEntry[]; remaining: number }> {
    this.ensureOpen();
    const entries: ErrorEntry[] = [];
    let remaining = 0;
    while (entries.length < max) {
      const r = await this.ch.request('ErrorsRead', { max: Math.min(max - entries.length, 0xffff) });
      entries.push(...r.entries);
      remaining = r.remaining;
      if (r.entries.length === 0 || r.remaining === 0) break;
    }
    return { entries, remaining };
  }

  async clearErrors(): Promise<number> {
    this.ensureOpen();
    return (await this.ch.request('ErrorsClear', {})).cleared;
  }

  // ---- configuration and uploads ---------------------------------------------------------------

  async configure(o: ConfigureOptions): Promise<ReplyBody<'Configure'>> {
    this.ensureOpen();
    const caps = this.capabilities;
    if (!o || typeof o.kappa0 !== 'number' || !Number.isFinite(o.kappa0) || o.kappa0 < 0) throw new ArgumentError(`kappa0 must be a finite number ≥ 0, got ${String(o?.kappa0)}`);
    if (o.kappa0 < caps.kappa0Min || o.kappa0 > caps.kappa0Max)
      throw new CapabilityError('kappa0', [caps.kappa0Min, caps.kappa0Max], o.kappa0, `κ₀ = ${o.kappa0} is outside the device's range [${caps.kappa0Min}, ${caps.kappa0Max}]`);
    const integrator = o.integrator ?? { kind: 'euler', dtTau: 0.05 };
    if (integrator.kind === 'exact' && !caps.features.includes('exact-integrator'))
      throw new CapabilityError('features', caps.features, 'exact-integrator', "the exact integrator needs the device feature 'exact-integrator'");
    const req: ConfigureRequest = {
      kappa0: o.kappa0,
      readout: o.readout ?? 'both',
      samplePeriodTau: o.samplePeriodTau ?? 0.1,
      windowTau: o.windowTau ?? 0,
      burnInTau: o.burnInTau ?? 0,
      integrator,
    };
    if (o.seed !== undefined) req.seed = o.seed;
    if (o.profile !== undefined) req.profile = o.profile;
    const record = { ...req };
    if (o.runIndex !== undefined) {
      if (!Number.isInteger(o.runIndex) || o.runIndex < 0 || o.runIndex > 0xffffffff) throw new ArgumentError(`runIndex must be an integer in [0, 2^32 − 1], got ${String(o.runIndex)}`);
      // Other devices ignore it (PROTOCOL.md §7.3.1): refuse rather than let the noise differ.
      if (!this.canSetRunIndex)
        throw new CapabilityError('features', caps.features, 'emulator', `runIndex needs an emulator speaking protocol ≥ 1.1 (this device: ${caps.features.includes('emulator') ? `protocol ${this.deviceInfo.protocol.major}.${this.deviceInfo.protocol.minor}` : "no 'emulator' feature"})`);
      req.runIndex = o.runIndex;
    }
    return this.exclusive(async () => {
      const r = await this.ch.request('Configure', req);
      if (req.runIndex !== undefined && r.runIndex !== req.runIndex)
        throw new ProtocolMismatchError(`Configure: asked for run index ${req.runIndex}, the device reports ${String(r.runIndex)}`);
      this.record.configure = record;
      // what the device reports: a new seed or profile restarts its counter
      this.record.runIndex = r.runIndex;
      return r;
    });
  }

  private dtypeFor(opts: UploadOptions): Dtype {
    return chooseDtype(this.capabilities, opts.dtype ?? this.opts.dtype ?? 'auto');
  }

  private send<K extends 'Curvature' | 'Gradient' | 'StateSet'>(up: PreparedUpload<K>, opts: UploadOptions) {
    return sendUpload(this.ch, up, {
      deviceMaxFrameBytes: this.capabilities.maxFrameBytes,
      maxInFlightBytes: this.maxInFlightBytes,
      log: this.log,
      ...(opts.inline !== undefined ? { inline: opts.inline } : {}),
    });
  }

  /**
   * Loads A (factored: scale·JᵀHJ + λI, or dense + λI). Converted to the device's dtype; sent
   * inline or by bulk transfer; atomic on the device: if anything fails, the previous A stays.
   */
  async uploadCurvature(c: CurvatureInput, opts: UploadOptions = {}): Promise<UploadReport> {
    this.ensureOpen();
    const up = prepareCurvature(c, this.capabilities, this.dtypeFor(opts));
    return this.exclusive(async () => {
      const { reply, report } = await this.send(up, opts);
      const r = reply as ReplyBody<'Curvature'>;
      if (r.n !== up.n) throw new ProtocolMismatchError(`Curvature: device loaded N = ${r.n}, host sent ${up.n}`);
      this.record.curvature = { prepared: opts.transfer ? up : retainedCopy(up), opts };
      if (this.record.n !== up.n) {
        // A new dimension invalidates a gradient or state of the old one.
        delete this.record.gradient;
        delete this.record.state;
      }
      this.record.n = up.n;
      return { ...report, curvatureId: r.curvatureId, r: r.r };
    });
  }

  async uploadGradient(g: NumericArray, opts: UploadOptions = {}): Promise<UploadReport> {
    this.ensureOpen();
    const n = g?.length;
    const up = prepareVector('Gradient', g, n, this.capabilities, this.dtypeFor(opts));
    return this.exclusive(async () => {
      const { report } = await this.send(up, opts);
      this.record.gradient = { g: Float64Array.from(g as ArrayLike<number>), opts };
      return report;
    });
  }

  /** Sets the state x (the next run with start 'carry' starts from it). */
  async setState(x: NumericArray, opts: UploadOptions = {}): Promise<UploadReport> {
    this.ensureOpen();
    const up = prepareVector('StateSet', x, x?.length, this.capabilities, this.dtypeFor(opts));
    return this.exclusive(async () => {
      const { report } = await this.send(up, opts);
      this.record.state = { x: Float64Array.from(x as ArrayLike<number>) };
      return report;
    });
  }

  async resetState(): Promise<void> {
    this.ensureOpen();
    return this.exclusive(async () => {
      await this.ch.request('StateReset', {});
      this.record.state = { reset: true };
    });
  }

  // ---- runs ------------------------------------------------------------------------------------

  /**
   * Starts a run and returns at once. Await `handle.result` later; meanwhile the host may compute
   * (state-changing calls made meanwhile queue behind the run). Bad options throw at once
   * (ArgumentError, CapabilityError); every other API method reports errors by rejecting.
   */
  run(o: RunOptions): RunHandle {
    this.ensureOpen();
    const caps = this.capabilities;
    if (!o || typeof o.durationTau !== 'number' || !Number.isFinite(o.durationTau) || o.durationTau <= 0)
      throw new ArgumentError(`durationTau must be a finite number > 0, got ${String(o?.durationTau)}`);
    const delayTau = o.delayTau ?? 0;
    if (!Number.isFinite(delayTau) || delayTau < 0) throw new ArgumentError(`delayTau must be a finite number ≥ 0, got ${delayTau}`);
    if (delayTau > 0 && !caps.features.includes('delay')) throw new CapabilityError('features', caps.features, 'delay', "delayTau needs the device feature 'delay'");
    if (o.streamSamples && !caps.features.includes('sample-stream'))
      throw new CapabilityError('features', caps.features, 'sample-stream', "streamSamples needs the device feature 'sample-stream'");
    const start = o.start ?? 'carry';
    if (!['carry', 'reset', 'gradient'].includes(start)) throw new ArgumentError(`start must be carry, reset or gradient, got ${String(start)}`);
    const body: RequestBody<'Run'> = { durationTau: o.durationTau, start };
    if (delayTau > 0) body.delayTau = delayTau;
    if (o.streamSamples) body.streamSamples = true;
    const queue = o.streamSamples ? new SampleQueue() : null;
    const analogMs = (o.durationTau + delayTau) * caps.tauSeconds * 1000;
    const timeoutMs = o.timeoutMs ?? Math.ceil(this.timeoutMs + 2 * analogMs);
    const maxRunMs = Math.max(timeoutMs, this.opts.maxRunMs ?? DEFAULTS.maxRunMs);

    let endedResolve!: (r: ReplyBody<'Run'>) => void;
    let endedReject!: (e: unknown) => void;
    const ended = new Promise<ReplyBody<'Run'>>((res, rej) => {
      endedResolve = res;
      endedReject = rej;
    });
    const result = this.exclusive(async () => {
      const t0 = performance.now();
      const onEvent = (ev: EventMessage): void => {
        if (ev.kind === 'SampleBlockEvent' && queue) queue.push(sampleBlockOf(ev.body));
      };
      // The reply comes when the run ends; keep waiting while the device says it is running.
      const extend = async (): Promise<boolean> => {
        if (performance.now() - t0 > maxRunMs) return false;
        try {
          return (await this.ch.request('Status', {}, { retries: 1 })).state === 'RUNNING';
        } catch {
          return false;
        }
      };
      let reply: ReplyBody<'Run'> | null = null;
      const before = this.lastRunId;
      const counted = this.record.runIndex !== undefined;
      for (let attempt = 0; !reply; attempt++) {
        try {
          reply = await this.ch.request('Run', body, { timeoutMs, onEvent, extend });
          this.lastRunId = reply.runId;
        } catch (e) {
          if (e instanceof DeviceError && e.code === ErrorCode.ABORTED) {
            // Aborted (PROTOCOL.md §7.6): the partial results stay readable, flagged 'aborted'.
            this.log.info('run aborted');
            reply = { runId: 0, analogTimeTau: 0, sampleCount: 0, flags: ['aborted'] };
            // the aborted run used its index; no reply carried the counter
            if (counted) reply.runIndex = (await this.ch.request('Status', {}).catch(() => null))?.runIndex;
            break;
          }
          // No reply: ask the device what happened (PROTOCOL.md §6, "check Status first").
          const s = e instanceof TimeoutError ? await this.ch.request('Status', {}).catch(() => null) : null;
          if (s && s.state === 'READY' && s.runId !== before) {
            this.log.warn({ runId: s.runId }, 'Run reply lost; the run completed, reading its results');
            this.lastRunId = s.runId;
            reply = { runId: s.runId, analogTimeTau: 0, sampleCount: 0, flags: [], ...(s.runIndex !== undefined ? { runIndex: s.runIndex } : {}) };
            break;
          }
          if (s && s.state === 'READY' && s.runId === before && attempt < (this.opts.retries ?? DEFAULTS.retries)) {
            this.log.warn('Run request lost before the device saw it; sending it again');
            this.metricsRec.retries++;
            continue;
          }
          queue?.end(e);
          endedReject(e);
          throw e;
        }
      }
      queue?.end();
      endedResolve(reply);
      const out: RunResult = o.fetchResults === false ? { ...reply, n: this.record.n ?? 0, saturationCount: 0, clipCount: 0 } : await this.fetchResults();
      if (reply.runIndex !== undefined) {
        // the run reached the host: now it counts (with its final state, recorded by fetchResults)
        out.runIndex = reply.runIndex;
        this.record.runIndex = reply.runIndex;
      }
      return out;
    });
    return new RunHandle({ ended, result, samples: queue, abort: () => this.abort() });
  }

  /** Stops the current run (if any). Bypasses the queue of state-changing operations. */
  async abort(): Promise<ReplyBody<'Abort'>> {
    this.ensureOpen();
    return this.ch.request('Abort', {});
  }

  /** Results of the last run, reading vectors in several frames when they are large. */
  async results(): Promise<RunResult> {
    this.ensureOpen();
    return this.exclusive(() => this.fetchResults());
  }

  private async fetchResults(): Promise<RunResult> {
    const readout: Readout = this.record.configure?.readout ?? 'both';
    const n = this.record.n ?? 0;
    const fields: ('mean' | 'final')[] = readout === 'both' ? ['mean', 'final'] : [readout];
    // Header fields and two tensor headers stay well under 300 bytes.
    const inline = n > 0 && fields.length * n * 8 + 300 <= maxInnerBytes(this.hostMax);
    let r: ReplyBody<'Results'>;
    try {
      r = await this.ch.request('Results', { vectors: inline ? readout : 'none', dtype: 'f64' });
    } catch (e) {
      if (!(inline && e instanceof DeviceError && e.code === ErrorCode.REPLY_TOO_LARGE)) throw e;
      r = await this.ch.request('Results', { vectors: 'none', dtype: 'f64' });
    }
    this.lastRunId = r.runId;
    const out: RunResult = {
      runId: r.runId,
      n: r.n,
      sampleCount: r.sampleCount,
      analogTimeTau: r.analogTimeTau,
      saturationCount: r.saturationCount,
      clipCount: r.clipCount,
      flags: [...r.flags],
    };
    for (const f of fields) {
      const t = r[f];
      out[f] = t ? tensorToFloat64(t) : await this.readVector(f, r.n, r.runId);
      if (out[f]!.length !== r.n) throw new ProtocolMismatchError(`Results: ${f} has ${out[f]!.length} values, n = ${r.n}`);
    }
    if (out.final) this.record.state = { x: out.final };
    return out;
  }

  private async readVector(field: 'mean' | 'final', n: number, runId: number): Promise<Float64Array> {
    const out = new Float64Array(n);
    const plan = planElementReads(n, 'f64', this.hostMax);
    // A few reads in flight hide the round trip without flooding the device.
    let next = 0;
    const worker = async (): Promise<void> => {
      while (next < plan.length) {
        const p = plan[next++];
        const r = await this.ch.request('ResultsRead', { field, dtype: 'f64', offset: p.offset, count: p.count });
        if (r.runId !== runId || r.field !== field || r.offset !== p.offset || tensorElementCount(r.data.shape) !== p.count)
          throw new ProtocolMismatchError(`ResultsRead: asked ${field}[${p.offset}, +${p.count}) of run ${runId}, got ${r.field}[${r.offset}, +${tensorElementCount(r.data.shape)}) of run ${r.runId}`);
        out.set(tensorToFloat64(r.data), p.offset);
      }
    };
    await Promise.all(Array.from({ length: Math.min(4, plan.length) }, worker));
    return out;
  }

  /** Reads blocks from the device's sample ring (runs with or without streaming). */
  async readSamples(fromSeq: number, maxBlocks = 16): Promise<{ blocks: SampleBlock[]; nextSeq: number; oldestSeq: number }> {
    this.ensureOpen();
    const r = await this.ch.request('SamplesRead', { fromSeq, maxBlocks });
    return { blocks: r.blocks.map(sampleBlockOf), nextSeq: r.nextSeq, oldestSeq: r.oldestSeq };
  }

  // ---- reset, reconnect, close -----------------------------------------------------------------

  /** DeviceReset: back to IDLE, everything loaded is dropped (and forgotten by the driver). */
  async reset(opts: { hard?: boolean } = {}): Promise<void> {
    this.ensureOpen();
    await this.ch.request('DeviceReset', opts.hard ? { hard: true } : {});
    this.record = {};
  }

  /**
   * Re-opens the link (closing the old one), handshakes again and, with restore (default),
   * re-sends the last committed configuration, curvature, gradient and state — on an emulator
   * with the run counter of `runIndex`.
   */
  async reconnect(opts: ReconnectOptions = {}): Promise<DeviceInfo> {
    this.ensureOpen();
    this.stopHeartbeat();
    const old = this.ch;
    old.goDown(new DisconnectedError('closed-by-host', 'reconnecting'));
    await closeLink(old.link);
    return this.exclusive(async () => {
      await this.attach();
      this.metricsRec.reconnects++;
      if (opts.restore ?? true) await this.restoreRecord();
      this.emit('reconnected', this.deviceInfo);
      return this.deviceInfo;
    });
  }

  /**
   * After the device lost its state on a live link (it rebooted: NOT_CONFIGURED, NO_SUCH_TRANSFER
   * or a 'reboot' event): greets it again (a rebooted device forgot the session, e.g. the host's
   * frame limit) and re-sends the recorded configuration, curvature, gradient and state.
   */
  async restore(): Promise<void> {
    this.ensureOpen();
    return this.exclusive(async () => {
      this.deviceInfo = await this.handshake();
      await this.restoreRecord();
    });
  }

  private async restoreRecord(): Promise<void> {
    const rec = this.record;
    this.log.info({ configure: !!rec.configure, curvature: !!rec.curvature, gradient: !!rec.gradient, state: !!rec.state, runIndex: rec.runIndex }, 'restoring device state');
    if (!rec.configure) return;
    const req: ConfigureRequest = { ...rec.configure };
    if (rec.runIndex !== undefined && this.canSetRunIndex) req.runIndex = rec.runIndex;
    const r = await this.ch.request('Configure', req);
    rec.runIndex = r.runIndex;
    if (rec.curvature) await this.send(rec.curvature.prepared, rec.curvature.opts);
    if (rec.gradient) await this.send(prepareVector('Gradient', rec.gradient.g, rec.gradient.g.length, this.capabilities, this.dtypeFor(rec.gradient.opts)), rec.gradient.opts);
    if (rec.state && 'x' in rec.state) await this.send(prepareVector('StateSet', rec.state.x, rec.state.x.length, this.capabilities, this.dtypeFor({})), {});
    else if (rec.state) await this.ch.request('StateReset', {});
  }

  /** Closes the link; pending requests fail with DisconnectedError. Idempotent; always settles. */
  close(): Promise<void> {
    this.closing ??= (async () => {
      this.stopHeartbeat();
      const ch = this.ch;
      if (!ch) return;
      ch.goDown(new DisconnectedError('closed-by-host', 'the driver was closed'));
      await closeLink(ch.link);
      this.log.debug(this.metricsRec.snapshot(), 'closed');
    })();
    return this.closing;
  }
}

function sampleBlockOf(b: ReplyBody<'SamplesRead'>['blocks'][number]): SampleBlock {
  const values = tensorToFloat64(b.data);
  const [count, cells] = b.data.shape.length === 2 ? b.data.shape : [1, values.length];
  return { runId: b.runId, seq: b.seq, firstSample: b.firstSample, cellOffset: b.cellOffset, count, cells, values };
}

function handshakeFailure(e: unknown, label: string, timeoutMs: number): Error {
  if (e instanceof TimeoutError)
    return new HandshakeError('no-reply', `no reply to Hello from ${label} within ${timeoutMs} ms (${e.attempts} attempts): is an SPU attached, powered, and is the baud rate right?`, { cause: e });
  if (e instanceof DeviceError && e.code === ErrorCode.VERSION_UNSUPPORTED)
    return new HandshakeError('version', `device does not support protocol ${PROTOCOL_VERSION.major}.${PROTOCOL_VERSION.minor}: ${e.message}`, { cause: e });
  if (e instanceof DeviceError) return new HandshakeError('refused', `device refused Hello: ${e.message}`, { cause: e });
  return e instanceof Error ? e : new Error(String(e));
}

async function closeLink(link: ByteLink): Promise<void> {
  // close() always settles per the ByteLink contract; the cap guards a misbehaving custom link.
  let timer: NodeJS.Timeout | undefined;
  const cap = new Promise<void>((r) => (timer = setTimeout(r, 3000)));
  // The cap's timer is cleared once close settles: left running it kept a CLI alive for 3 s.
  await Promise.race([link.close().catch(() => {}), cap]);
  clearTimeout(timer);
}

function delay(ms: number): Promise<void> {
  return new Promise((r) => setTimeout(r, ms));
}
