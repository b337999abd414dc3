/**
 * `tngd-spu/protocol`: the wire protocol of firmware-spec/PROTOCOL.md — framing (COBS +
 * CRC-32C), the message registry with its zod schemas, the MessagePack codec and its errors.
 *
 * @packageDocumentation
 */
export * from '../protocol/index.ts';
