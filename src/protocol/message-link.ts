// Messages without bytes: what an in-process link carries between a host and a device that live
// in the same process. A LinkMessage is exactly what a byte link's FrameDecoder yields (header +
// validated message) minus the encoding: the sender validates once with the same zod schemas
// the codec uses (checkMessage), the receiver trusts it. Frame-size limits still apply as on the
// wire: encodedFrameExceeds() answers "would this message's frame exceed maxFrameBytes?" from a
// cheap upper bound, encoding only messages that come close to the limit.
import { cobsMaxEncodedLength } from './cobs.ts';
import { encodeFrame, validateMessage } from './codec.ts';
import type { FaultKind } from './decoder.ts';
import { CRC_BYTES, HEADER_BYTES } from './header.ts';
import type { FrameHeader } from './header.ts';
import type { Message } from './registry.ts';
import { PROTOCOL_MAJOR } from './version.ts';

export interface LinkMessage {
  header: FrameHeader;
  message: Message;
}

/**
 * One side of an in-process message link. `send` hands a message to the peer; the peer's
 * messages arrive through the receiver given to `attach` (one receiver per side). Delivery is
 * asynchronous and in order, as on a byte link.
 */
export interface MessagePort {
  send(m: LinkMessage): void;
  attach(receiver: MessageReceiver): void;
}

export interface MessageReceiver {
  message(m: LinkMessage): void;
  /** A message lost on the way as a damaged frame would be (fault injection): counted, not delivered. */
  lost?(kind: FaultKind): void;
}

/**
 * Validates `msg` against its schema (as encodeFrame does) and returns it with its header. The
 * body is the schema's parsed copy: bins stay views of the caller's bytes (no data copy).
 */
export function checkMessage(msg: Message, requestId: number, opts: { more?: boolean } = {}): LinkMessage {
  const v = validateMessage(msg, requestId, opts);
  return { header: { version: PROTOCOL_MAJOR, flags: v.flags, type: v.type, requestId }, message: v.message };
}

/** Upper bound of the MessagePack size of a plain value (numbers 9, bins 5 + length, …). */
export function packedSizeBound(v: unknown): number {
  if (v === null || v === undefined || typeof v === 'boolean') return 1;
  if (typeof v === 'number') return 9;
  // UTF-8 needs at most 3 bytes per UTF-16 code unit
  if (typeof v === 'string') return 5 + 3 * v.length;
  if (v instanceof Uint8Array) return 5 + v.length;
  let s = 5;
  if (Array.isArray(v)) for (const x of v) s += packedSizeBound(x);
  else for (const [k, x] of Object.entries(v as Record<string, unknown>)) if (x !== undefined) s += packedSizeBound(k) + packedSizeBound(x);
  return s;
}

/**
 * True when the encoded frame of `m` (COBS, excluding the delimiter) would exceed maxFrameBytes.
 * Exact: the bound settles the common case; a message near the limit is encoded to know.
 */
export function encodedFrameExceeds(m: LinkMessage, maxFrameBytes: number): boolean {
  if (cobsMaxEncodedLength(HEADER_BYTES + packedSizeBound(m.message.body) + CRC_BYTES) <= maxFrameBytes) return false;
  return encodeFrame(m.message, m.header.requestId).length - 1 > maxFrameBytes;
}
