// Message codec (type/flags + MessagePack payload, validated by the zod schemas) and frame codec
// (header ‖ payload ‖ CRC-32C, COBS-encoded, 0x00-terminated).
import type { z } from 'zod';
import { packBulkChunkReply, readBulkChunkReply, readBulkChunkRequest } from './bulk-bodies.ts';
import { cobsDecode, cobsEncodePartsInto, cobsMaxEncodedLength } from './cobs.ts';
import { crc32c, crc32cCombine } from './crc32c.ts';
import type { ProtocolError} from './errors.ts';
import { ErrorCode, FramingError, ProtocolViolationError, SchemaError, ValueRangeError, errorClassOf } from './errors.ts';
import {
  CRC_BYTES,
  FLAG_ERROR,
  FLAG_EVENT,
  FLAG_MORE,
  FLAG_REPLY,
  FLAG_RESERVED_MUST,
  HEADER_BYTES,
  MIN_FRAME_BYTES,
  readHeader,
  writeHeader,
} from './header.ts';
import type { FrameHeader } from './header.ts';
import { FAST_BODY_CHECKS } from './fast-checks.ts';
import { packPlainShared, unpackPlain } from './msgpack.ts';
import { eventNameOfType, kindInfo, opNameOfType } from './registry.ts';
import type { Message, ReplyBody } from './registry.ts';
import type { ErrorBody } from './schemas.ts';
import { PROTOCOL_MAJOR } from './version.ts';

export interface EncodedMessage {
  type: number;
  flags: number;
  payload: Buffer;
}

export interface DecodedFrame {
  header: FrameHeader;
  message: Message;
  /** COBS-encoded length of the frame, excluding the 0x00 delimiter */
  encodedBytes: number;
}

function schemaFailure(kind: string, err: z.ZodError): SchemaError {
  const issues = err.issues.slice(0, 4).map((i) => `${i.path.join('.') || '(root)'}: ${i.message}`);
  // PROTOCOL.md §5.1: TENSOR_INVALID only when the body matches its schema but for tensor byte
  // lengths / i16 scales; any other violation makes the whole body SCHEMA_INVALID.
  const tensorOnly = err.issues.every((i) => i.code === 'custom' && (i as { params?: { wireCode?: number } }).params?.wireCode === ErrorCode.TENSOR_INVALID);
  return new SchemaError(tensorOnly ? ErrorCode.TENSOR_INVALID : ErrorCode.SCHEMA_INVALID, `${kind}: ${issues.join('; ')}`, {
    issues: issues,
  });
}

/** Validates `msg` against its schema and returns its header type, flags and canonical payload. */
export function encodeMessage(msg: Message): EncodedMessage {
  const m = encodeMessageShared(msg);
  return { ...m, payload: Buffer.from(m.payload) };
}

/** As encodeMessage, but the payload lives in msgpackr's shared buffer until the next pack. */
function encodeMessageShared(msg: Message): EncodedMessage {
  const { type, flags, body } = typeFlagsAndBody(msg);
  // a BulkChunk reply per 64 KiB uploaded: packed by hand (the same bytes, without msgpackr)
  const payload = msg.kind === 'BulkChunkReply' ? packBulkChunkReply(body as ReplyBody<'BulkChunk'>) : packPlainShared(body);
  return { type, flags, payload };
}

export { FAST_BODY_CHECKS };

/** The fast check's body when it settles `body` as valid, else null (the schema decides). */
function quickBody(kind: Message['kind'], body: unknown): unknown {
  const fast = FAST_BODY_CHECKS[kind];
  return fast && body !== null && typeof body === 'object' ? fast(body as Record<string, unknown>) : null;
}

/** Validates `msg` against its schema; header type and flags of its frame, and the parsed body. */
function typeFlagsAndBody(msg: Message): { type: number; flags: number; body: unknown } {
  const info = kindInfo(msg.kind);
  const quick = quickBody(msg.kind, msg.body);
  if (quick) return { type: info.type, flags: info.direction === 'reply' ? FLAG_REPLY : 0, body: quick };
  const parsed = info.schema.safeParse(msg.body);
  if (!parsed.success) throw schemaFailure(msg.kind, parsed.error);
  let type = info.type;
  let flags = 0;
  if (info.direction === 'reply') flags = FLAG_REPLY;
  else if (info.direction === 'event') flags = FLAG_EVENT;
  else if (info.direction === 'error') {
    flags = FLAG_REPLY | FLAG_ERROR;
    type = (msg as { requestType: number }).requestType;
    if (!Number.isInteger(type) || type < 0 || type > 0xffff) throw new ValueRangeError(ErrorCode.OUT_OF_RANGE, `error requestType ${type} is not a u16`);
  }
  return { type, flags, body: parsed.data };
}

