import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { CRC32C_CHECK_VALUE, nativeCrc32c, cobsDecode, cobsEncode, cobsMaxEncodedLength, crc32c, crc32cPortable, loadNativeCrc32c } from '../../src/protocol/index.ts';

/** Bit-at-a-time reference CRC-32C (reflected poly 0x82F63B78), independent of the tables. */
function crc32cBitwise(bytes: Uint8Array): number {
  let c = 0xffffffff;
  for (const b of bytes) {
    c ^= b;
    for (let k = 0; k < 8; k++) c = c & 1 ? (c >>> 1) ^ 0x82f63b78 : c >>> 1;
  }
  return (c ^ 0xffffffff) >>> 0;
}

describe('CRC-32C: native package and portable fallback', () => {
  it('the native binary of @node-rs/crc32 is present on this platform (linux x64 CI)', () => {
    // A platform without a prebuilt binary falls back to JS; CI's does have one, so this pins that
    // the fast path really runs there.
    expect(nativeCrc32c()).not.toBeNull();
  });
  it('without the package or its binary the loader gives null and crc32c uses the portable JS', () => {
    expect(loadNativeCrc32c(() => { throw new Error("Cannot find module '@node-rs/crc32-linux-x64-gnu'"); })).toBeNull();
    expect(loadNativeCrc32c(() => ({}))).toBeNull();
    // a binary that computes something else (wrong polynomial) is refused by the check value
    expect(loadNativeCrc32c(() => ({ crc32c: () => 0xcbf43926 }))).toBeNull();
  });
  it('native and portable give the same value on every length, offset and continuation', () => {
    const native = nativeCrc32c()!;
    fc.assert(
      fc.property(fc.uint8Array({ minLength: 0, maxLength: 5000 }), fc.nat(), fc.nat(), fc.integer({ min: 0, max: 0xffffffff }), (bytes, a, b, prev) => {
        const i = bytes.length ? a % (bytes.length + 1) : 0;
        const j = i + (bytes.length - i ? b % (bytes.length - i + 1) : 0);
        const view = bytes.subarray(i, j);
        expect(native(view, prev)).toBe(crc32cPortable(view, prev));
        expect(crc32c(bytes, prev, i, j)).toBe(crc32cPortable(bytes, prev, i, j));
        expect(crc32cPortable(view)).toBe(crc32cBitwise(view));
      }),
      { numRuns: 200 },
    );
    const big = Uint8Array.from({ length: 1 << 20 }, (_, k) => (k * 2654435761) >>> 24);
    expect(crc32c(big)).toBe(crc32cPortable(big));
    expect(crc32c(big, 0, 3, big.length - 5)).toBe(crc32cPortable(big, 0, 3, big.length - 5));
  });
});

describe('CRC-32C (CRC-32/ISCSI)', () => {
  it('check value over ASCII "123456789" is 0xE3069283', () => {
    expect(CRC32C_CHECK_VALUE).toBe(0xe3069283);
    expect(crc32c(Buffer.from('123456789', 'ascii'))).toBe(0xe3069283);
  });
  it('matches the RFC 3720 §B.4 iSCSI test vectors', () => {
    const inc = Uint8Array.from({ length: 32 }, (_, i) => i);
    const dec = Uint8Array.from({ length: 32 }, (_, i) => 31 - i);
    expect(crc32c(new Uint8Array(32))).toBe(0x8a9136aa);
    expect(crc32c(new Uint8Array(32).fill(0xff))).toBe(0x62a8ab43);
    expect(crc32c(inc)).toBe(0x46dd794e);
    expect(crc32c(dec)).toBe(0x113fdb5c);
  });
  it('slicing-by-8 equals the bitwise reference, for any split into two calls', () => {
    fc.assert(
      fc.property(fc.uint8Array({ maxLength: 300 }), fc.nat(), (bytes, cut) => {
        const k = bytes.length ? cut % (bytes.length + 1) : 0;
        const ref = crc32cBitwise(bytes);
        expect(crc32c(bytes)).toBe(ref);
        expect(crc32c(bytes.subarray(k), crc32c(bytes.subarray(0, k)))).toBe(ref);
        expect(crc32c(bytes, 0, 0, k)).toBe(crc32cBitwise(bytes.subarray(0, k)));
      }),
      { numRuns: 300 },
    );
  });
  it('detects every single-bit error in a 64-byte message (512 flips)', () => {
    const msg = Uint8Array.from({ length: 64 }, (_, i) => (i * 37 + 11) & 0xff);
    const c = crc32c(msg);
    let detected = 0;
    for (let bit = 0; bit < 512; bit++) {
      const m = Uint8Array.from(msg);
      m[bit >> 3] ^= 1 << (bit & 7);
      if (crc32c(m) !== c) detected++;
    }
    expect(detected).toBe(512);
  });
});

