// Public API of the wire protocol (v1). Emulator, driver and conformance suite import from here.
export { PROTOCOL_VERSION, PROTOCOL_MAJOR, MIN_MAX_FRAME_BYTES, DEFAULT_MAX_FRAME_BYTES, MAX_MAX_FRAME_BYTES } from './version.ts';
export { crc32c, CRC32C_CHECK_VALUE } from './crc32c.ts';
export { cobsEncode, cobsEncodeInto, cobsDecode, cobsMaxEncodedLength } from './cobs.ts';
export * from './header.ts';
export * from './errors.ts';
export * from './tensor.ts';
export * from './schemas.ts';
export * from './registry.ts';
export { encodeMessage, decodeMessage, encodeFrame, encodeRawFrame, decodeFrame, splitFrame, errorMessageFrom } from './codec.ts';
export type { EncodedMessage, DecodedFrame, FrameOptions } from './codec.ts';
export { FrameDecoder, FrameDecoderStream } from './decoder.ts';
export type { FaultKind, FrameFault, DecoderCounters, FrameDecoderOptions } from './decoder.ts';
export * from './state-machine.ts';
export * from './bulk.ts';
export { SCHEMA_FINGERPRINT, SCHEMA_BUNDLE, buildSchemaBundle, canonicalJson, schemaFingerprintOf } from './json-schema.ts';
export type { SchemaBundle } from './json-schema.ts';
export { packPlain, unpackPlain } from './msgpack.ts';
