// Everything the device sends goes through here: encoded into a frame for a byte link, or
// validated and handed over unencoded on the in-process message link. Both paths apply the same
// rule: a frame larger than the host accepts (its Hello maxFrameBytes) becomes REPLY_TOO_LARGE.
import {
  EVENTS,
  ErrorCode,
  OPERATIONS,
  ResourceError,
  checkMessage,
  encodeFrame,
  encodedFrameExceeds,
  errorMessageFrom,
} from '../../protocol/index.ts';
import type { Message, OpName } from '../../protocol/index.ts';
import type { FirmwareState } from './firmware-state.ts';

export class Outbox {
  constructor(private readonly dev: FirmwareState) {}

  /** Sends one message carrying `requestId`; events are dropped (a seq gap) when too large. */
  send(msg: Message, requestId: number, opts: { more?: boolean } = {}): void {
    const dev = this.dev;
    if (dev.dead) return;
    if (dev.io.messageLevel?.()) return this.deliver(msg, requestId, opts);
    let frame = encodeFrame(msg, requestId, opts);
    if (frame.length - 1 > dev.hostMaxFrame) {
      const tooLarge = this.tooLarge(msg, requestId, frame.length - 1);
      if (!tooLarge) return;
      frame = encodeFrame(tooLarge, requestId);
    }
    dev.log.trace({ dir: 'tx', kind: msg.kind, requestId, bytes: frame.length }, 'frame');
    if (dev.leadingDelimiter) {
      dev.leadingDelimiter = false;
      frame = Buffer.concat([Buffer.of(0), frame]);
    }
    dev.io.send(frame, { kind: msg.kind, requestId });
  }

  private deliver(msg: Message, requestId: number, opts: { more?: boolean }): void {
    const dev = this.dev;
    let m = checkMessage(msg, requestId, opts);
    if (encodedFrameExceeds(m, dev.hostMaxFrame)) {
      const tooLarge = this.tooLarge(msg, requestId, encodeFrame(msg, requestId, opts).length - 1);
      if (!tooLarge) return;
      m = checkMessage(tooLarge, requestId);
    }
    dev.log.trace({ dir: 'tx', kind: msg.kind, requestId }, 'message');
    dev.io.deliver!(m, { kind: msg.kind, requestId });
  }

  /** The Error that replaces a message the host cannot receive (null for events: dropped). */
  private tooLarge(msg: Message, requestId: number, bytes: number): Message | null {
    const dev = this.dev;
    const type = typeOfMessage(msg);
    const e = new ResourceError(ErrorCode.REPLY_TOO_LARGE, `${msg.kind} needs ${bytes} encoded bytes, the host accepts ${dev.hostMaxFrame}`);
    dev.queueError(e, requestId, type);
    if (msg.kind === 'SampleBlockEvent') return null;
    return errorMessageFrom(e, type);
  }
}

/** Header type a message travels with (an Error echoes the failed request's type). */
function typeOfMessage(msg: Message): number {
  if (msg.kind === 'Error') return msg.requestType;
  if (msg.kind === 'SampleBlockEvent') return EVENTS.SampleBlock.type;
  return OPERATIONS[msg.kind.replace(/(Request|Reply)$/, '') as OpName].type;
}
