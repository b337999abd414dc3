// Streaming frame decoder. COBS is undone incrementally into one preallocated buffer of the
// maximum frame size; a frame that grows past the limit is dropped byte by byte until the next
// 0x00 (never buffered whole). Every fault is counted and reported; nothing is thrown.
import { Transform } from 'node:stream';
import type { TransformCallback } from 'node:stream';
import { decodeMessage, splitFrame } from './codec.ts';
import type { DecodedFrame } from './codec.ts';
import { ErrorCode, FramingError, ProtocolError } from './errors.ts';
import { CRC_BYTES, HEADER_BYTES, MIN_FRAME_BYTES } from './header.ts';
import { BULK_CHUNK_HEAD_MAX_BYTES } from './bulk-bodies.ts';
import { crc32c, crc32cCombine } from './crc32c.ts';
import type { FrameHeader } from './header.ts';
import { DEFAULT_MAX_FRAME_BYTES } from './version.ts';

export type FaultKind = 'badCrc' | 'oversize' | 'undecodable' | 'unknownType' | 'unsupported';

export interface FrameFault {
  kind: FaultKind;
  /** typed error carrying the wire code */
  error: ProtocolError;
  /**
   * Header of the faulty frame when it passed the CRC: a device answers such a frame with an
   * Error reply echoing header.requestId and header.type. Absent when the CRC failed or the
   * frame was oversize/undecodable as COBS.
   */
  header?: FrameHeader;
  /** encoded bytes the fault discarded (excluding the delimiter) */
  bytes: number;
}

export interface DecoderCounters {
  framesOk: number;
  badCrc: number;
  oversize: number;
  /** COBS invalid, shorter than header + CRC, MessagePack invalid, schema invalid */
  undecodable: number;
  unknownType: number;
  /** unsupported major version, unknown must-understand flag, illegal flag combination */
  unsupported: number;
  /** non-delimiter bytes that did not end up in a good frame */
  bytesDiscarded: number;
  /** empty frames (consecutive 0x00): legal idle/sync filler, not a fault */
  emptyFrames: number;
}

export interface FrameDecoderOptions {
  /** largest accepted encoded frame, excluding the delimiter (default 4096) */
  maxFrameBytes?: number;
  onFault?: (fault: FrameFault) => void;
}

function faultKindOf(code: number): FaultKind {
  switch (code) {
    case ErrorCode.BAD_CRC:
      return 'badCrc';
    case ErrorCode.FRAME_TOO_LARGE:
      return 'oversize';
    case ErrorCode.UNKNOWN_TYPE:
      return 'unknownType';
    case ErrorCode.VERSION_UNSUPPORTED:
    case ErrorCode.UNKNOWN_MUST_FLAG:
    case ErrorCode.BAD_FLAGS:
      return 'unsupported';
    default:
      return 'undecodable';
  }
}

/** Payloads from this many bytes on keep the frame's buffer (see endFrame) instead of a copy. */
const lentPayloadBytes = (maxFrameBytes: number): number => Math.max(1024, maxFrameBytes >>> 3);

/** Where a large frame's CRC is split: past the header and a BulkChunk's MessagePack head (≤ 49 bytes). */
const DATA_CRC_SPLIT = HEADER_BYTES + BULK_CHUNK_HEAD_MAX_BYTES;

/** CRC-32C of BulkChunk data views this decoder handed out (weakly: they go with the view). */
const dataCrcs = new WeakMap<Uint8Array, number>();

/** The data's CRC from the frame's two-piece CRC: the head part of the tail [start, from) combined with the tail's. */
function rememberDataCrc(data: Uint8Array, inner: Uint8Array, tail: { from: number; crc32c: number }): void {
  if (data.buffer !== inner.buffer) return;
  const start = data.byteOffset - inner.byteOffset;
  if (start > tail.from || start + data.length !== inner.length - CRC_BYTES) return;
  const crc = start === tail.from ? tail.crc32c : crc32cCombine(crc32c(inner, 0, start, tail.from), tail.crc32c, data.length - (tail.from - start));
  dataCrcs.set(data, crc);
}

/**
 * The CRC-32C of a BulkChunk's data as the decoder computed it while checking its frame (the
 * bytes are the frame's, not copied since), or undefined for any other array.
 */
