// Request/reply engine over one byte link: frames out, frames in, request ids, per-request
// timeouts, retries of idempotent requests (a fresh id per attempt, so a late reply to an earlier
// attempt is recognised, counted and dropped), device-initiated events routed to the request they
// belong to, and a typed DisconnectedError for everything pending when the link goes down.
// On an in-process link with a message port (ByteLink.messages) requests and replies travel as
// validated messages instead of frames: the same ids, timeouts, retries and routing apply.
import { randomInt } from 'node:crypto';
import type { Logger } from 'pino';
import { FLAG_REPLY, FrameDecoder, MAX_MAX_FRAME_BYTES, checkMessage, cobsMaxEncodedLength, crc32c, encodeBulkChunkFrame, encodeFrame, opNameOfType } from '../protocol/index.ts';
import type { DecodedFrame, EventMessage, FrameFault, LinkMessage, Message, OpName, ReplyBody, RequestBody, RequestMessage } from '../protocol/index.ts';
import { ArgumentError, DeviceError, DisconnectedError, ProtocolMismatchError, TimeoutError } from './errors.ts';
import type { MetricsRecorder } from './metrics.ts';
import { LinkEstimate } from './link-estimate.ts';
import type { ByteLink } from './transports/open-link.ts';

/**
 * Requests the driver re-sends after a timeout. PROTOCOL.md §6 lists the ones that are safe by
 * construction (Hello, Status, Heartbeat, ErrorsRead, Results, ResultsRead, SamplesRead,
 * BulkChunk, BulkAbort). The driver adds the "set" requests — Configure, Curvature, Gradient,
 * StateSet, StateReset — because it re-sends them byte-identical and holds every other
 * state-changing request back until they are answered, so a duplicate only sets the same value
 * twice (a Curvature naming a bulk transfer that the first attempt already consumed fails with
 * NO_SUCH_TRANSFER, and the upload is then redone as a whole). Abort twice is harmless.
 * Never retried: Run, BulkBegin (except by the bulk uploader, which aborts orphans), BulkCommit,
 * ErrorsClear, DeviceReset.
 */
export const IDEMPOTENT_OPS: ReadonlySet<OpName> = new Set<OpName>([
  'Hello',
  'Status',
  'Heartbeat',
  'ErrorsRead',
  'Results',
  'ResultsRead',
  'SamplesRead',
  'BulkChunk',
  'BulkAbort',
  'Configure',
  'Curvature',
  'Gradient',
  'StateSet',
  'StateReset',
  'Abort',
]);

export interface RequestOptions {
  timeoutMs?: number;
  /** Extra attempts after a timeout; only used for idempotent requests. */
  retries?: number;
  /** Overrides the IDEMPOTENT_OPS classification. */
  idempotent?: boolean;
  /** Device-initiated messages carrying this request's id (e.g. SampleBlock during a Run). */
  onEvent?: (ev: EventMessage) => void;
  /** Called with the request id of each attempt, before it is sent. */
  onAttempt?: (requestId: number) => void;
  /**
   * Asked when the timeout expires: resolve true to wait another timeoutMs (e.g. the device
   * reports it is still running), false to give up.
   */
  extend?: () => Promise<boolean>;
  /**
   * BulkChunk only: the CRC-32C of `body.data`, when the caller has it (bulkUpload takes every
   * chunk's in the pass that gives the whole tensor's); a byte link then frames the chunk without
   * reading its data for the frame CRC. `data` must not change until the request settles.
   */
  dataCrc32c?: number;
}

export interface ChannelOptions {
  logger: Logger;
  metrics: MetricsRecorder;
  /** Largest encoded frame this host accepts (advertised in Hello). */
  maxFrameBytes: number;
  timeoutMs: number;
  retries: number;
}

