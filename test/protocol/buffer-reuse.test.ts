// Reused frame memory: a BulkChunk framed into a caller's buffer is byte-identical to a fresh
// one, and a decoder given back a large payload's memory decodes the next frames correctly into it
// (and ignores memory it did not lend).
import { describe, expect, it } from 'vitest';
import { FrameDecoder, encodeBulkChunkFrame, encodeFrame } from '../../src/protocol/index.ts';

const chunk = (seq: number, n: number) => ({ transferId: 7, seq, offset: seq * n, data: Uint8Array.from({ length: n }, (_, i) => (i * 31 + seq) & 0xff) });

const same = (a: Uint8Array, b: Uint8Array): boolean => Buffer.from(a.buffer, a.byteOffset, a.length).equals(b);

describe('frame buffer reuse', () => {
  it('a BulkChunk framed into a reused buffer has the bytes of encodeFrame, whatever the buffer held', () => {
    const slot = Buffer.alloc(70_000, 0xee);
    for (const n of [0, 1, 300, 40_000]) {
      const body = chunk(3, n);
      const fresh = encodeFrame({ kind: 'BulkChunkRequest', body }, 99);
      const reused = encodeBulkChunkFrame(body, 99, slot);
      expect(reused.equals(fresh)).toBe(true);
      expect(reused.buffer).toBe(slot.buffer);
    }
    // too small a buffer is not written to
    const small = Buffer.alloc(16, 0xee);
    expect(encodeBulkChunkFrame(chunk(1, 1000), 5, small).equals(encodeFrame({ kind: 'BulkChunkRequest', body: chunk(1, 1000) }, 5))).toBe(true);
    expect(small.every((b) => b === 0xee)).toBe(true);
  });

  it('recycled payload memory takes the next large frame, which decodes intact; foreign memory is ignored', () => {
    const dec = new FrameDecoder({ maxFrameBytes: 65535 });
    const n = 30_000;
    const [first] = dec.push(encodeFrame({ kind: 'BulkChunkRequest', body: chunk(0, n) }, 1));
    const data0 = (first.message.body as { data: Uint8Array }).data;
    expect(same(data0, chunk(0, n).data)).toBe(true);
    dec.recycle(new Uint8Array(65535)); // not the decoder's: ignored
    dec.recycle(data0);
    dec.recycle(data0); // twice: once counts
    const [second] = dec.push(encodeFrame({ kind: 'BulkChunkRequest', body: chunk(1, n) }, 2));
    const [third] = dec.push(encodeFrame({ kind: 'BulkChunkRequest', body: chunk(2, n) }, 3));
    const data1 = (second.message.body as { data: Uint8Array }).data;
    const data2 = (third.message.body as { data: Uint8Array }).data;
    // the second frame was already being assembled in fresh memory; the third took the recycled one
    expect(data1.buffer === data0.buffer).toBe(false);
    expect(data2.buffer === data0.buffer).toBe(true);
    expect(same(data1, chunk(1, n).data)).toBe(true);
    expect(same(data2, chunk(2, n).data)).toBe(true);
    expect(dec.counters.framesOk).toBe(3);
  });
});