export function decodedDataCrc32c(data: Uint8Array): number | undefined {
  return dataCrcs.get(data);
}

export class FrameDecoder {
  readonly maxFrameBytes: number;
  readonly counters: DecoderCounters = {
    framesOk: 0,
    badCrc: 0,
    oversize: 0,
    undecodable: 0,
    unknownType: 0,
    unsupported: 0,
    bytesDiscarded: 0,
    emptyFrames: 0,
  };
  private readonly onFault: ((f: FrameFault) => void) | undefined;
  /** un-COBSed bytes of the current frame; replaced when a large payload is handed over */
  private buf: Buffer;
  /** Frame buffers handed out with large payloads, and those given back (recycle) for reuse. */
  private readonly lent = new WeakSet<ArrayBufferLike>();
  private readonly spare: Buffer[] = [];
  private outLen = 0;
  private encodedLen = 0;
  /** data bytes still expected in the current COBS block */
  private blockLeft = 0;
  /** code of the current block, 0 before the first block */
  private lastCode = 0;
  private discarding = false;

  constructor(opts: FrameDecoderOptions = {}) {
    this.maxFrameBytes = opts.maxFrameBytes ?? DEFAULT_MAX_FRAME_BYTES;
    if (!Number.isInteger(this.maxFrameBytes) || this.maxFrameBytes < MIN_FRAME_BYTES + 1) throw new RangeError(`maxFrameBytes ${this.maxFrameBytes} too small`);
    this.onFault = opts.onFault;
    this.buf = Buffer.allocUnsafeSlow(this.maxFrameBytes);
  }

  /** Bytes of the current partial frame held (always ≤ maxFrameBytes). */
  get buffered(): number {
    return this.discarding ? 0 : this.outLen;
  }

  /** Feeds bytes; returns the frames completed by them. Faults go to onFault and the counters. */
  push(chunk: Uint8Array): DecodedFrame[] {
    const frames: DecodedFrame[] = [];
    let pos = 0;
    const len = chunk.length;
    while (pos < len) {
      let z = chunk.indexOf(0, pos);
      const atDelimiter = z >= 0;
      if (!atDelimiter) z = len;
      if (z > pos) this.consume(chunk, pos, z);
      if (atDelimiter) {
        this.endFrame(frames);
        pos = z + 1;
      } else pos = z;
    }
    return frames;
  }

  /**
   * Gives back the memory of a large payload (any view into it, e.g. a BulkChunk's data) that the
   * receiver no longer references, so the next large frame reuses it: a fresh 64 KiB buffer per
   * bulk chunk cost page faults and external-memory GCs. Anything else is ignored.
   */
  recycle(view: Uint8Array): void {
    const ab = view.buffer;
    if (!this.lent.has(ab) || this.spare.length >= 4) return;
    this.lent.delete(ab);
    this.spare.push(Buffer.from(ab, 0, this.maxFrameBytes));
  }

  /** Drops a partial frame (e.g. at end of stream or after a link reset); counts its bytes. */
  reset(): void {
    if (!this.discarding) this.counters.bytesDiscarded += this.encodedLen;
    this.clear();
  }

  private clear(): void {
    this.outLen = 0;
    this.encodedLen = 0;
    this.blockLeft = 0;
    this.lastCode = 0;
    this.discarding = false;
  }

  private fault(kind: FaultKind, error: ProtocolError, bytes: number, header?: FrameHeader): void {
    this.counters[kind]++;
    this.counters.bytesDiscarded += bytes;
    if (this.onFault) {
      const f: FrameFault = { kind, error, bytes };
      if (header) f.header = header;
      try {
        this.onFault(f);
      } catch {
        // a throwing listener must not break decoding
      }
    }
  }

