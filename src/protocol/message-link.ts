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
export interface MessageLinkPort {
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

/**
 * Upper bound of the MessagePack size of a plain value: exact sizes for nil, booleans, integers,
 * strings, bins, arrays and maps; 9 for a non-integer number (float 64). Tight enough that a
 * BulkChunk of the largest planned size is never encoded just to be measured.
 */
export function packedSizeBound(v: unknown): number {
  if (v === null || v === undefined || typeof v === 'boolean') return 1;
  if (typeof v === 'number') {
    if (!Number.isInteger(v)) return 9;
    if (v >= 0) return v < 128 ? 1 : v < 256 ? 2 : v < 65536 ? 3 : v <= 0xffffffff ? 5 : 9;
    return v >= -32 ? 1 : v >= -128 ? 2 : v >= -32768 ? 3 : v >= -0x80000000 ? 5 : 9;
  }
  if (typeof v === 'string') return packedStringBound(v);
  if (v instanceof Uint8Array) return (v.length < 256 ? 2 : v.length < 65536 ? 3 : 5) + v.length;
  const head = (k: number) => (k < 16 ? 1 : k < 65536 ? 3 : 5);
  let s = 0;
  let k = 0;
  if (Array.isArray(v)) {
    for (const x of v) s += packedSizeBound(x);
    return head(v.length) + s;
  }
  // for…in rather than Object.entries: this runs once per message, without allocating
  const o = v as Record<string, unknown>;
  for (const key in o) {
    const x = o[key];
    if (x !== undefined && Object.hasOwn(o, key)) {
      s += packedKeyBound(key) + packedSizeBound(x);
      k++;
    }
  }
  return head(k) + s;
}

function packedStringBound(v: string): number {
  const n = Buffer.byteLength(v, 'utf8');
  return (n < 32 ? 1 : n < 256 ? 2 : n < 65536 ? 3 : 5) + n;
}

/** Map keys come from the schemas' small set: their sizes are looked up, not measured each time. */
const keyBounds = new Map<string, number>();
function packedKeyBound(k: string): number {
  let b = keyBounds.get(k);
  if (b === undefined) {
    b = packedStringBound(k);
    if (keyBounds.size < 1024) keyBounds.set(k, b);
  }
  return b;
}

/**
 * True when the encoded frame of `m` (COBS, excluding the delimiter) would exceed maxFrameBytes.
 * Exact: the bound settles the common case; a message near the limit is encoded to know.
 */
export function encodedFrameExceeds(m: LinkMessage, maxFrameBytes: number): boolean {
  if (cobsMaxEncodedLength(HEADER_BYTES + packedSizeBound(m.message.body) + CRC_BYTES) <= maxFrameBytes) return false;
  return encodeFrame(m.message, m.header.requestId).length - 1 > maxFrameBytes;
}
