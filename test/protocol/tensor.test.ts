import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import {
  ErrorCode,
  I16_MAX_CODE,
  SchemaError,
  ValueRangeError,
  quantizeI16,
  roundHalfAway,
  tensorFromFloat64,
  tensorToFloat64,
  tensorToI16Codes,
} from '../../src/protocol/index.ts';
import type { WireTensor } from '../../src/protocol/index.ts';

const finite = fc.double({ noNaN: true, noDefaultInfinity: true });

/** Same tensor with its bytes at an odd offset inside a larger buffer (as msgpackr returns bins). */
function unaligned(t: WireTensor): WireTensor {
  const big = Buffer.alloc(t.data.length + 3);
  big.set(t.data, 1);
  return { ...t, data: big.subarray(1, 1 + t.data.length) };
}

describe('wire tensors', () => {
  it('are little-endian on the wire', () => {
    expect(Buffer.from(tensorFromFloat64([1], [1], 'f32').data).toString('hex')).toBe('0000803f');
    expect(Buffer.from(tensorFromFloat64([1], [1], 'f64').data).toString('hex')).toBe('000000000000f03f');
    expect(Buffer.from(tensorFromFloat64([1, -1], [2], 'i16', { scale: 1 }).data).toString('hex')).toBe('0100ffff');
  });
  it('f64 round-trips bit-exactly (including -0 and subnormals), from unaligned views too', () => {
    fc.assert(
      fc.property(fc.array(finite, { maxLength: 50 }), (vals) => {
        const t = tensorFromFloat64(vals, [vals.length], 'f64');
        const back = tensorToFloat64(unaligned(t));
        expect(Array.from(back)).toEqual(vals);
      }),
      { numRuns: 200 },
    );
  });
  it('f32 equals Math.fround of each value', () => {
    fc.assert(
      fc.property(fc.array(fc.double({ min: -3e38, max: 3e38, noNaN: true }), { maxLength: 50 }), (vals) => {
        const back = tensorToFloat64(unaligned(tensorFromFloat64(vals, [vals.length], 'f32')));
        expect(Array.from(back)).toEqual(vals.map(Math.fround));
      }),
      { numRuns: 200 },
    );
  });
  it('i16: default full scale maps max |v| to ±32767; error ≤ scale/2 elsewhere', () => {
    fc.assert(
      fc.property(fc.array(fc.double({ min: -1e6, max: 1e6, noNaN: true }), { minLength: 1, maxLength: 60 }), (vals) => {
        const t = tensorFromFloat64(vals, [vals.length], 'i16');
        const codes = tensorToI16Codes(t);
        const back = tensorToFloat64(unaligned(t));
        const maxAbs = Math.max(...vals.map(Math.abs));
        if (maxAbs > 1e-300) expect(Math.max(...Array.from(codes, Math.abs))).toBe(I16_MAX_CODE);
        for (let i = 0; i < vals.length; i++) expect(Math.abs(back[i] - vals[i])).toBeLessThanOrEqual((t.scale as number) / 2 + 1e-9 * maxAbs);
      }),
      { numRuns: 200 },
    );
  });
  it('i16 rounds half away from zero and saturates at ±32767, counting saturations', () => {
    expect([2.5, -2.5, 0.5, -0.5, 0.49999999999999994, 1.5].map(roundHalfAway)).toEqual([3, -3, 1, -1, 0, 2]);
    const q = quantizeI16([0, 2.5, -2.5, 40000, -40000, 32767.4, -32767.6], { scale: 1 });
    expect(Array.from(q.codes)).toEqual([0, 3, -3, 32767, -32767, 32767, -32767]);
    expect(q.saturated).toBe(3);
    const fs = quantizeI16([0.5, -1, 2], { fullScale: 1 });
    expect(fs.scale).toBe(1 / 32767);
    expect(Array.from(fs.codes)).toEqual([16384, -32767, 32767]);
    expect(fs.saturated).toBe(1);
    expect(() => quantizeI16([NaN])).toThrow(ValueRangeError);
    // all zeros: scale falls back to 1/32767 (full scale 1), codes all 0
    expect(quantizeI16([0, 0]).scale).toBe(1 / 32767);
  });
  it('validates byte length, shape and scale with typed errors', () => {
    expect(() => tensorFromFloat64([1, 2, 3], [2, 2])).toThrow(ValueRangeError);
    const bad: WireTensor = { dtype: 'f32', shape: [3], order: 'le', data: Buffer.alloc(11) };
    try {
      tensorToFloat64(bad);
      expect.unreachable();
    } catch (e) {
      expect(e).toBeInstanceOf(SchemaError);
      expect((e as SchemaError).code).toBe(ErrorCode.TENSOR_INVALID);
    }
    expect(() => tensorToFloat64({ dtype: 'i16', shape: [1], order: 'le', data: Buffer.alloc(2) })).toThrow(SchemaError);
    expect(tensorToFloat64({ dtype: 'f64', shape: [0, 5], order: 'le', data: Buffer.alloc(0) })).toHaveLength(0);
  });
});