describe('COBS', () => {
  const hex = (s: string) => Buffer.from(s.replace(/ /g, ''), 'hex');
  it('encodes the published examples', () => {
    expect(cobsEncode(hex('00')).toString('hex')).toBe('0101');
    expect(cobsEncode(hex('0000')).toString('hex')).toBe('010101');
    expect(cobsEncode(hex('00 11 00')).toString('hex')).toBe('01021101');
    expect(cobsEncode(hex('11 22 00 33')).toString('hex')).toBe('0311220233');
    expect(cobsEncode(hex('11 22 33 44')).toString('hex')).toBe('0511223344');
    expect(cobsEncode(hex('11 00 00 00')).toString('hex')).toBe('0211010101');
    const run254 = Uint8Array.from({ length: 254 }, (_, i) => i + 1);
    expect(cobsEncode(run254).toString('hex')).toBe(`ff${Buffer.from(run254).toString('hex')}`);
    const run255 = Uint8Array.from({ length: 255 }, (_, i) => i + 1);
    expect(cobsEncode(run255).toString('hex')).toBe(`ff${Buffer.from(run254).toString('hex')}02ff`);
    expect(cobsEncode(new Uint8Array(0)).toString('hex')).toBe('01');
  });
  it('decodes a trailing empty block after a full block (other encoders emit it)', () => {
    const run254 = Uint8Array.from({ length: 254 }, (_, i) => i + 1);
    expect(cobsDecode(Buffer.concat([Buffer.from([0xff]), run254, Buffer.from([0x01])]))?.equals(Buffer.from(run254))).toBe(true);
  });
  it('round-trips, never emits 0x00 and stays within n + ⌊n/254⌋ + 1 bytes', () => {
    const bytes = fc.oneof(fc.uint8Array({ maxLength: 1200 }), fc.uint8Array({ maxLength: 600 }).map((a) => a.map((x) => (x < 200 ? x + 1 : 0))));
    fc.assert(
      fc.property(bytes, (src) => {
        const enc = cobsEncode(src);
        expect(enc.includes(0)).toBe(false);
        expect(enc.length).toBeLessThanOrEqual(cobsMaxEncodedLength(src.length));
        expect(cobsDecode(enc)?.equals(Buffer.from(src))).toBe(true);
      }),
      { numRuns: 400 },
    );
  });
  it('rejects a block that runs past the end or contains 0x00', () => {
    expect(cobsDecode(hex('05 11 22'))).toBeNull();
    expect(cobsDecode(hex('03 11 00'))).toBeNull();
    expect(cobsDecode(hex('00'))).toBeNull();
  });
});

