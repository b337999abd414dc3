// The host's end of the in-process message link to an emulated board (PROTOCOL.md framing,
// MessagePack and CRC skipped: both ends live in one process). Messages are handed over
// asynchronously (a microtask) and in order, as bytes would arrive; after close() nothing more
// passes in either direction. The board owns the device end and decides what each message meets
// (the same fault switches and firmware as bytes do).
import type { FaultKind, LinkMessage, MessageLinkPort, MessageReceiver } from '../../protocol/index.ts';

export class BoardMessagePort implements MessageLinkPort {
  private receiver: MessageReceiver | null = null;
  private open = true;

  constructor(private readonly toDevice: (m: LinkMessage) => void) {}

  send(m: LinkMessage): void {
    if (!this.open) return;
    queueMicrotask(() => {
      if (this.open) this.toDevice(m);
    });
  }

  attach(receiver: MessageReceiver): void {
    this.receiver = receiver;
  }

  /** Device → host (board-internal). */
  _deliver(m: LinkMessage): void {
    if (!this.open) return;
    queueMicrotask(() => {
      if (this.open) this.receiver?.message(m);
    });
  }

  /** A message that a byte link would have lost as a damaged frame (board-internal). */
  _lose(kind: FaultKind): void {
    if (!this.open) return;
    queueMicrotask(() => {
      if (this.open) this.receiver?.lost?.(kind);
    });
  }

  close(): void {
    this.open = false;
  }
}
