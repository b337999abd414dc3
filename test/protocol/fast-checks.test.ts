// The hand-written body checks of the hot messages (fast-checks.ts FAST_BODY_CHECKS) agree with
// the zod schemas: whatever they accept, the schema accepts with the same parsed body, and they
// accept every valid body (so the schema's wording of errors is never bypassed).
import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { FAST_BODY_CHECKS } from '../../src/protocol/codec.ts';
import { kindInfo } from '../../src/protocol/registry.ts';
import type { MessageKind } from '../../src/protocol/registry.ts';
import { RESULT_FLAGS } from '../../src/protocol/schemas.ts';

const u32 = fc.integer({ min: 0, max: 0xffffffff });
const u32min1 = fc.integer({ min: 1, max: 0xffffffff });
const pos = fc.double({ min: Number.MIN_VALUE, max: 1e300, noNaN: true });
const nonNeg = fc.oneof(fc.constant(0), pos);
/** Values a field might hold, valid or not. */
const anyField = fc.oneof(
  u32,
  fc.integer({ min: -(2 ** 40), max: 2 ** 40 }),
  fc.double(),
  fc.constantFrom(-0, Number.NaN, Infinity, 2 ** 32, 0.5, '1', 'f64', 'le', 'dense', 'carry', 'mean', null, undefined, true, false, [], {}, [0], ['diverged']),
  fc.uint8Array({ maxLength: 8 }),
  fc.uint8Array({ maxLength: 8 }).map((a) => Buffer.from(a)),
);

const ITEM = { f64: 8, f32: 4, i16: 2 } as const;
/** A valid inline tensor (data length matching dtype × shape; i16 with a scale). */
const tensor = fc
  .record({ dtype: fc.constantFrom('f64', 'f32', 'i16'), shape: fc.array(fc.integer({ min: 0, max: 3 }), { minLength: 1, maxLength: 4 }), scale: fc.option(pos, { nil: undefined }) })
  .map(({ dtype, shape, scale }) => {
    const t: Record<string, unknown> = { dtype, shape, order: 'le', data: new Uint8Array(shape.reduce((a, b) => a * b, 1) * ITEM[dtype]) };
    if (scale !== undefined || dtype === 'i16') t.scale = scale ?? 0.5;
    return t;
  });
const tensorOrRef = fc.oneof(tensor, fc.record({ ref: u32 }));
const core = fc.oneof(
  fc.constant({ kind: 'identity' }),
  fc.record({ kind: fc.constant('diagonal'), d: tensorOrRef }),
  fc.record({ kind: fc.constant('block'), dz: u32min1, blocks: tensorOrRef }),
  fc.record({ kind: fc.constant('dense'), h: tensorOrRef }),
);
const layer = fc.oneof(fc.record({ kind: fc.constant('explicit'), j: tensorOrRef }), fc.record({ kind: fc.constant('dense'), bias: fc.boolean(), a: tensorOrRef, d: tensorOrRef }));
const flags = fc.uniqueArray(fc.constantFrom(...RESULT_FLAGS), { maxLength: 3 });