/**
 * What encodeFrame checks, without encoding: the message validated against its schema (the
 * parsed body; bins stay views) with the header type and flags its frame would carry.
 */
export function validateMessage(msg: Message, requestId: number, opts: { more?: boolean } = {}): { type: number; flags: number; message: Message } {
  if (!Number.isInteger(requestId) || requestId < 0 || requestId > 0xffffffff) throw new ValueRangeError(ErrorCode.OUT_OF_RANGE, `requestId ${requestId} is not a u32`);
  const { type, flags, body } = typeFlagsAndBody(msg);
  const message = (msg.kind === 'Error' ? { kind: 'Error', requestType: type, body } : { kind: msg.kind, body }) as Message;
  return { type, flags: flags | (opts.more ? FLAG_MORE : 0), message };
}

/**
 * Interprets header + payload. Throws ProtocolViolationError (version, flags, unknown type) or
 * SchemaError (MessagePack or schema) — each with its wire code.
 */
export function decodeMessage(header: FrameHeader, payload: Uint8Array): Message {
  if (header.version !== PROTOCOL_MAJOR)
    throw new ProtocolViolationError(ErrorCode.VERSION_UNSUPPORTED, `major ${header.version} not supported (speaks ${PROTOCOL_MAJOR})`, {
      supportedMajors: [PROTOCOL_MAJOR],
    });
  const f = header.flags;
  if (f & FLAG_RESERVED_MUST) throw new ProtocolViolationError(ErrorCode.UNKNOWN_MUST_FLAG, `must-understand flag bits 0x${(f & FLAG_RESERVED_MUST).toString(16)} unknown`);
  const isReply = (f & FLAG_REPLY) !== 0;
  const isError = (f & FLAG_ERROR) !== 0;
  const isEvent = (f & FLAG_EVENT) !== 0;
  if ((isError && !isReply) || (isEvent && isReply)) throw new ProtocolViolationError(ErrorCode.BAD_FLAGS, `flags 0x${f.toString(16)} combine REPLY/ERROR/EVENT illegally`);

  let kind: Message['kind'];
  if (isError) kind = 'Error';
  else if (isEvent) {
    const ev = eventNameOfType(header.type);
    if (!ev) throw new ProtocolViolationError(ErrorCode.UNKNOWN_TYPE, `unknown event type 0x${header.type.toString(16)}`);
    kind = `${ev}Event`;
  } else {
    const op = opNameOfType(header.type);
    if (!op) throw new ProtocolViolationError(ErrorCode.UNKNOWN_TYPE, `unknown message type 0x${header.type.toString(16)}`);
    kind = isReply ? `${op}Reply` : `${op}Request`;
  }

  // the bodies an upload sends by the hundred, when in canonical form (else the general path)
  const bulk = kind === 'BulkChunkRequest' ? readBulkChunkRequest(payload) : kind === 'BulkChunkReply' ? readBulkChunkReply(payload) : null;
  if (bulk) return { kind, body: bulk } as Message;
  let raw: unknown;
  try {
    raw = unpackPlain(payload);
  } catch (e) {
    throw new SchemaError(ErrorCode.MSGPACK_INVALID, `payload is not one MessagePack value: ${(e as Error).message}`);
  }
  const quick = quickBody(kind, raw);
  if (quick) return { kind, body: quick } as Message;
  const parsed = kindInfo(kind).schema.safeParse(raw);
  if (!parsed.success) throw schemaFailure(kind, parsed.error);
  if (kind === 'Error') return { kind, requestType: header.type, body: parsed.data as ErrorBody };
  return { kind, body: parsed.data } as Message;
}

export interface FrameOptions {
  /** sets the may-ignore MORE flag */
  more?: boolean;
  /** prefix a 0x00 so a receiver that lost sync drops only the previous fragment */
  leadingDelimiter?: boolean;
}

/** Frames an already-encoded header + payload (also used to build malformed test vectors). */
export function encodeRawFrame(header: FrameHeader, payload: Uint8Array, opts: { leadingDelimiter?: boolean } = {}): Buffer {
  return encodeFrameParts(header, [payload], opts);
}

/**
 * Frames header ‖ payload pieces ‖ CRC straight into the COBS output: no inner frame buffer, the
 * payload pieces (e.g. a BulkChunk's data, a view of the host tensor) are read once for the CRC
 * and once for COBS, or only for COBS where `partCrcs` gives a piece's CRC-32C. `into`, when it
 * has room for the encoded frame, receives it (the result is a view of it).
 */
