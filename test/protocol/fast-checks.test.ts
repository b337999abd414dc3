// The hand-written body checks of the upload's hot messages (codec.ts FAST_BODY_CHECKS) agree
// with the zod schemas: whatever they accept, the schema accepts with the same parsed body, and
// they accept every valid body (so the schema's wording of errors is never bypassed).
import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { FAST_BODY_CHECKS } from '../../src/protocol/codec.ts';
import { kindInfo } from '../../src/protocol/registry.ts';
import type { MessageKind } from '../../src/protocol/registry.ts';

const u32 = fc.integer({ min: 0, max: 0xffffffff });
/** Values a field might hold, valid or not. */
const anyField = fc.oneof(
  u32,
  fc.integer({ min: -(2 ** 40), max: 2 ** 40 }),
  fc.double(),
  fc.constantFrom(-0, Number.NaN, Infinity, 2 ** 32, 0.5, '1', null, undefined, true, false, [], {}),
  fc.uint8Array({ maxLength: 8 }),
  fc.uint8Array({ maxLength: 8 }).map((a) => Buffer.from(a)),
);
const fieldsOf: Record<string, Record<string, fc.Arbitrary<unknown>>> = {
  BulkChunkRequest: { transferId: u32, seq: u32, offset: u32, data: fc.uint8Array({ maxLength: 64 }) },
  BulkChunkReply: { transferId: u32, seq: u32, received: u32 },
  BulkCommitRequest: { transferId: u32 },
  BulkCommitReply: { transferId: u32, bytes: u32, crc32c: u32 },
  BulkAbortRequest: { transferId: u32 },
  BulkAbortReply: { transferId: u32, discarded: fc.boolean() },
};

describe('fast body checks', () => {
  it('cover the kinds listed here, and no others', () => {
    expect(Object.keys(FAST_BODY_CHECKS).sort()).toEqual(Object.keys(fieldsOf).sort());
  });

  for (const [kind, fields] of Object.entries(fieldsOf)) {
    const fast = FAST_BODY_CHECKS[kind as MessageKind]!;
    const schema = kindInfo(kind as MessageKind).schema;
    it(`${kind}: accept every valid body, as the schema parses it (extra keys dropped)`, () => {
      fc.assert(
        fc.property(fc.record(fields), fc.dictionary(fc.string({ maxLength: 6 }), anyField, { maxKeys: 2 }), (body, extra) => {
          const b = { ...extra, ...body };
          const parsed = schema.safeParse(b);
          expect(parsed.success).toBe(true);
          const quick = fast(b);
          expect(quick).toEqual(parsed.data);
          expect(Object.keys(quick as object)).toEqual(Object.keys(parsed.data as object));
        }),
        { numRuns: 300, seed: 20261206 },
      );
    });

    it(`${kind}: never accept what the schema rejects (fields of any type, or missing)`, () => {
      const loose = Object.fromEntries(Object.keys(fields).map((k) => [k, fc.option(anyField, { nil: undefined })]));
      fc.assert(
        fc.property(fc.record(loose, { requiredKeys: [] }), (b) => {
          const parsed = schema.safeParse(b);
          const quick = fast(b as Record<string, unknown>);
          if (!parsed.success) expect(quick).toBeNull();
          else if (quick !== null) expect(quick).toEqual(parsed.data);
        }),
        { numRuns: 2000, seed: 20261206 },
      );
    });
  }
});