interface Pending {
  op: OpName | 'raw';
  sentAt: number;
  timer: NodeJS.Timeout;
  timeoutMs: number;
  extend?: () => Promise<boolean>;
  resolve: (f: DecodedFrame) => void;
  reject: (e: Error) => void;
  onEvent?: (ev: EventMessage) => void;
}

/** Internal marker: one attempt timed out (the caller decides whether to retry). */
class AttemptTimeout extends Error {}
/** Internal marker: the reply passed its CRC but did not decode (a retry may get a good one). */
class AttemptGarbled extends Error {}

const RETIRED_MAX = 4096;
/** Room for the largest frame (COBS overhead, a leading and the final delimiter). */
const FRAME_SLOT_BYTES = cobsMaxEncodedLength(MAX_MAX_FRAME_BYTES) + 2;
const FRAME_POOL_MAX = 32;

/** `${op}Request` / `${op}Reply`, built once per operation rather than per request. */
const kindNames = new Map<string, { request: RequestMessage['kind']; reply: string }>();
function kindsOf(op: OpName): { request: RequestMessage['kind']; reply: string } {
  let k = kindNames.get(op);
  if (!k) kindNames.set(op, (k = { request: `${op}Request` as RequestMessage['kind'], reply: `${op}Reply` }));
  return k;
}

export class Channel {
  readonly link: ByteLink;
  private readonly log: Logger;
  private readonly metrics: MetricsRecorder;
  private readonly decoder: FrameDecoder;
  private readonly pending = new Map<number, Pending>();
  /** ids of attempts that timed out or were abandoned: their replies are "late" */
  private readonly retired = new Set<number>();
  private nextId: number;
  private corked = false;
  /**
   * Output buffers of BulkChunk frames on a socket, reused once the socket has written them:
   * a fresh 64 KiB buffer per chunk cost page faults and external-memory GCs (framing ran at
   * ~0.2–1.3 GB/s fresh, 1.2–1.9 GB/s pooled).
   */
  private readonly framePool: Buffer[] = [];
  /**
   * A TCP socket or serial port: its write callback means the bytes left (pooled frame buffers
   * may be reused then) and corking merges writes. Not for in-process byte links, whose wrappers
   * (fault injection) may hold written chunks.
   */
  private readonly ownsWrites: boolean;
  private downError: DisconnectedError | null = null;
  private readonly downListeners = new Set<(e: DisconnectedError) => void>();
  private readonly frameTaps = new Set<(f: DecodedFrame) => void>();
  /** round trip and bulk rate measured on this link (sizes the bulk window) */
  readonly estimate = new LinkEstimate();
  /** time of the last byte received (liveness) */
  lastRxAt = performance.now();
  timeoutMs: number;
  retries: number;

  constructor(link: ByteLink, opts: ChannelOptions) {
    this.link = link;
    this.ownsWrites = link.kind === 'tcp' || link.kind === 'serial';
    this.log = opts.logger;
    this.metrics = opts.metrics;
    this.timeoutMs = opts.timeoutMs;
    this.retries = opts.retries;
    // A random first id makes a reply left over from an earlier session very unlikely to match.
    this.nextId = randomInt(1, 0x7fffffff);
    this.decoder = new FrameDecoder({ maxFrameBytes: opts.maxFrameBytes, onFault: (f) => this.onFault(f) });
    link.stream.on('data', (chunk: Buffer) => this.onBytes(chunk));
    link.messages?.attach({
      message: (m) => this.onLinkMessage(m),
      lost: (kind) => {
        this.metrics.badFrame(kind);
        this.log.debug({ fault: kind }, 'message from device lost');
      },
    });
    // Write errors also surface through `closed`; a listener keeps them from crashing the process.
    link.stream.on('error', (e: Error) => this.log.debug({ err: e.message }, 'link stream error'));
    void link.closed.then((c) => {
      const why = c.disconnected ? 'the link went down' : 'the link was closed';
      this.goDown(new DisconnectedError(c.disconnected ? 'link-closed' : 'closed-by-host', `${why} (${link.label})${c.error ? `: ${c.error.message}` : ''}`, { cause: c.error }));
    });
  }

