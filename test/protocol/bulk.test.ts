import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import {
  FrameDecoder,
  MIN_MAX_FRAME_BYTES,
  crc32c,
  crc32cOfChunks,
  encodeFrame,
  fitsInline,
  maxChunkBytes,
  planChunks,
  planElementReads,
  tensorCrc32c,
  tensorFromFloat64,
} from '../../src/protocol/index.ts';

const U32 = 0xffffffff;
const LIMITS = [MIN_MAX_FRAME_BYTES, 1000, 4096, 16384, 65535];

describe('bulk transfer helpers', () => {
  it('planChunks tiles [0, total) in order with seq from 0 and only the last chunk short', () => {
    fc.assert(
      fc.property(fc.integer({ min: 0, max: 100_000 }), fc.integer({ min: 1, max: 70_000 }), (total, chunk) => {
        const plan = planChunks(total, chunk);
        expect(plan.length).toBe(Math.ceil(total / chunk));
        let next = 0;
        let bad = -1;
        plan.forEach((c, i) => {
          if (c.seq !== i || c.offset !== next || c.length !== (i < plan.length - 1 ? chunk : total - next)) bad = i;
          next += c.length;
        });
        expect(bad).toBe(-1);
        expect(next).toBe(total);
      }),
    );
  });

  it('a BulkChunk of maxChunkBytes(limit) with worst-case ids fits the limit, with < 1% + 80 B slack', () => {
    for (const limit of LIMITS) {
      const n = maxChunkBytes(limit);
      const frame = encodeFrame({ kind: 'BulkChunkRequest', body: { transferId: U32, seq: U32, offset: U32, data: Buffer.alloc(n, 0xff) } }, U32);
      expect(frame.length - 1, `limit ${limit}`).toBeLessThanOrEqual(limit);
      expect(n).toBeGreaterThan(limit * 0.99 - 80);
      const dec = new FrameDecoder({ maxFrameBytes: limit });
      expect(dec.push(frame)).toHaveLength(1);
    }
  });

  it('ResultsRead replies planned by planElementReads fit the host limit', () => {
    for (const limit of LIMITS)
      for (const dtype of ['f64', 'f32'] as const) {
        const plan = planElementReads(100_000, dtype, limit);
        expect(plan.reduce((a, p) => a + p.count, 0)).toBe(100_000);
        const p = plan[0];
        const frame = encodeFrame(
          { kind: 'ResultsReadReply', body: { runId: U32, field: 'final', offset: U32, n: U32, data: tensorFromFloat64(new Float64Array(p.count).fill(Math.PI), [p.count], dtype) } },
          U32,
        );
        expect(frame.length - 1, `${dtype} @ ${limit}`).toBeLessThanOrEqual(limit);
      }
  });

  it('a 64 KiB tensor sent as chunks in any order reassembles by offset to the same bytes and CRC', () => {
    const values = Float64Array.from({ length: 8192 }, (_, i) => Math.sin(i) * 1e3);
    const t = tensorFromFloat64(values, [64, 128], 'f64');
    const chunk = maxChunkBytes(4096);
    const plan = planChunks(t.data.length, chunk);
    const whole = tensorCrc32c(t);
    expect(crc32cOfChunks(plan.map((c) => t.data.subarray(c.offset, c.offset + c.length)))).toBe(whole);
    fc.assert(
      fc.property(fc.shuffledSubarray(plan, { minLength: plan.length, maxLength: plan.length }), (order) => {
        const wire = Buffer.concat(order.map((c) => encodeFrame({ kind: 'BulkChunkRequest', body: { transferId: 1, seq: c.seq, offset: c.offset, data: t.data.subarray(c.offset, c.offset + c.length) } }, 10 + c.seq)));
        const staging = Buffer.alloc(t.data.length);
        for (const f of new FrameDecoder({ maxFrameBytes: 4096 }).push(wire)) {
          if (f.message.kind !== 'BulkChunkRequest') throw new Error('unexpected');
          staging.set(f.message.body.data, f.message.body.offset);
        }
        expect(crc32c(staging)).toBe(whole);
        expect(staging.equals(Buffer.from(t.data))).toBe(true);
      }),
      { numRuns: 10 },
    );
  });
});

describe('inline versus bulk', () => {
  it('fitsInline admits a Gradient tensor only when its frame fits the limit', () => {
    for (const limit of LIMITS) {
      // largest f32 vector said to fit, and one element more
      let n = 0;
      while (fitsInline((n + 1) * 4, limit)) n++;
      const frame = encodeFrame({ kind: 'GradientRequest', body: { g: tensorFromFloat64(new Float64Array(n).fill(1.5), [n], 'f32') } }, U32);
      expect(frame.length - 1, `limit ${limit}`).toBeLessThanOrEqual(limit);
      expect(fitsInline((n + 1) * 4, limit)).toBe(false);
      expect(n * 4).toBeGreaterThan(limit * 0.9 - 400);
    }
  });
});

describe('BulkChunk frames built by hand', () => {
  it('encodeBulkChunkFrame gives the bytes of encodeFrame for any ids, offsets and data', async () => {
    const { encodeBulkChunkFrame, encodeFrame: enc } = await import('../../src/protocol/index.ts');
    const { default: fcx } = await import('fast-check');
    const u32 = fcx.oneof(fcx.integer({ min: 0, max: 300 }), fcx.integer({ min: 0, max: 70_000 }), fcx.integer({ min: 0, max: 0xffffffff }));
    fcx.assert(
      fcx.property(u32, u32, u32, u32, fcx.oneof(fcx.uint8Array({ maxLength: 300 }), fcx.uint8Array({ minLength: 60_000, maxLength: 70_000 })), (id, transferId, seq, offset, data) => {
        const body = { transferId, seq, offset, data };
        expect(encodeBulkChunkFrame(body, id).equals(enc({ kind: 'BulkChunkRequest', body }, id))).toBe(true);
      }),
      { numRuns: 150 },
    );
    expect(() => encodeBulkChunkFrame({ transferId: -1, seq: 0, offset: 0, data: new Uint8Array(1) }, 1)).toThrow(/transferId: expected a u32/);
  });
});
