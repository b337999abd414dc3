// One CRC pass per side on byte links: crc32cCombine joins CRCs of adjacent pieces; a frame built
// with a piece's known CRC has the bytes of one built by reading it; the decoder's CRC of a
// BulkChunk's data (taken while checking the frame) is that data's CRC-32C.
import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { decodedDataCrc32c } from '../../src/protocol/decoder.ts';
import { FrameDecoder, crc32c, crc32cCombine, encodeBulkChunkFrame, encodeFrame, encodeFrameParts, maxChunkBytes } from '../../src/protocol/index.ts';

const CHUNK = maxChunkBytes(65_535);

const bytes = (max: number) => fc.uint8Array({ maxLength: max });

describe('CRC-32C combine', () => {
  it('crc(A ‖ B) from crc(A), crc(B) and |B|, any lengths (empty too) and continuations', () => {
    fc.assert(
      fc.property(bytes(3000), bytes(3000), bytes(300), (a, b, c) => {
        const ab = Buffer.concat([a, b]);
        expect(crc32cCombine(crc32c(a), crc32c(b), b.length)).toBe(crc32c(ab));
        // chained, as a tensor's CRC is built from its chunks'
        expect(crc32cCombine(crc32cCombine(crc32c(a), crc32c(b), b.length), crc32c(c), c.length)).toBe(crc32c(Buffer.concat([ab, c])));
      }),
      { numRuns: 300 },
    );
    expect(crc32cCombine(0, 0, 0)).toBe(0);
  });

  it('a frame built with known piece CRCs has the bytes of one whose pieces are read', () => {
    fc.assert(
      fc.property(bytes(64), bytes(5000), fc.nat(0xffffffff), (head, data, requestId) => {
        const header = { version: 1, flags: 0, type: 0x0021, requestId };
        const read = encodeFrameParts(header, [head, data]);
        expect(encodeFrameParts(header, [head, data], { partCrcs: [undefined, crc32c(data)] }).equals(read)).toBe(true);
        expect(encodeFrameParts(header, [head, data], { partCrcs: [crc32c(head), crc32c(data)] }).equals(read)).toBe(true);
      }),
      { numRuns: 200 },
    );
  });

  it('a BulkChunk framed with its data CRC is the encodeFrame frame; a wrong CRC makes a frame the decoder drops as damaged', () => {
    const data = Buffer.from(Array.from({ length: 70_000 }, (_, i) => (i * 7) & 0xff));
    const body = { transferId: 3, seq: 1, offset: CHUNK, data: data.subarray(0, CHUNK) };
    const good = encodeBulkChunkFrame(body, 9, undefined, crc32c(body.data));
    expect(good.equals(encodeFrame({ kind: 'BulkChunkRequest', body }, 9))).toBe(true);
    const dec = new FrameDecoder({ maxFrameBytes: 65_535 });
    expect(dec.push(encodeBulkChunkFrame(body, 9, undefined, crc32c(body.data) ^ 1))).toEqual([]);
    expect(dec.counters.badCrc).toBe(1);
  });
});

describe("the decoder's CRC of a BulkChunk's data", () => {
  it('equals crc32c(data) for every chunk size and id width; small frames (copied payloads) have none', () => {
    const dec = new FrameDecoder({ maxFrameBytes: 65_535 });
    fc.assert(
      fc.property(fc.integer({ min: 0, max: CHUNK }), fc.nat(0xffffffff), fc.nat(0xffffffff), (n, transferId, offset) => {
        const data = Buffer.alloc(n);
        for (let i = 0; i < n; i++) data[i] = (i * 31 + n) & 0xff;
        const [f] = dec.push(encodeFrame({ kind: 'BulkChunkRequest', body: { transferId, seq: 0, offset, data } }, 1));
        if (f.message.kind !== 'BulkChunkRequest') throw new Error('not a chunk');
        const got = decodedDataCrc32c(f.message.body.data);
        if (got !== undefined) expect(got).toBe(crc32c(data));
        // a frame this large always keeps its buffer, and so its data CRC
        if (n >= 65_535 / 8) expect(got).toBeDefined();
      }),
      { numRuns: 150 },
    );
    expect(decodedDataCrc32c(Buffer.alloc(10))).toBeUndefined();
  });
});
