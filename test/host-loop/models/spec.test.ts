import { describe, expect, it } from 'vitest';
import fc from 'fast-check';
import { countParams, formatModelSpec, ModelSpecError, parseModelSpec } from '../../../src/host-loop/models/spec.ts';
import { createModel } from '../../../src/host-loop/models/model.ts';

describe('model spec', () => {
  it.each([
    ['softmax:196-10', 196 * 10 + 10, 196, 10],
    ['mlp:196-32-10:relu', 196 * 32 + 32 + 32 * 10 + 10, 196, 10],
    ['mlp:196-32-10', 6634, 196, 10],
    ['mlp:784-64-32-10:tanh', 784 * 64 + 64 + 64 * 32 + 32 + 330, 784, 10],
    // 14×14 → 7×7×4 with pad 1, stride 2
    ['conv:14x14x1-c4k3s2-32-10', 4 * 10 + 196 * 32 + 32 + 330, 196, 10],
    // valid padding: 14 → 12 (k3 s1 p0) → 6 (k2 s2 p0: ⌊(12−2)/2⌋+1), so 6×6×2 = 72 inputs to the dense layer
    ['conv:14x14x1-c3k3s1p0-c2k2s2p0-10', 3 * 10 + 2 * 13 + 72 * 10 + 10, 196, 10],
  ])('%s has %i parameters', (spec, n, din, dout) => {
    const ms = parseModelSpec(spec);
    expect(countParams(ms)).toBe(n);
    const m = createModel(spec);
    expect([m.numParams, m.inputDim, m.outputDim]).toEqual([n, din, dout]);
  });

  it.each([
    ['', /empty spec/],
    ['lstm:3-4', /unknown model kind 'lstm'/],
    ['mlp', /expected/],
    ['mlp:196', /at least an input and an output/],
    ['mlp:196-0-10', /layer width 0 is out of range/],
    ['mlp:196-3.5-10', /'3.5' is not a positive integer/],
    ['mlp:196--10', /empty layer/],
    ['mlp:196-32-10:sigmoid', /unknown activation 'sigmoid'/],
    ['softmax:196-32-10', /exactly IN-OUT/],
    ['softmax:196-10:relu', /no activation/],
    ['conv:14x14-c4k3s2-10', /must be HxWxC/],
    ['conv:14x14x1-10', /at least one conv layer/],
    ['conv:14x14x1-c4k3s2', /output width after the conv layers/],
    ['conv:14x14x1-c4k3-10', /must be cCkKsS\[pP\]/],
    ['conv:3x3x1-c2k5s1p0-10', /does not fit its 3x3 input/],
    ['conv:8x8x1-c2k3s1p3-10', /padding 3 .* smaller than the kernel 3/],
    ['mlp:100000-100000-10', /exceed the limit/],
  ])('rejects %j with a clear message', (spec, msg) => {
    let err: unknown;
    try {
      parseModelSpec(spec);
    } catch (e) {
      err = e;
    }
    expect(err).toBeInstanceOf(ModelSpecError);
    expect((err as Error).message).toMatch(msg);
    expect((err as Error).message).toContain(`'${spec}'`);
  });

  it('format ∘ parse is the identity on canonical specs (property)', () => {
    const width = fc.integer({ min: 1, max: 300 });
    const arb = fc.oneof(
      fc.tuple(width, width).map(([a, b]) => `softmax:${a}-${b}`),
      fc.tuple(fc.array(width, { minLength: 2, maxLength: 5 }), fc.constantFrom('relu', 'tanh')).map(([w, a]) => `mlp:${w.join('-')}:${a}`),
      fc
        .tuple(fc.integer({ min: 3, max: 20 }), fc.integer({ min: 3, max: 20 }), fc.integer({ min: 1, max: 3 }), fc.integer({ min: 1, max: 8 }), fc.integer({ min: 1, max: 3 }), fc.integer({ min: 1, max: 3 }), fc.array(width, { minLength: 1, maxLength: 3 }))
        .map(([h, w, c, ch, k, s, d]) => `conv:${h}x${w}x${c}-c${ch}k${k}s${s}p${Math.floor(k / 2)}-${d.join('-')}:relu`),
    );
    fc.assert(
      fc.property(arb, (spec) => {
        const ms = parseModelSpec(spec);
        expect(formatModelSpec(ms)).toBe(spec);
        expect(parseModelSpec(formatModelSpec(ms))).toEqual(ms);
      }),
      { numRuns: 300, seed: 42 },
    );
  });

  it('arbitrary strings either parse or fail with ModelSpecError (property)', () => {
    const chars = fc.constantFrom(...'mlpsoftmaxconvreluthc:-x0123456789 '.split(''));
    fc.assert(
      fc.property(fc.oneof(fc.string(), fc.string({ unit: chars, maxLength: 30 })), (s) => {
        try {
          const ms = parseModelSpec(s);
          expect(countParams(ms)).toBeGreaterThan(0);
        } catch (e) {
          expect(e).toBeInstanceOf(ModelSpecError);
        }
      }),
      { numRuns: 2000, seed: 7 },
    );
  });
});
