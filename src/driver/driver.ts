// SpuDriver: one SPU behind one byte link. Opens with a handshake (handshake.ts), then offers a
// typed async API. Operations that change device state are serialised (a Run holds the device
// until its results are read, so an upload issued meanwhile waits instead of failing BUSY);
// status, heartbeat, errors and abort go straight through. This class is the façade: it wires the
// link's Channel to its collaborators, each owning its own state — Liveness (heartbeats, per
// link), SessionRecord (what the device holds, replayed by reconnect/restore), requestRun (a Run
// carried through lost replies and requests) and fetchResults. Over ~400 lines because it is the
// whole public API (≈30 documented members); the logic behind them lives in those modules.
import { EventEmitter } from 'node:events';
import type { Logger } from 'pino';
import type { Capabilities, Dtype, EventMessage, OpName, ReplyBody, RequestBody } from '../protocol/index.ts';
import { Channel } from './channel.ts';
import type { RequestOptions } from './channel.ts';
import { chooseDtype } from './convert.ts';
import type { NumericArray } from './convert.ts';
import { CapabilityError, DisconnectedError, ProtocolMismatchError } from './errors.ts';
import type { SpuDriverEvents } from './events.ts';
import { handshake } from './handshake.ts';
import { Liveness, UptimeWatch } from './liveness.ts';
import { MetricsRecorder } from './metrics.ts';
import type { DriverMetrics } from './metrics.ts';
import { resolveDriverOptions } from './options.ts';
import type { DriverOptions, ResolvedDriverOptions } from './options.ts';
import { prepareConfigure, prepareRun, honoursRunIndex } from './requests.ts';
import { fetchResults, sampleBlockOf } from './results.ts';
import { RunHandle, SampleQueue, deferred } from './run-handle.ts';
import { requestRun } from './run-recovery.ts';
import type { RunIdTracker } from './run-recovery.ts';
import { SessionRecord } from './session-record.ts';
import type { ByteLink } from './transports/open-link.ts';
import type { ConfigureOptions, CurvatureInput, DeviceInfo, DeviceStatus, ErrorEntry, RunOptions, RunResult, SampleBlock, UploadOptions, UploadReport } from './types.ts';
import { prepareCurvature, prepareVector, retainedCopy, sendUpload } from './uploads.ts';
import { prepareLayered } from './layered.ts';
import type { PreparedUpload } from './uploads.ts';

export type { DriverOptions } from './options.ts';

/** Opens (or re-opens) the byte link; the driver calls it again on reconnect(). */
export type LinkOpener = () => Promise<ByteLink>;

export interface ReconnectOptions {
  /** Re-send the last configuration, curvature, gradient and state. Default true. */
  restore?: boolean;
}

/**
 * The host driver. Events (SpuDriverEvents): 'disconnected' when the link goes down, 'reboot'
 * when a heartbeat shows the device rebooted, 'reconnected' after reconnect().
 */
export class SpuDriver extends EventEmitter<SpuDriverEvents> {
  private readonly opener: LinkOpener;
  private readonly opts: ResolvedDriverOptions;
  private log: Logger;
  private readonly metricsRec = new MetricsRecorder();
  private ch!: Channel;
  private liveness: Liveness | null = null;
  private readonly uptime = new UptimeWatch();
  private deviceInfo!: DeviceInfo;
  private readonly record = new SessionRecord();
  private readonly runIds: RunIdTracker = { lastRunId: 0 };
  private chain: Promise<unknown> = Promise.resolve();
  private closing: Promise<void> | null = null;
  private closeRequested = false;

  private constructor(opener: LinkOpener, opts: DriverOptions) {
    super();
    this.opener = opener;
    this.opts = resolveDriverOptions(opts);
    this.log = this.opts.logger;
  }

  /** Opens the link, performs the handshake and starts heartbeats. */
  static async open(opener: LinkOpener, opts: DriverOptions = {}): Promise<SpuDriver> {
    const d = new SpuDriver(opener, opts);
    await d.attach();
    return d;
  }

