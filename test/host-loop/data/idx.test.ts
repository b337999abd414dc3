import { describe, expect, it } from 'vitest';
import fc from 'fast-check';
import { gzipSync } from 'node:zlib';
import { DataFileError, encodeIdx, parseIdx } from '../../../src/host-loop/data/idx.ts';

function expectDataError(f: () => unknown, file: string, reason: RegExp): void {
  let err: unknown;
  try {
    f();
  } catch (e) {
    err = e;
  }
  expect(err).toBeInstanceOf(DataFileError);
  expect((err as DataFileError).file).toBe(file);
  expect((err as DataFileError).reason).toMatch(reason);
  expect((err as Error).message.startsWith(`${file}: `)).toBe(true);
}

describe('IDX codec', () => {
  it('encode → parse round-trips raw and gzipped arrays (property)', () => {
    const arb = fc.array(fc.integer({ min: 0, max: 6 }), { minLength: 1, maxLength: 4 }).chain((dims) =>
      fc.tuple(fc.constant(dims), fc.uint8Array({ minLength: dims.reduce((a, d) => a * d, 1), maxLength: dims.reduce((a, d) => a * d, 1) }), fc.boolean()),
    );
    fc.assert(
      fc.property(arb, ([dims, data, gz]) => {
        const r = parseIdx(encodeIdx(dims, data, gz), 't');
        expect(r.dims).toEqual(dims);
        expect(Array.from(r.data)).toEqual(Array.from(data));
      }),
      { numRuns: 300, seed: 1 },
    );
  });

  it('the header is big-endian 00 00 08 ndims then uint32 sizes', () => {
    const b = encodeIdx([2, 3], Uint8Array.of(1, 2, 3, 4, 5, 6));
    expect(Array.from(b)).toEqual([0, 0, 8, 2, 0, 0, 0, 2, 0, 0, 0, 3, 1, 2, 3, 4, 5, 6]);
  });

  const good = encodeIdx([3, 2, 2], Uint8Array.from({ length: 12 }, (_, i) => i));
  const mutate = (f: (b: Buffer) => Buffer) => f(Buffer.from(good));

  it('rejects a bad magic number', () => {
    expectDataError(() => parseIdx(mutate((b) => ((b[0] = 0x50), b)), 'a.idx'), 'a.idx', /bad magic number 50 00 08 03/);
    expectDataError(() => parseIdx(Buffer.from('PK\x03\x04 not idx'), 'x.zip'), 'x.zip', /bad magic number/);
  });

  it('rejects unsupported and unknown data types', () => {
    expectDataError(() => parseIdx(mutate((b) => ((b[2] = 0x0d), b)), 'f'), 'f', /unsupported IDX data type float32/);
    expectDataError(() => parseIdx(mutate((b) => ((b[2] = 0x42), b)), 'f'), 'f', /unknown IDX data type code 0x42/);
  });

  it('rejects truncated headers and data, trailing bytes and zero dimensions', () => {
    expectDataError(() => parseIdx(good.subarray(0, 3), 'f'), 'f', /too short for an IDX header \(3 bytes\)/);
    expectDataError(() => parseIdx(good.subarray(0, 10), 'f'), 'f', /truncated header: 3 dimensions need 16 bytes/);
    expectDataError(() => parseIdx(good.subarray(0, good.length - 1), 'f'), 'f', /truncated: dimensions 3×2×2 need 12 data bytes, file has 11/);
    expectDataError(() => parseIdx(Buffer.concat([good, Buffer.from([7])]), 'f'), 'f', /1 trailing bytes/);
    expectDataError(() => parseIdx(mutate((b) => ((b[3] = 0), b)), 'f'), 'f', /0 dimensions/);
  });

  it('rejects a header declaring more data than any file could hold', () => {
    const b = Buffer.from(encodeIdx([1, 1, 1], Uint8Array.of(1)));
    b.writeUInt32BE(0xffffffff, 4);
    b.writeUInt32BE(0xffffffff, 8);
    expectDataError(() => parseIdx(b, 'f'), 'f', /too large/);
  });

  it('rejects corrupt and truncated gzip streams, and detects gzip by content', () => {
    const gz = encodeIdx([3, 2, 2], good.subarray(16), true);
    expect(parseIdx(gz, 'no-extension').dims).toEqual([3, 2, 2]);
    expectDataError(() => parseIdx(gz.subarray(0, gz.length - 10), 'f.gz'), 'f.gz', /corrupt gzip data/);
    // a valid gzip of a truncated IDX is reported as truncated IDX
    expectDataError(() => parseIdx(gzipSync(good.subarray(0, 20)), 'g.gz'), 'g.gz', /truncated: .* need 12 data bytes, file has 4/);
  });
});