  get isDown(): boolean {
    return this.downError !== null;
  }

  get pendingCount(): number {
    return this.pending.size;
  }

  /** Decoder counters of this link (host side). */
  get decoderCounters(): Readonly<FrameDecoder['counters']> {
    return this.decoder.counters;
  }

  allocId(): number {
    const id = this.nextId;
    this.nextId = this.nextId >= 0xffffffff ? 1 : this.nextId + 1;
    return id;
  }

  onDown(fn: (e: DisconnectedError) => void): () => void {
    this.downListeners.add(fn);
    return () => this.downListeners.delete(fn);
  }

  /** Observes every good frame received (conformance checks, diagnostics). */
  tap(fn: (f: DecodedFrame) => void): () => void {
    this.frameTaps.add(fn);
    return () => this.frameTaps.delete(fn);
  }

  /** Fails everything pending and refuses new requests. Idempotent. */
  goDown(err: DisconnectedError): void {
    if (this.downError) return;
    this.downError = err;
    this.log.info({ reason: err.reason }, err.message);
    for (const [id, p] of this.pending) {
      clearTimeout(p.timer);
      this.pending.delete(id);
      p.reject(err);
    }
    for (const fn of this.downListeners) fn(err);
  }

  /** Sends a typed request and resolves with its validated reply body. */
  async request<K extends OpName>(op: K, body: RequestBody<K>, opts: RequestOptions = {}): Promise<ReplyBody<K>> {
    const idempotent = opts.idempotent ?? IDEMPOTENT_OPS.has(op);
    const attempts = 1 + (idempotent ? Math.max(0, opts.retries ?? this.retries) : 0);
    const timeoutMs = opts.timeoutMs ?? this.timeoutMs;
    const msg = { kind: kindsOf(op).request, body } as RequestMessage;
    for (let attempt = 1; ; attempt++) {
      const id = this.allocId();
      let out: Buffer | LinkMessage;
      let release: (() => void) | undefined;
      try {
        if (this.link.messages) out = checkMessage(msg, id);
        // the hot path of an upload: framed straight from the caller's tensor (same bytes as encodeFrame)
        else if (msg.kind === 'BulkChunkRequest') {
          const slot = this.ownsWrites ? (this.framePool.pop() ?? Buffer.allocUnsafeSlow(FRAME_SLOT_BYTES)) : undefined;
          out = encodeBulkChunkFrame(msg.body, id, slot, opts.dataCrc32c);
          if (slot) release = () => void (this.framePool.length < FRAME_POOL_MAX && this.framePool.push(slot));
        } else out = encodeFrame(msg, id);
      } catch (e) {
        throw new ArgumentError(`${op}: request does not match the protocol schema: ${(e as Error).message}`, { cause: e });
      }
      opts.onAttempt?.(id);
      try {
        const reply = await this.exchange(op, id, out, timeoutMs, opts.onEvent, opts.extend, release);
        return this.interpret(op, reply);
      } catch (e) {
        const retriable = e instanceof AttemptTimeout || e instanceof AttemptGarbled;
        // a chunk framed with a CRC its data no longer has is dropped by the device as damaged:
        // say so instead of resending it until the retries run out
        if (retriable && opts.dataCrc32c !== undefined && msg.kind === 'BulkChunkRequest' && crc32c(msg.body.data) !== opts.dataCrc32c)
          throw new ArgumentError(`${op}: the tensor changed while it was being uploaded (chunk at offset ${msg.body.offset})`);
        if (retriable && attempt < attempts && !this.downError) {
          this.metrics.retries++;
          this.log.debug({ op, id, attempt }, e instanceof AttemptTimeout ? 'timeout, retrying' : 'garbled reply, retrying');
          continue;
        }
        if (e instanceof AttemptTimeout) {
          this.metrics.timeouts++;
          throw new TimeoutError(op, timeoutMs, attempt);
        }
        if (e instanceof AttemptGarbled) throw new ProtocolMismatchError(`${op}: the device's reply did not decode: ${e.message}`);
        throw e;
      }
    }
  }