  // ---- session ---------------------------------------------------------------------------------

  private async attach(): Promise<void> {
    const o = this.opts;
    const link = await this.opener();
    this.log = o.logger.child({ link: link.label });
    const ch = new Channel(link, { logger: this.log, metrics: this.metricsRec, maxFrameBytes: o.hostMaxFrameBytes, timeoutMs: o.timeoutMs, retries: o.retries });
    this.ch = ch;
    ch.onDown((e) => {
      if (ch !== this.ch) return;
      this.liveness?.stop();
      if (!this.closeRequested) this.emit('disconnected', e);
    });
    try {
      await this.greet();
    } catch (e) {
      ch.goDown(new DisconnectedError('closed-by-host', 'handshake failed'));
      await closeLink(link);
      throw e;
    }
    this.runIds.lastRunId = (await ch.request('Status', {}, { timeoutMs: o.handshakeTimeoutMs }).catch(() => ({ runId: 0 }))).runId;
    this.liveness = null;
    if (o.heartbeatIntervalMs > 0) {
      this.liveness = new Liveness(ch, () => this.heartbeat(), {
        everyMs: o.heartbeatIntervalMs,
        maxMisses: o.heartbeatMisses,
        log: this.log,
        onLost: (misses) => {
          ch.goDown(new DisconnectedError('heartbeat-lost', `no heartbeat reply ${misses} times in a row: device considered gone (${link.label})`));
          void closeLink(link);
        },
      });
      this.liveness.start();
    }
  }

  /** Handshake on the current channel; a new session is a new uptime baseline. */
  private async greet(): Promise<void> {
    this.deviceInfo = await handshake(this.ch, this.opts, this.log);
    this.uptime.reset();
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
    return honoursRunIndex(this.deviceInfo);
  }

  get capabilities(): Capabilities {
    return this.deviceInfo.capabilities;
  }