  private consume(chunk: Uint8Array, start: number, end: number): void {
    const n = end - start;
    if (this.discarding) {
      this.counters.bytesDiscarded += n;
      return;
    }
    if (this.encodedLen + n > this.maxFrameBytes) {
      const had = this.encodedLen;
      this.discarding = true;
      this.encodedLen = 0;
      this.fault('oversize', new FramingError(ErrorCode.FRAME_TOO_LARGE, `frame exceeds ${this.maxFrameBytes} encoded bytes`), had + n);
      return;
    }
    // The raw bytes are copied once into the frame buffer at their frame position and decoded
    // in place: the output never overtakes the input (each block's code byte is at least the
    // zero it stands for), so every block moves with copyWithin, a memmove inside one buffer.
    const raw = this.encodedLen;
    this.encodedLen += n;
    const buf = this.buf;
    buf.set(start === 0 && end === chunk.length ? chunk : chunk.subarray(start, end), raw);
    // state in locals for the loop: zero-dense data makes a block (and a code byte) per zero
    let out = this.outLen;
    let left = this.blockLeft;
    let last = this.lastCode;
    let i = raw;
    const stop = raw + n;
    while (i < stop) {
      if (left === 0) {
        const code = buf[i++];
        if (last !== 0 && last !== 0xff) buf[out++] = 0;
        last = code;
        left = code - 1;
      } else {
        const take = Math.min(left, stop - i);
        if (take < 16) for (let k = 0; k < take; k++) buf[out++] = buf[i + k];
        else {
          buf.copyWithin(out, i, i + take);
          out += take;
        }
        i += take;
        left -= take;
      }
    }
    this.outLen = out;
    this.blockLeft = left;
    this.lastCode = last;
  }

  private endFrame(frames: DecodedFrame[]): void {
    if (this.discarding) {
      this.clear();
      return;
    }
    const encodedBytes = this.encodedLen;
    if (encodedBytes === 0) {
      this.counters.emptyFrames++;
      return;
    }
    if (this.blockLeft !== 0) {
      this.clear();
      this.fault('undecodable', new FramingError(ErrorCode.COBS_INVALID, 'COBS block cut short by a delimiter'), encodedBytes);
      return;
    }
    const inner = this.buf.subarray(0, this.outLen);
    this.clear();
    let header: FrameHeader | undefined;
    try {
      // a large frame (a bulk chunk) has its CRC taken in two pieces, so that its data's own CRC comes for free
      const large = inner.length >= lentPayloadBytes(this.maxFrameBytes);
      const split = splitFrame(inner, large ? DATA_CRC_SPLIT : undefined);
      header = split.header;
      // Message bins are views of the payload, and this.buf is reused for the next frame: a small
      // payload is copied out; a large one (a bulk chunk) keeps the buffer, and a fresh one
      // (uninitialised, as nothing is read before it is written) takes its place.
      let payload: Buffer;
      if (split.payload.length >= lentPayloadBytes(this.maxFrameBytes)) {
        payload = split.payload as Buffer;
        this.lent.add(this.buf.buffer);
        this.buf = this.spare.pop() ?? Buffer.allocUnsafeSlow(this.maxFrameBytes);
      } else payload = Buffer.from(split.payload);
      const message = decodeMessage(header, payload);
      if (split.tail && message.kind === 'BulkChunkRequest') rememberDataCrc(message.body.data, inner, split.tail);
      this.counters.framesOk++;
      frames.push({ header, message, encodedBytes });
    } catch (e) {
      const err = e instanceof ProtocolError ? e : new FramingError(ErrorCode.COBS_INVALID, String(e));
      this.fault(faultKindOf(err.code), err, encodedBytes, header);
    }
  }
}

/**
 * Node Transform: bytes in, DecodedFrame objects out. Faults are emitted as 'fault' events
 * (never 'error'); at end of input a partial frame is discarded and counted.
 */
export class FrameDecoderStream extends Transform {
  readonly decoder: FrameDecoder;
  constructor(opts: Omit<FrameDecoderOptions, 'onFault'> = {}) {
    super({ readableObjectMode: true, writableObjectMode: false });
    this.decoder = new FrameDecoder({ ...opts, onFault: (f) => this.emit('fault', f) });
  }
  get counters(): DecoderCounters {
    return this.decoder.counters;
  }
  override _transform(chunk: Buffer | Uint8Array | string, _enc: BufferEncoding, cb: TransformCallback): void {
    const bytes = typeof chunk === 'string' ? Buffer.from(chunk, 'latin1') : chunk;
    for (const f of this.decoder.push(bytes)) this.push(f);
    cb();
  }
  override _flush(cb: TransformCallback): void {
    this.decoder.reset();
    cb();
  }
}
