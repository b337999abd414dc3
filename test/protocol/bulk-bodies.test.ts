// The hand-written MessagePack of BulkChunk requests and replies (bulk-bodies.ts): written, it is
// msgpackr's canonical encoding byte for byte; read, it gives the general path's body, and on any
// other bytes it either gives that same body or steps aside (null) for the general path, which
// keeps every error it would report.
import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import {
  BULK_CHUNK_HEAD_MAX_BYTES,
  packBulkChunkReply,
  readBulkChunkReply,
  readBulkChunkRequest,
  writeBulkChunkHead,
} from '../../src/protocol/bulk-bodies.ts';
import { FAST_BODY_CHECKS } from '../../src/protocol/codec.ts';
import { packPlain, unpackPlain } from '../../src/protocol/msgpack.ts';
import { kindInfo } from '../../src/protocol/registry.ts';

const u32 = fc.oneof(fc.integer({ min: 0, max: 300 }), fc.integer({ min: 60_000, max: 70_000 }), fc.integer({ min: 0, max: 0xffffffff }));
const request = fc.record({ transferId: u32, seq: u32, offset: u32, data: fc.oneof({ arbitrary: fc.uint8Array({ maxLength: 300 }), weight: 9 }, { arbitrary: fc.integer({ min: 0, max: 70_000 }).map((n) => new Uint8Array(n).fill(7)), weight: 1 }) });
const reply = fc.record({ transferId: u32, seq: u32, received: u32 });

/** The general path's body: msgpackr + plain check + the schema (null where it refuses). */
function general(kind: 'BulkChunkRequest' | 'BulkChunkReply', payload: Uint8Array): unknown {
  let raw: unknown;
  try {
    raw = unpackPlain(payload);
  } catch {
    return null;
  }
  const parsed = kindInfo(kind).schema.safeParse(raw);
  return parsed.success ? parsed.data : null;
}

const packRequest = (b: { transferId: number; seq: number; offset: number; data: Uint8Array }): Buffer => {
  const head = Buffer.alloc(BULK_CHUNK_HEAD_MAX_BYTES);
  const n = writeBulkChunkHead(head, b, b.data.length);
  return Buffer.concat([head.subarray(0, n), b.data]);
};

/** A byte flipped, a byte dropped, a byte added, or the payload cut short. */
const mutated = (payload: Buffer) =>
  fc.oneof(
    fc.tuple(fc.nat(payload.length - 1), fc.integer({ min: 0, max: 255 })).map(([i, v]) => Buffer.concat([payload.subarray(0, i), Buffer.of(v), payload.subarray(i + 1)])),
    fc.nat(payload.length - 1).map((i) => Buffer.concat([payload.subarray(0, i), payload.subarray(i + 1)])),
    fc.tuple(fc.nat(payload.length), fc.integer({ min: 0, max: 255 })).map(([i, v]) => Buffer.concat([payload.subarray(0, i), Buffer.of(v), payload.subarray(i)])),
    fc.nat(payload.length).map((i) => payload.subarray(0, i)),
  );

describe('BulkChunk bodies by hand', () => {
  it('written: the bytes msgpackr gives the same body (request head + data, reply)', () => {
    fc.assert(
      fc.property(request, reply, (q, r) => {
        expect(packRequest(q).equals(packPlain(FAST_BODY_CHECKS.BulkChunkRequest!(q)))).toBe(true);
        expect(packBulkChunkReply(r).equals(packPlain(FAST_BODY_CHECKS.BulkChunkReply!(r)))).toBe(true);
      }),
      { numRuns: 500 },
    );
  });

  it('read: the body of the general path, data a view of the payload', () => {
    fc.assert(
      fc.property(request, reply, (q, r) => {
        const pq = packRequest(q);
        const got = readBulkChunkRequest(pq)!;
        expect(got).toEqual(general('BulkChunkRequest', pq));
        expect(got.data.buffer).toBe(pq.buffer);
        expect(readBulkChunkReply(packBulkChunkReply(r))).toEqual(general('BulkChunkReply', packBulkChunkReply(r)));
      }),
      { numRuns: 200 },
    );
  });

  it('damaged or non-canonical bytes: the same body as the general path, or null (never a body it would refuse)', () => {
    const requestCase = request.chain((q) => mutated(packRequest(q)));
    const replyCase = reply.chain((r) => mutated(packBulkChunkReply(r)));
    let stepsAside = 0;
    fc.assert(
      fc.property(requestCase, replyCase, (pq, pr) => {
        const q = readBulkChunkRequest(pq);
        const r = readBulkChunkReply(pr);
        if (q) expect(q).toEqual(general('BulkChunkRequest', pq));
        else stepsAside++;
        if (r) expect(r).toEqual(general('BulkChunkReply', pr));
      }),
      { numRuns: 1000 },
    );
    expect(stepsAside).toBeGreaterThan(50);
  });

  it('other legal encodings step aside and still decode on the general path', () => {
    // keys out of schema order, an int wider than it needs, a map with a fifth key
    const reordered = packPlain({ seq: 1, transferId: 2, offset: 0, data: new Uint8Array(3) });
    const wide = Buffer.from(packBulkChunkReply({ transferId: 5, seq: 0, received: 9 }));
    const w = Buffer.concat([wide.subarray(0, 12), Buffer.of(0xcc, 5), wide.subarray(13)]); // transferId as 0xcc 0x05
    const extra = packPlain({ transferId: 2, seq: 1, offset: 0, data: new Uint8Array(3), more: 1 });
    expect(readBulkChunkRequest(reordered)).toBeNull();
    expect(general('BulkChunkRequest', reordered)).toEqual({ transferId: 2, seq: 1, offset: 0, data: Buffer.alloc(3) });
    expect(readBulkChunkReply(w)).toBeNull();
    expect(general('BulkChunkReply', w)).toEqual({ transferId: 5, seq: 0, received: 9 });
    expect(readBulkChunkRequest(extra)).toBeNull();
  });
});
