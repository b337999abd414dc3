import { describe, expect, it } from 'vitest';
import { ErrorCode, SchemaError, decodeFrame, encodeRawFrame, OPERATIONS } from '../../src/protocol/index.ts';

// Payloads that msgpackr would turn into objects of its own must be refused as MSGPACK_INVALID,
// never reach a schema (a Status request with payload c1 used to pass EmptySchema).
const NOT_PLAIN: [string, string][] = [
  ['never-used byte 0xC1', 'c1'],
  ['0xC1 inside a map', '81a178c1'],
  ['0xC1 inside an array', '92c0c1'],
  ['timestamp extension (-1)', 'd6ff00000001'],
  ['application extension type 5', 'd40501'],
];

describe('payloads must be plain MessagePack', () => {
  for (const [what, hex] of NOT_PLAIN) {
    it(`rejects ${what} with MSGPACK_INVALID`, () => {
      const frame = encodeRawFrame({ version: 1, flags: 0, type: OPERATIONS.Status.type, requestId: 7 }, Buffer.from(hex, 'hex'));
      let err: unknown;
      try {
        decodeFrame(frame);
      } catch (e) {
        err = e;
      }
      expect(err).toBeInstanceOf(SchemaError);
      expect((err as SchemaError).code).toBe(ErrorCode.MSGPACK_INVALID);
    });
  }

  it('still accepts an empty map and bins', () => {
    const frame = encodeRawFrame({ version: 1, flags: 0, type: OPERATIONS.Status.type, requestId: 8 }, Buffer.from('80', 'hex'));
    expect(decodeFrame(frame).message).toEqual({ kind: 'StatusRequest', body: {} });
  });
});