  /**
   * Writes raw bytes and waits for the frame (reply, error) that carries `requestId`. For
   * conformance checks that send malformed or hand-built frames.
   */
  async rawExchange(bytes: Uint8Array, requestId: number, timeoutMs = this.timeoutMs): Promise<DecodedFrame> {
    try {
      return await this.exchange('raw', requestId, Buffer.from(bytes), timeoutMs);
    } catch (e) {
      if (e instanceof AttemptTimeout) throw new TimeoutError('raw frame', timeoutMs, 1);
      if (e instanceof AttemptGarbled) throw new ProtocolMismatchError(`raw frame: reply did not decode: ${e.message}`);
      throw e;
    }
  }

  /** Writes raw bytes without expecting anything back (garbage, frames the device must drop). */
  writeRaw(bytes: Uint8Array): void {
    if (this.downError) throw this.downError;
    this.write(Buffer.from(bytes));
  }

  /** `release` runs once the stream is done with `out` (written, or dropped by a destroyed stream). */
  private write(out: Buffer | LinkMessage, release?: () => void): void {
    this.metrics.framesOut++;
    if (out instanceof Uint8Array) {
      this.metrics.bytesOut += out.length;
      const s = this.link.stream;
      // On a socket or port, the frames sent in one turn (a window of BulkChunks) leave in one write.
      if (!this.corked && this.ownsWrites) {
        this.corked = true;
        s.cork();
        setImmediate(() => {
          this.corked = false;
          s.uncork();
        });
      }
      if (release) s.write(out, release);
      else s.write(out);
    } else this.link.messages!.send(out);
  }

  private exchange(
    op: OpName | 'raw',
    id: number,
    out: Buffer | LinkMessage,
    timeoutMs: number,
    onEvent?: (ev: EventMessage) => void,
    extend?: () => Promise<boolean>,
    release?: () => void,
  ): Promise<DecodedFrame> {
    if (this.downError) {
      release?.();
      return Promise.reject(this.downError);
    }
    return new Promise<DecodedFrame>((resolve, reject) => {
      // one shared timer callback (the id rides along): nothing allocated per request for it
      const timer = setTimeout(this.onTimer, timeoutMs, id);
      const p: Pending = { op, sentAt: performance.now(), timer, timeoutMs, resolve, reject };
      if (onEvent) p.onEvent = onEvent;
      if (extend) p.extend = extend;
      this.pending.set(id, p);
      if (this.log.isLevelEnabled('trace')) this.log.trace({ dir: 'tx', op, id, ...(out instanceof Uint8Array ? { bytes: out.length } : {}) }, 'frame');
      this.write(out, release);
    });
  }

  /** A request's timer ran out: ask its extend() whether to wait another timeout, else give up. */
  private readonly onTimer = (id: number): void => {
    const p = this.pending.get(id);
    if (!p) return;
    if (!p.extend) return this.giveUp(id);
    p.extend().then(
      (more) => {
        const q = this.pending.get(id);
        if (!q) return;
        if (more) q.timer = setTimeout(this.onTimer, q.timeoutMs, id);
        else this.giveUp(id);
      },
      () => this.giveUp(id),
    );
  };

  private giveUp(id: number): void {
    const p = this.pending.get(id);
    if (!p) return;
    this.pending.delete(id);
    this.retire(id);
    p.reject(new AttemptTimeout());
  }

  private retire(id: number): void {
    this.retired.add(id);
    if (this.retired.size > RETIRED_MAX) {
      const first = this.retired.values().next().value as number;
      this.retired.delete(first);
    }
  }

