// Fixed 8-byte frame header (all little-endian), followed by the MessagePack payload and the
// CRC-32C trailer. Byte 0 (major version) and the framing (COBS, CRC-32C trailer) never change
// across majors, so any peer can tell which major it is talking to.
//
//   offset size field
//   0      1    major protocol version (1)
//   1      1    flags: bits 0-3 must-understand, bits 4-7 may-ignore
//   2      2    message type (u16 LE)
//   4      4    request id (u32 LE), echoed by the reply or error
//   8      n    payload: one MessagePack value (a map)
//   8+n    4    CRC-32C of bytes [0, 8+n), u32 LE

export const HEADER_BYTES = 8;
export const CRC_BYTES = 4;
/** Smallest valid decoded frame: header + CRC (an empty payload is invalid but is not "short"). */
export const MIN_FRAME_BYTES = HEADER_BYTES + CRC_BYTES;

/** Frame answers a request (reply or error). */
export const FLAG_REPLY = 0x01;
/** With FLAG_REPLY: payload is an Error body; the type echoes the failed request's type. */
export const FLAG_ERROR = 0x02;
/** Device-initiated message (e.g. SampleBlock); never combined with FLAG_REPLY. */
export const FLAG_EVENT = 0x04;
/** Reserved must-understand bit: a receiver seeing it set drops the frame (UNKNOWN_MUST_FLAG). */
export const FLAG_RESERVED_MUST = 0x08;
export const FLAGS_MUST_UNDERSTAND_MASK = 0x0f;
/** May-ignore hint: more frames follow for this request id (e.g. a sample stream). */
export const FLAG_MORE = 0x10;
export const FLAGS_MAY_IGNORE_MASK = 0xf0;

export interface FrameHeader {
  version: number;
  flags: number;
  type: number;
  requestId: number;
}

export function writeHeader(dst: Uint8Array, offset: number, h: FrameHeader): void {
  dst[offset] = h.version;
  dst[offset + 1] = h.flags;
  dst[offset + 2] = h.type & 0xff;
  dst[offset + 3] = (h.type >>> 8) & 0xff;
  dst[offset + 4] = h.requestId & 0xff;
  dst[offset + 5] = (h.requestId >>> 8) & 0xff;
  dst[offset + 6] = (h.requestId >>> 16) & 0xff;
  dst[offset + 7] = (h.requestId >>> 24) & 0xff;
}

export function readHeader(src: Uint8Array, offset = 0): FrameHeader {
  return {
    version: src[offset],
    flags: src[offset + 1],
    type: src[offset + 2] | (src[offset + 3] << 8),
    requestId: (src[offset + 4] | (src[offset + 5] << 8) | (src[offset + 6] << 16) | (src[offset + 7] << 24)) >>> 0,
  };
}
