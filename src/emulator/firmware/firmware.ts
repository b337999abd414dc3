// The emulated firmware: protocol v1 served with the production FrameDecoder and codec, the
// shared state table and the bit-exact SpuCore. Transport-agnostic: bytes come in through
// receive(), validated messages through receiveMessage() (the in-process message link); both
// reach the same dispatch. Replies leave through the outbox (`io.send` frames or `io.deliver`
// messages). The handlers live in ./handlers/ by concern, around one FirmwareState.
// Normative behaviour: firmware-spec/PROTOCOL.md; what this device advertises: EMULATED-DEVICE.md.
import {
  ErrorCode,
  FLAG_ERROR,
  FLAG_EVENT,
  FLAG_REPLY,
  FrameDecoder,
  FramingError,
  ProtocolViolationError,
  StateError,
  encodeFrame,
  encodedFrameExceeds,
  legality,
  opNameOfType,
} from '../../protocol/index.ts';
import type { FrameFault, FrameHeader, LinkMessage, Message, OpName } from '../../protocol/index.ts';
import { FirmwareState } from './firmware-state.ts';
import type { FirmwareIo } from './firmware-state.ts';
import { HANDLERS, enterFault } from './handlers/index.ts';
import type { Handler } from './handlers/index.ts';
import type { ResolvedOptions } from './options.ts';
import { Outbox } from './outbox.ts';

export type { FirmwareIo } from './firmware-state.ts';

export class Firmware {
  readonly decoder: FrameDecoder;
  private readonly dev: FirmwareState;

  constructor(opts: ResolvedOptions, io: FirmwareIo) {
    const dev = new FirmwareState(opts, io);
    dev.out = new Outbox(dev);
    this.decoder = new FrameDecoder({ maxFrameBytes: opts.maxFrameBytes, onFault: (f) => this.onFault(f) });
    dev.decoder = this.decoder;
    this.dev = dev;
  }

  // ————————————————————————————————————————— link side

  receive(chunk: Uint8Array): void {
    const dev = this.dev;
    if (dev.dead) return;
    const link = dev.linkGen;
    for (const f of this.decoder.push(chunk)) {
      // a link lost mid-chunk takes the rest of the chunk with it
      if (dev.dead || dev.linkGen !== link) return;
      this.onMessage(f.header, f.message);
    }
  }

  /**
   * A message from the in-process message link: validated by the host (checkMessage), so no
   * decoding; counted and size-checked as the decoder would count and check its frame.
   */
  receiveMessage(m: LinkMessage): void {
    const dev = this.dev;
    if (dev.dead) return;
    const c = this.decoder.counters;
    if (encodedFrameExceeds(m, this.decoder.maxFrameBytes)) {
      const bytes = encodeFrame(m.message, m.header.requestId).length - 1;
      c.oversize++;
      c.bytesDiscarded += bytes;
      this.onFault({ kind: 'oversize', error: new FramingError(ErrorCode.FRAME_TOO_LARGE, `frame exceeds ${this.decoder.maxFrameBytes} encoded bytes`), bytes });
      return;
    }
    c.framesOk++;
    this.onMessage(m.header, m.message);
  }

  /** Power-off: a run stops, nothing more is sent, input is ignored. */
  shutdown(): void {
    this.dev.dead = true;
    this.dev.run = null;
  }

  /** A detected hardware fault: the device enters FAULT; a run in progress ends with HARDWARE_FAULT. */
  enterFault(reason: string): void {
    enterFault(this.dev, reason);
  }

  /** The host side of the link went away: uploads in progress are interrupted (committed ones stay). */
  linkLost(): void {
    const dev = this.dev;
    dev.linkGen++;
    dev.leadingDelimiter = true;
    this.decoder.reset();
    const n = dev.staging.dropOpen();
    if (n > 0) dev.log.info({ dropped: n }, 'link lost: discarded open transfers');
  }

  /** Snapshot for tests and diagnostics (not a protocol message). */
  inspect() {
    const dev = this.dev;
    const c = dev.committed.curvature;
    return {
      state: dev.state,
      n: c?.n ?? 0,
      r: c?.r ?? 0,
      notPositiveDefinite: dev.committed.notPd,
      gradientN: dev.committed.gradient?.length ?? 0,
      curvatureId: dev.curvatureId,
      transfers: dev.staging.count,
      openTransfers: dev.staging.openCount,
      memoryUsed: dev.memoryUsed(),
      memoryBudget: dev.opts.memoryBytes,
      errorQueueLength: dev.errors.length,
      running: dev.run !== null,
      runIndex: dev.core.runIndex,
      seed: dev.seed,
      profile: dev.profile,
      hostMaxFrameBytes: dev.hostMaxFrame,
      decoderBuffered: this.decoder.buffered,
    };
  }

  // ————————————————————————————————————————— requests in

  private onFault(f: FrameFault): void {
    const e = f.error;
    const h = f.header;
    this.dev.log.debug({ fault: f.kind, code: e.code, bytes: f.bytes, requestId: h?.requestId }, 'frame fault');
    // Faults without a trusted header (CRC, COBS, oversize, short) are queued but not answered.
    if (!h) this.dev.queueError(e, 0, 0);
    else this.dev.fail(h, e);
  }

  private onMessage(header: FrameHeader, message: Message): void {
    const dev = this.dev;
    dev.log.trace({ dir: 'rx', kind: message.kind, requestId: header.requestId }, 'frame');
    if (header.flags & (FLAG_REPLY | FLAG_ERROR | FLAG_EVENT) || !message.kind.endsWith('Request')) {
      dev.fail(header, new ProtocolViolationError(ErrorCode.BAD_FLAGS, `the device accepts requests only, got ${message.kind}`));
      return;
    }
    const op = opNameOfType(header.type) as OpName;
    if (dev.io.admit && !dev.io.admit(op, header.requestId)) return;
    try {
      const verdict = legality(dev.state, op);
      if (verdict !== null) throw new StateError(verdict, `${op} is not allowed in state ${dev.state}`, { state: dev.state });
      (HANDLERS[op] as Handler<OpName>)(dev, message.body as never, header.requestId);
    } catch (e) {
      dev.fail(header, dev.asProtocolError(e));
    }
  }
}