  /** Abandons a pending request without failing the caller's other requests (its reply will be late). */
  abandon(id: number, err: Error): void {
    const p = this.pending.get(id);
    if (!p) return;
    clearTimeout(p.timer);
    this.pending.delete(id);
    this.retire(id);
    p.reject(err);
  }

  private interpret<K extends OpName>(op: K, f: DecodedFrame): ReplyBody<K> {
    const m = f.message;
    if (m.kind === 'Error') {
      this.metrics.deviceErrors++;
      throw new DeviceError(op, m.body.code, m.body.message, m.body.detail);
    }
    if (m.kind !== kindsOf(op).reply) throw new ProtocolMismatchError(`${op}: the device answered with ${m.kind}`);
    return m.body as ReplyBody<K>;
  }

  private onBytes(chunk: Buffer): void {
    this.lastRxAt = performance.now();
    this.metrics.bytesIn += chunk.length;
    const before = this.decoder.counters.bytesDiscarded;
    const frames = this.decoder.push(chunk);
    this.metrics.bytesDiscarded += this.decoder.counters.bytesDiscarded - before;
    for (const f of frames) this.onFrame(f);
  }

  /** A message from the device on a message port: what the decoder would have yielded. */
  private onLinkMessage(m: LinkMessage): void {
    this.lastRxAt = performance.now();
    this.onFrame({ header: m.header, message: m.message, encodedBytes: 0 });
  }

  private onFrame(f: DecodedFrame): void {
    this.metrics.framesIn++;
    const { requestId } = f.header;
    const m: Message = f.message;
    if (this.log.isLevelEnabled('trace')) this.log.trace({ dir: 'rx', kind: m.kind, id: requestId, bytes: f.encodedBytes + 1 }, 'frame');
    for (const t of this.frameTaps) t(f);
    const p = this.pending.get(requestId);
    if (m.kind.endsWith('Event')) {
      if (p?.onEvent) p.onEvent(m as EventMessage);
      else this.metrics.unexpectedFrames++;
      return;
    }
    if (m.kind.endsWith('Request')) {
      // A device never sends requests; an echoing link (loopback plug) does.
      this.metrics.unexpectedFrames++;
      return;
    }
    if (!p) {
      if (this.retired.has(requestId)) {
        this.metrics.lateReplies++;
        this.log.debug({ id: requestId, kind: m.kind }, 'late reply dropped');
      } else {
        this.metrics.unexpectedFrames++;
        this.log.debug({ id: requestId, kind: m.kind }, 'reply to no request of this session dropped');
      }
      return;
    }
    clearTimeout(p.timer);
    this.pending.delete(requestId);
    this.metrics.latency(p.op, performance.now() - p.sentAt);
    p.resolve(f);
  }

  private onFault(f: FrameFault): void {
    this.metrics.badFrame(f.kind);
    this.log.debug({ fault: f.kind, bytes: f.bytes, err: f.error.message }, 'bad frame from device');
    // A frame that passed its CRC but failed to decode, addressed to a pending request: let the
    // caller retry now instead of waiting for the timeout.
    const h = f.header;
    if (!h || !(h.flags & FLAG_REPLY)) return;
    const p = this.pending.get(h.requestId);
    if (!p || p.op === 'raw') return;
    clearTimeout(p.timer);
    this.pending.delete(h.requestId);
    this.retire(h.requestId);
    p.reject(new AttemptGarbled(f.error.message));
  }
}

/** Name of the operation a frame's type number belongs to (for messages and logs). */
export function opOfFrame(f: DecodedFrame): string {
  return opNameOfType(f.header.type) ?? `type 0x${f.header.type.toString(16)}`;
}

/** True when `e` came from the device rather than from the link or the host. */
export function isDeviceError(e: unknown, code?: number): e is DeviceError {
  return e instanceof DeviceError && (code === undefined || e.code === code);
}