export function encodeFrameParts(
  header: FrameHeader,
  payload: readonly Uint8Array[],
  opts: { leadingDelimiter?: boolean; into?: Buffer; partCrcs?: readonly (number | undefined)[] } = {},
): Buffer {
  const head = Buffer.allocUnsafe(HEADER_BYTES);
  writeHeader(head, 0, header);
  let crc = crc32c(head);
  let payloadLen = 0;
  for (let i = 0; i < payload.length; i++) {
    const p = payload[i];
    // a piece whose CRC the caller already has is combined, not read again
    const known = opts.partCrcs?.[i];
    crc = known === undefined ? crc32c(p, crc) : crc32cCombine(crc, known, p.length);
    payloadLen += p.length;
  }
  const trailer = Buffer.allocUnsafe(CRC_BYTES);
  trailer.writeUInt32LE(crc, 0);
  const innerLen = HEADER_BYTES + payloadLen + CRC_BYTES;
  const lead = opts.leadingDelimiter ? 1 : 0;
  const need = lead + cobsMaxEncodedLength(innerLen) + 1;
  // a caller's reusable buffer (a frame pool) when it has room: warm memory, nothing to collect
  const out = opts.into && opts.into.length >= need ? opts.into : Buffer.allocUnsafe(need);
  if (lead) out[0] = 0;
  const n = cobsEncodePartsInto([head, ...payload, trailer], out, lead);
  out[lead + n] = 0;
  return out.subarray(0, lead + n + 1);
}

/** Encodes a message into one complete wire frame, ending with the 0x00 delimiter. */
export function encodeFrame(msg: Message, requestId: number, opts: FrameOptions = {}): Buffer {
  if (!Number.isInteger(requestId) || requestId < 0 || requestId > 0xffffffff) throw new ValueRangeError(ErrorCode.OUT_OF_RANGE, `requestId ${requestId} is not a u32`);
  const m = encodeMessageShared(msg);
  return encodeRawFrame(
    { version: PROTOCOL_MAJOR, flags: m.flags | (opts.more ? FLAG_MORE : 0), type: m.type, requestId },
    m.payload,
    opts,
  );
}

/**
 * Checks length and CRC of a decoded (un-COBSed) frame and splits it. With `tailFrom` (an offset
 * into the frame) the CRC is taken in two pieces, split there, and the tail's own CRC-32C (up to
 * the trailer) is returned too: a large frame's data then has a CRC of its own at the cost of one
 * combine (the BulkChunk staging's whole-tensor CRC uses it).
 */
export function splitFrame(inner: Uint8Array, tailFrom?: number): { header: FrameHeader; payload: Uint8Array; tail?: { from: number; crc32c: number } } {
  if (inner.length < MIN_FRAME_BYTES) throw new FramingError(ErrorCode.FRAME_TOO_SHORT, `frame has ${inner.length} bytes, minimum ${MIN_FRAME_BYTES}`);
  const end = inner.length - CRC_BYTES;
  const want = (inner[end] | (inner[end + 1] << 8) | (inner[end + 2] << 16) | (inner[end + 3] << 24)) >>> 0;
  const split = tailFrom !== undefined && tailFrom >= HEADER_BYTES && tailFrom < end ? tailFrom : -1;
  const tailCrc = split < 0 ? 0 : crc32c(inner, 0, split, end);
  const got = split < 0 ? crc32c(inner, 0, 0, end) : crc32cCombine(crc32c(inner, 0, 0, split), tailCrc, end - split);
  if (got !== want) throw new FramingError(ErrorCode.BAD_CRC, `CRC-32C 0x${got.toString(16).padStart(8, '0')} ≠ trailer 0x${want.toString(16).padStart(8, '0')}`);
  const out: { header: FrameHeader; payload: Uint8Array; tail?: { from: number; crc32c: number } } = { header: readHeader(inner), payload: inner.subarray(HEADER_BYTES, end) };
  if (split >= 0) out.tail = { from: split, crc32c: tailCrc };
  return out;
}

/**
 * Decodes exactly one frame given as COBS bytes (a trailing 0x00 delimiter is allowed). Throws
 * the typed ProtocolError the streaming decoder would count as a fault.
 */
export function decodeFrame(encoded: Uint8Array): DecodedFrame {
  let bytes = encoded;
  if (bytes.length > 0 && bytes[bytes.length - 1] === 0) bytes = bytes.subarray(0, bytes.length - 1);
  const inner = cobsDecode(bytes);
  if (!inner) throw new FramingError(ErrorCode.COBS_INVALID, 'invalid COBS encoding');
  const { header, payload } = splitFrame(inner);
  return { header, message: decodeMessage(header, payload), encodedBytes: bytes.length };
}

/** Builds an Error message from a typed error (used by devices answering a bad request). */
export function errorMessageFrom(err: ProtocolError, requestType: number): Message {
  const body: ErrorBody = { code: err.code, class: errorClassOf(err.code), message: err.message.slice(0, 256) };
  if (err.detail) body.detail = err.detail;
  return { kind: 'Error', requestType, body };
}