  /** Bulk bytes the driver keeps in flight on this link (see DriverOptions.maxInFlightBytes). */
  get maxInFlightBytes(): number {
    return this.opts.maxInFlightBytes;
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

  // ---- liveness and diagnostics ----------------------------------------------------------------

  /** Round trip with a nonce; detects a device that rebooted behind the host's back ('reboot' event). */
  async heartbeat(opts: { timeoutMs?: number } = {}): Promise<ReplyBody<'Heartbeat'> & { rttMs: number }> {
    this.ensureOpen();
    const nonce = (Math.random() * 0x100000000) >>> 0;
    const t0 = performance.now();
    const r = await this.ch.request('Heartbeat', { nonce }, { retries: 0, ...(opts.timeoutMs ? { timeoutMs: opts.timeoutMs } : {}) });
    if (r.nonce !== nonce) throw new ProtocolMismatchError(`Heartbeat: nonce ${r.nonce} echoed for ${nonce}`);
    if (this.uptime.observe(r.uptimeMs)) {
      this.log.warn({ uptimeMs: r.uptimeMs }, 'device uptime went backwards: it rebooted and lost its state');
      this.emit('reboot', r);
    }
    return { ...r, rttMs: performance.now() - t0 };
  }

  async status(opts: { timeoutMs?: number } = {}): Promise<DeviceStatus> {
    this.ensureOpen();
    const s = await this.ch.request('Status', {}, opts.timeoutMs ? { timeoutMs: opts.timeoutMs } : {});
    if (s.state !== 'RUNNING') this.runIds.lastRunId = s.runId;
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
    const { req, recorded } = prepareConfigure(o, this.deviceInfo);
    return this.exclusive(async () => {
      const r = await this.ch.request('Configure', req);
      if (req.runIndex !== undefined && r.runIndex !== req.runIndex)
        throw new ProtocolMismatchError(`Configure: asked for run index ${req.runIndex}, the device reports ${String(r.runIndex)}`);
      this.record.configured(recorded, r.runIndex);
      return r;
    });
  }

  private dtypeFor(opts: UploadOptions): Dtype {
    return chooseDtype(this.capabilities, opts.dtype ?? this.opts.dtype);
  }

  private send<K extends 'Curvature' | 'Gradient' | 'StateSet'>(up: PreparedUpload<K>, opts: UploadOptions, maxBulk?: number) {
    return sendUpload(this.ch, up, {
      deviceMaxFrameBytes: this.capabilities.maxFrameBytes,
      ...(maxBulk !== undefined ? { maxBulk } : {}),
      maxInFlightBytes: this.maxInFlightBytes,
      log: this.log,
      ...(opts.inline !== undefined ? { inline: opts.inline } : {}),
    });
  }

  /**
   * Loads A (factored: scale·JᵀHJ + λI, or dense + λI). Converted to the device's dtype; sent
   * inline or by bulk transfer; atomic on the device: if anything fails, the previous A stays.
   * Layered (J per layer): sent as factors to a device with 'layered-curvature', else (or when
   * more factor tensors need bulk transfers than the device stages at once) as the explicit J.
   */
  async uploadCurvature(c: CurvatureInput, opts: UploadOptions = {}): Promise<UploadReport> {
    this.ensureOpen();
    const dtype = this.dtypeFor(opts);
    // layered: as such when the device has the form (else prepareCurvature expands it to J)
    const layered = c?.form === 'layered' && this.capabilities.features.includes('layered-curvature');
    let up = layered ? prepareLayered(c, this.capabilities, dtype) : prepareCurvature(c, this.capabilities, dtype);
    return this.exclusive(async () => {
      let sent;
      try {
        sent = await this.send(up, opts, layered ? this.capabilities.maxOpenTransfers : undefined);
      } catch (e) {
        // more factor tensors too large for a frame than the device can stage: send the explicit J
        if (!(layered && e instanceof CapabilityError && e.capability === 'maxOpenTransfers')) throw e;
        this.log.warn({ reason: e.message }, 'layered curvature: sending the explicit J instead');
        up = prepareCurvature(c, this.capabilities, dtype);
        sent = await this.send(up, opts);
      }
      const { reply, report } = sent;
      const r = reply as ReplyBody<'Curvature'>;
      if (r.n !== up.n) throw new ProtocolMismatchError(`Curvature: device loaded N = ${r.n}, host sent ${up.n}`);
      this.record.curvatureLoaded(opts.transfer ? up : retainedCopy(up), opts);
      return { ...report, curvatureId: r.curvatureId, r: r.r };
    });
  }

  async uploadGradient(g: NumericArray, opts: UploadOptions = {}): Promise<UploadReport> {
    this.ensureOpen();
    const up = prepareVector('Gradient', g, g?.length, this.capabilities, this.dtypeFor(opts));
    return this.exclusive(async () => {
      const { report } = await this.send(up, opts);
      this.record.gradientLoaded(g, opts);
      return report;
    });
  }

  /** Sets the state x (the next run with start 'carry' starts from it). */
  async setState(x: NumericArray, opts: UploadOptions = {}): Promise<UploadReport> {
    this.ensureOpen();
    const up = prepareVector('StateSet', x, x?.length, this.capabilities, this.dtypeFor(opts));
    return this.exclusive(async () => {
      const { report } = await this.send(up, opts);
      this.record.stateSet(x);
      return report;
    });
  }

  async resetState(): Promise<void> {
    this.ensureOpen();
    return this.exclusive(async () => {
      await this.ch.request('StateReset', {});
      this.record.stateReset();
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
    const { body, timeoutMs, maxRunMs } = prepareRun(o, this.capabilities, this.opts);
    const queue = o.streamSamples ? new SampleQueue() : null;

    const ended = deferred<ReplyBody<'Run'>>();
    const result = this.exclusive(async () => {
      const onEvent = (ev: EventMessage): void => {
        if (ev.kind === 'SampleBlockEvent' && queue) queue.push(sampleBlockOf(ev.body));
      };
      const ctx = { ch: this.ch, log: this.log, metrics: this.metricsRec, runIds: this.runIds, retries: this.opts.retries, counted: this.record.runIndex !== undefined };
      let reply: ReplyBody<'Run'>;
      try {
        reply = await requestRun(ctx, body, { timeoutMs, maxRunMs, onEvent });
      } catch (e) {
        queue?.end(e);
        ended.reject(e);
        throw e;
      }
      queue?.end();
      ended.resolve(reply);
      const out: RunResult = o.fetchResults === false ? { ...reply, n: this.record.n, saturationCount: 0, clipCount: 0 } : await this.readResults();
      if (reply.runIndex !== undefined) {
        // the run reached the host: now it counts (with its final state, recorded by readResults)
        out.runIndex = reply.runIndex;
        this.record.runCounted(reply.runIndex);
      }
      return out;
    });
    return new RunHandle({ ended: ended.promise, result, samples: queue, abort: () => this.abort() });
  }

  /** Stops the current run (if any). Bypasses the queue of state-changing operations. */
  async abort(): Promise<ReplyBody<'Abort'>> {
    this.ensureOpen();
    return this.ch.request('Abort', {});
  }

  /** Results of the last run, reading vectors in several frames when they are large. */
  async results(): Promise<RunResult> {
    this.ensureOpen();
    return this.exclusive(() => this.readResults());
  }

  private async readResults(): Promise<RunResult> {
    const out = await fetchResults(this.ch, { readout: this.record.readout, n: this.record.n, hostMaxFrameBytes: this.opts.hostMaxFrameBytes });
    this.runIds.lastRunId = out.runId;
    if (out.final) this.record.finalState(out.final);
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
    this.record.clear();
  }

  /**
   * Re-opens the link (closing the old one), handshakes again and, with restore (default),
   * re-sends the last committed configuration, curvature, gradient and state — on an emulator
   * with the run counter of `runIndex`. Emits 'reconnected'.
   */
  async reconnect(opts: ReconnectOptions = {}): Promise<DeviceInfo> {
    this.ensureOpen();
    this.liveness?.stop();
    const old = this.ch;
    old.goDown(new DisconnectedError('closed-by-host', 'reconnecting'));
    await closeLink(old.link);
    return this.exclusive(async () => {
      await this.attach();
      this.metricsRec.reconnects++;
      if (opts.restore ?? true) await this.replayRecord();
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
      await this.greet();
      await this.replayRecord();
    });
  }

  private async replayRecord(): Promise<void> {
    this.log.info(this.record.summary(), 'restoring device state');
    await this.record.replay({
      canSetRunIndex: this.canSetRunIndex,
      configure: (req) => this.ch.request('Configure', req),
      sendCurvature: (prepared, opts) => this.send(prepared, opts),
      sendVector: (op, v, opts) => this.send(prepareVector(op, v, v.length, this.capabilities, this.dtypeFor(opts)), opts),
      stateReset: () => this.ch.request('StateReset', {}),
    });
  }

  /** Closes the link; pending requests fail with DisconnectedError. Idempotent; always settles. */
  close(): Promise<void> {
    if (this.closing) return this.closing;
    // Set before the goDown below, which runs synchronously: the host's own close is no lost link.
    this.closeRequested = true;
    this.closing = (async () => {
      this.liveness?.stop();
      const ch = this.ch;
      if (!ch) return;
      ch.goDown(new DisconnectedError('closed-by-host', 'the driver was closed'));
      await closeLink(ch.link);
      this.log.debug(this.metricsRec.snapshot(), 'closed');
    })();
    return this.closing;
  }
}

async function closeLink(link: ByteLink): Promise<void> {
  // close() always settles per the ByteLink contract; the cap guards a misbehaving custom link.
  let timer: NodeJS.Timeout | undefined;
  const cap = new Promise<void>((r) => (timer = setTimeout(r, 3000)));
  // The cap's timer is cleared once close settles: left running it kept a CLI alive for 3 s.
  await Promise.race([link.close().catch(() => {}), cap]);
  clearTimeout(timer);
}