describe('COBS over parts (frames built without an inner buffer)', () => {
  it('equals a textbook byte-at-a-time encoder, at any offset into a dirty buffer, and the streaming decoder undoes it in any pieces', async () => {
    const { FrameDecoder, cobsEncodeInto, encodeFrame } = await import('../../src/protocol/index.ts');
    /** Cheshire & Baker, one byte at a time; no empty block after a final full block. */
    const reference = (src: Uint8Array): Buffer => {
      const out: number[] = [0];
      let codeAt = 0;
      let code = 1;
      for (let i = 0; i < src.length; i++) {
        if (src[i] === 0) {
          out[codeAt] = code;
          codeAt = out.length;
          out.push(0);
          code = 1;
          continue;
        }
        out.push(src[i]);
        code++;
        if (code === 0xff) {
          out[codeAt] = code;
          if (i === src.length - 1) return Buffer.from(out);
          codeAt = out.length;
          out.push(0);
          code = 1;
        }
      }
      out[codeAt] = code;
      return Buffer.from(out);
    };
    // zero-free runs of 253…255 and 507…509 bytes (block edges), zero-dense data, plain random
    const edgeRun = fc.constantFrom(1, 253, 254, 255, 507, 508, 509).chain((n) => fc.uint8Array({ minLength: n, maxLength: n }).map((b) => b.map((x) => x | 1)));
    const bytes = fc.oneof(
      fc.uint8Array({ maxLength: 700 }),
      fc.array(fc.oneof(edgeRun, fc.constant(new Uint8Array(1))), { maxLength: 6 }).map((runs) => Uint8Array.from(runs.flatMap((r) => [...r]))),
      fc.uint8Array({ maxLength: 900 }).map((b) => b.map((x) => (x % 5 < 3 ? 0 : x))),
    );
    fc.assert(
      fc.property(bytes, fc.nat({ max: 40 }), fc.array(fc.nat(), { maxLength: 4 }), (src, offset, cuts) => {
        const want = reference(src);
        const dst = new Uint8Array(offset + cobsMaxEncodedLength(src.length) + 8).fill(0xa5);
        const n = cobsEncodeInto(src, dst, offset);
        expect(Buffer.from(dst.subarray(offset, offset + n)).equals(want)).toBe(true);
        expect(dst.subarray(0, offset).every((x) => x === 0xa5)).toBe(true); // nothing before the offset touched
        // the streaming decoder (in-place COBS), fed a frame carrying src in any pieces
        const frame = encodeFrame({ kind: 'BulkChunkRequest', body: { transferId: 1, seq: 0, offset: 0, data: src } }, 7);
        const dec = new FrameDecoder({ maxFrameBytes: 4096 });
        const at = [...new Set(cuts.map((c) => c % frame.length))].sort((x, y) => x - y);
        const got = [];
        let prev = 0;
        for (const c of [...at, frame.length]) {
          got.push(...dec.push(frame.subarray(prev, c)));
          prev = c;
        }
        expect(got.length).toBe(1);
        const m = got[0].message;
        expect(m.kind === 'BulkChunkRequest' && Buffer.from(m.body.data).equals(Buffer.from(src))).toBe(true);
      }),
      { numRuns: 600, seed: 20261206 },
    );
  });

  it('cobsEncodePartsInto over any split equals cobsEncode of the concatenation', async () => {
    const { cobsEncodePartsInto } = await import('../../src/protocol/index.ts');
    // zero-dense and zero-free runs around the 254-byte block edge
    const bytes = fc.oneof(fc.uint8Array({ maxLength: 800 }), fc.uint8Array({ minLength: 250, maxLength: 1100 }).map((b) => b.map((x) => (x % 3 === 0 ? 0 : x))), fc.uint8Array({ minLength: 250, maxLength: 1100 }).map((b) => b.map((x) => x | 1)));
    fc.assert(
      fc.property(bytes, fc.array(fc.nat(), { maxLength: 5 }), (b, cuts) => {
        const at = [...new Set(cuts.map((c) => (b.length ? c % (b.length + 1) : 0)))].sort((x, y) => x - y);
        const parts: Uint8Array[] = [];
        let prev = 0;
        for (const c of [...at, b.length]) {
          parts.push(b.subarray(prev, c));
          prev = c;
        }
        const dst = new Uint8Array(cobsMaxEncodedLength(b.length));
        const n = cobsEncodePartsInto(parts, dst);
        expect(Buffer.from(dst.subarray(0, n)).equals(cobsEncode(b))).toBe(true);
      }),
      { numRuns: 400 },
    );
  });
});
