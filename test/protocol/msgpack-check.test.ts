// PROTOCOL.md §5: what a payload's MessagePack may contain, checked on the raw bytes.
import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { ErrorCode, OPERATIONS, SchemaError, decodeFrame, encodeRawFrame, packPlain, unpackPlain } from '../../src/protocol/index.ts';
import { MAX_MSGPACK_DEPTH, MsgpackCheckError, checkPlainMsgpack } from '../../src/protocol/msgpack-check.ts';

const hex = (s: string) => Buffer.from(s.replace(/\s+/g, ''), 'hex');

/** Plain values: what a message body is made of (strings include non-ASCII, bins any bytes). */
const plainValue: fc.Arbitrary<unknown> = fc.letrec((tie) => ({
  v: fc.oneof(
    { depthSize: 'small' },
    fc.constant(null),
    fc.boolean(),
    fc.integer({ min: -(2 ** 31), max: 2 ** 32 - 1 }),
    fc.double({ noNaN: true }),
    fc.string({ unit: 'binary', maxLength: 40 }),
    fc.uint8Array({ maxLength: 300 }).map((b) => Buffer.from(b)),
    fc.array(tie('v'), { maxLength: 5 }),
    fc.dictionary(fc.string({ unit: 'binary', maxLength: 12 }), tie('v'), { maxKeys: 5 }),
  ),
})).v;

function refusal(bytes: Uint8Array): string | null {
  try {
    checkPlainMsgpack(bytes);
    return null;
  } catch (e) {
    expect(e).toBeInstanceOf(MsgpackCheckError);
    return (e as Error).message;
  }
}

describe('checkPlainMsgpack', () => {
  it('accepts everything the codec packs, and unpackPlain returns it (property)', () => {
    fc.assert(
      fc.property(plainValue, (v) => {
        const b = packPlain(v);
        expect(refusal(b)).toBeNull();
        expect(() => unpackPlain(b)).not.toThrow();
      }),
      { numRuns: 400 },
    );
  });

  it('refuses every proper prefix and every extension by one byte (property)', () => {
    fc.assert(
      fc.property(plainValue, fc.integer({ min: 0, max: 255 }), (v, extra) => {
        const b = packPlain(v);
        for (let cut = 0; cut < b.length; cut++) expect(refusal(b.subarray(0, cut))).not.toBeNull();
        expect(refusal(Buffer.concat([b, Buffer.of(extra)]))).toMatch(/trailing/);
      }),
      { numRuns: 100 },
    );
  });

  it('reads 0xC1 and 0xD4…0xD8 inside a bin as data, not as type bytes', () => {
    // {"data": bin(6) c1 c7 d4 d8 c1 c1}
    expect(refusal(hex('81 a4 64617461 c4 06 c1c7d4d8c1c1'))).toBeNull();
    expect(refusal(hex('81 a4 64617461 c1'))).toMatch(/0xc1/);
  });

  const BAD: [string, string, RegExp][] = [
    ['int map key', '81 01 c0', /map key is not a str/],
    ['bin map key spelling "nonce"', '81 c4 05 6e6f6e6365 01', /map key is not a str/],
    ['nil map key', '81 c0 01', /map key is not a str/],
    ['map key with invalid UTF-8 (lone 0xff)', '81 a2 6eff 01', /not valid UTF-8/],
    ['map key with an overlong encoding', '81 a2 c0af 01', /not valid UTF-8/],
    ['str value with a UTF-16 surrogate (ED A0 80)', '81 a4 686f7374 a3 eda080', /not valid UTF-8/],
    ['repeated key', '82 a5 6e6f6e6365 01 a5 6e6f6e6365 02', /appears twice/],
    ['ext 8', 'c7 01 05 00', /extension/],
    ['fixext 1 (timestamp family)', 'd4 ff 00', /extension/],
    ['array claiming more elements than present', '93 01 02', /truncated/],
    ['str 8 running past the end', 'd9 05 6162', /truncated/],
  ];
  for (const [what, h, msg] of BAD)
    it(`refuses ${what}`, () => {
      expect(refusal(hex(h))).toMatch(msg);
    });

  it('finds a repeated key in a map of any size, ASCII or not (small maps compare bytes, large ones use a set)', () => {
    // de 00 NN: map 16 of NN entries; keys k0…k(NN−1), each with the value nil
    const map = (keys: string[]) =>
      Buffer.concat([Buffer.of(0xde, 0, keys.length), ...keys.map((k) => Buffer.concat([Buffer.of(0xa0 | Buffer.byteLength(k)), Buffer.from(k), Buffer.of(0xc0)]))]);
    for (const size of [3, 16, 17, 40]) {
      const keys = Array.from({ length: size }, (_, i) => (i % 2 ? `k${i}` : `ключ${i}`));
      expect(refusal(map(keys))).toBeNull();
      for (const dup of ['k1', 'ключ0']) expect(refusal(map([...keys.slice(0, size - 1), dup]))).toMatch(new RegExp(`"${dup}" appears twice`));
    }
  });

  it(`accepts nesting of ${MAX_MSGPACK_DEPTH}, refuses ${MAX_MSGPACK_DEPTH + 1}`, () => {
    const nest = (d: number) => Buffer.concat([Buffer.alloc(d, 0x91), Buffer.of(0xc0)]);
    expect(refusal(nest(MAX_MSGPACK_DEPTH))).toBeNull();
    expect(refusal(nest(MAX_MSGPACK_DEPTH + 1))).toMatch(/deeper/);
  });

  it('a frame whose payload breaks a rule is MSGPACK_INVALID', () => {
    const frame = encodeRawFrame({ version: 1, flags: 0, type: OPERATIONS.Heartbeat.type, requestId: 3 }, hex('81 c4 05 6e6f6e6365 01'));
    let err: unknown;
    try {
      decodeFrame(frame);
    } catch (e) {
      err = e;
    }
    expect(err).toBeInstanceOf(SchemaError);
    expect((err as SchemaError).code).toBe(ErrorCode.MSGPACK_INVALID);
  });
});
