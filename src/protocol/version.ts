/** Protocol version: the header carries the major; Hello negotiates the minor. */
export const PROTOCOL_VERSION = { major: 1, minor: 3 } as const;
export const PROTOCOL_MAJOR = PROTOCOL_VERSION.major;

/** Every device accepts encoded frames of at least this many bytes (so Hello always fits). */
export const MIN_MAX_FRAME_BYTES = 1024;
/** Receive limit used before the peer's limit is known, and by FrameDecoder by default. */
export const DEFAULT_MAX_FRAME_BYTES = 4096;
/** Largest limit a device may advertise (u16-sized buffers keep C implementations simple). */
export const MAX_MAX_FRAME_BYTES = 65535;