/** Valid bodies of every kind with a fast check. */
const bodiesOf: Record<string, fc.Arbitrary<Record<string, unknown>>> = {
  BulkChunkRequest: fc.record({ transferId: u32, seq: u32, offset: u32, data: fc.uint8Array({ maxLength: 64 }) }),
  BulkChunkReply: fc.record({ transferId: u32, seq: u32, received: u32 }),
  BulkCommitRequest: fc.record({ transferId: u32 }),
  BulkCommitReply: fc.record({ transferId: u32, bytes: u32, crc32c: u32 }),
  BulkAbortRequest: fc.record({ transferId: u32 }),
  BulkAbortReply: fc.record({ transferId: u32, discarded: fc.boolean() }),
  CurvatureRequest: fc.oneof(
    fc.record({ form: fc.constant('dense'), a: tensorOrRef, lambda: nonNeg }),
    fc.record({ form: fc.constant('factored'), j: tensorOrRef, core, scale: pos, lambda: nonNeg }),
    fc.record({ form: fc.constant('layered'), n: u32min1, r: u32min1, b: u32min1, layers: fc.array(layer, { minLength: 1, maxLength: 3 }), core, scale: pos, lambda: nonNeg }),
  ),
  CurvatureReply: fc.record({ n: u32, r: u32, curvatureId: u32 }),
  GradientRequest: fc.record({ g: tensorOrRef }),
  GradientReply: fc.record({ n: u32 }),
  StateSetRequest: fc.record({ x: tensorOrRef }),
  StateSetReply: fc.record({ n: u32 }),
  RunRequest: fc.record(
    { durationTau: pos, start: fc.constantFrom('carry', 'reset', 'gradient'), delayTau: fc.option(nonNeg, { nil: undefined }), streamSamples: fc.option(fc.boolean(), { nil: undefined }) },
    { requiredKeys: ['durationTau', 'start'] },
  ),
  RunReply: fc.record({ runId: u32, analogTimeTau: nonNeg, sampleCount: u32, flags, runIndex: fc.option(u32, { nil: undefined }) }, { requiredKeys: ['runId', 'analogTimeTau', 'sampleCount', 'flags'] }),
  ResultsRequest: fc.record({ vectors: fc.constantFrom('none', 'mean', 'final', 'both'), dtype: fc.constantFrom('f64', 'f32') }),
  ResultsReply: fc.record(
    { runId: u32, n: u32, sampleCount: u32, analogTimeTau: nonNeg, saturationCount: u32, clipCount: u32, flags, mean: fc.option(tensor, { nil: undefined }), final: fc.option(tensor, { nil: undefined }) },
    { requiredKeys: ['runId', 'n', 'sampleCount', 'analogTimeTau', 'saturationCount', 'clipCount', 'flags'] },
  ),
};

/** Every path into a body's objects and arrays (not into byte arrays). */
function paths(v: unknown, at: (string | number)[] = []): (string | number)[][] {
  if (v === null || typeof v !== 'object' || v instanceof Uint8Array) return [];
  const out: (string | number)[][] = [];
  for (const k of Object.keys(v)) {
    const p = [...at, Array.isArray(v) ? Number(k) : k];
    out.push(p, ...paths((v as Record<string, unknown>)[k], p));
  }
  return out;
}

/** A deep copy of `body` with the value at `path` replaced (or the key deleted when `value` is the marker). */
const DELETE = Symbol('delete');
function mutate(body: unknown, path: (string | number)[], value: unknown): unknown {
  if (path.length === 0) return value;
  const copy = (Array.isArray(body) ? [...body] : { ...(body as object) }) as Record<string | number, unknown>;
  const [k, ...rest] = path;
  if (rest.length === 0 && value === DELETE) delete copy[k];
  else copy[k] = mutate(copy[k], rest, value);
  return copy;
}

describe('fast body checks', () => {
  it('cover the kinds listed here, and no others', () => {
    expect(Object.keys(FAST_BODY_CHECKS).sort()).toEqual(Object.keys(bodiesOf).sort());
  });

  for (const [kind, bodies] of Object.entries(bodiesOf)) {
    const fast = FAST_BODY_CHECKS[kind as MessageKind]!;
    const schema = kindInfo(kind as MessageKind).schema;
    it(`${kind}: accept every valid body, as the schema parses it (extra keys dropped)`, () => {
      fc.assert(
        fc.property(bodies, fc.dictionary(fc.string({ maxLength: 6 }), anyField, { maxKeys: 2 }), (body, extra) => {
          const b = { ...extra, ...body };
          const parsed = schema.safeParse(b);
          expect(parsed.success).toBe(true);
          const quick = fast(b);
          expect(quick).toEqual(parsed.data);
          expect(JSON.stringify(Object.keys(quick as object))).toEqual(JSON.stringify(Object.keys(parsed.data as object)));
        }),
        { numRuns: 300, seed: 20261206 },
      );
    });

    it(`${kind}: never accept what the schema rejects (any field, nested too, replaced by a value of any type or removed)`, () => {
      fc.assert(
        fc.property(
          bodies.chain((b) => {
            const ps = paths(b);
            return fc.tuple(fc.constant(b), ps.length ? fc.constantFrom(...ps) : fc.constant([] as (string | number)[]), fc.oneof(anyField, fc.constant(DELETE)));
          }),
          ([b, path, value]) => {
            const m = path.length ? mutate(b, path, value) : value === DELETE ? {} : value;
            if (m === null || typeof m !== 'object') return;
            const parsed = schema.safeParse(m);
            const quick = fast(m as Record<string, unknown>);
            if (!parsed.success) expect(quick).toBeNull();
            else if (quick !== null) expect(quick).toEqual(parsed.data);
          },
        ),
        { numRuns: 2000, seed: 20261206 },
      );
    });
  }
});
