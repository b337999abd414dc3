// fast-check arbitraries derived from the generated JSON Schema (not from zod internals), so a
// round-trip property also checks that the published JSON Schema agrees with the zod schemas.
import fc from 'fast-check';
import { DTYPES, ITEM_SIZE, schemaBundle } from '../../src/protocol/index.ts';
import type { Message, MessageKind, WireTensor } from '../../src/protocol/index.ts';

type JS = Record<string, unknown>;

const noNegZero = (x: number) => (Object.is(x, -0) ? 0 : x);

export const tensorArb: fc.Arbitrary<WireTensor> = fc
  .tuple(fc.constantFrom(...DTYPES), fc.array(fc.integer({ min: 0, max: 4 }), { minLength: 1, maxLength: 3 }), fc.double({ min: 1e-9, max: 1e3, noNaN: true }))
  .chain(([dtype, shape, scale]) => {
    const bytes = shape.reduce((a, b) => a * b, 1) * ITEM_SIZE[dtype];
    return fc.uint8Array({ minLength: bytes, maxLength: bytes }).map((d) => {
      const t: WireTensor = { dtype, shape, order: 'le', data: Buffer.from(d) };
      if (dtype === 'i16') t.scale = scale;
      return t;
    });
  });

const jsonLeaf = fc.oneof(fc.string({ maxLength: 8 }), fc.integer({ min: -1000, max: 1000 }), fc.boolean());

export function arbFromJsonSchema(s: JS): fc.Arbitrary<unknown> {
  if (s.$ref === '#/$defs/Tensor') return tensorArb;
  if (s['x-msgpack-type'] === 'bin') return fc.uint8Array({ maxLength: 48 }).map((d) => Buffer.from(d));
  if (Array.isArray(s.anyOf) || Array.isArray(s.oneOf)) return fc.oneof(...((s.anyOf ?? s.oneOf) as JS[]).map(arbFromJsonSchema));
  if ('const' in s) return fc.constant(s.const);
  if (Array.isArray(s.enum)) return fc.constantFrom(...(s.enum as unknown[]));
  switch (s.type) {
    case 'boolean':
      return fc.boolean();
    case 'integer':
      return fc.integer({ min: Math.max(Number(s.minimum ?? -(2 ** 31)), -(2 ** 31)), max: Math.min(Number(s.maximum ?? 2 ** 32 - 1), 2 ** 32 - 1) });
    case 'number': {
      const min = s.exclusiveMinimum !== undefined ? Number(s.exclusiveMinimum) : s.minimum !== undefined ? Number(s.minimum) : -1e9;
      return fc.double({ min, max: 1e9, minExcluded: s.exclusiveMinimum !== undefined, noNaN: true, noDefaultInfinity: true }).map(noNegZero);
    }
    case 'string':
      if (s.pattern === '^[0-9a-f]{16}$') return fc.stringMatching(/^[0-9a-f]{16}$/);
      return fc.string({ maxLength: Math.min(Number(s.maxLength ?? 32), 32), unit: 'binary' });
    case 'array':
      return fc.array(arbFromJsonSchema(s.items as JS), { minLength: Number(s.minItems ?? 0), maxLength: Math.min(Number(s.maxItems ?? 3), 3) });
    case 'object': {
      if (s.additionalProperties && !s.properties) return fc.dictionary(fc.string({ minLength: 1, maxLength: 6 }), jsonLeaf, { maxKeys: 3 });
      const props = (s.properties ?? {}) as Record<string, JS>;
      const rec: Record<string, fc.Arbitrary<unknown>> = {};
      for (const [k, v] of Object.entries(props)) rec[k] = arbFromJsonSchema(v);
      return fc.record(rec, { requiredKeys: (s.required ?? []) as string[] });
    }
  }
  throw new Error(`arbitrary: unsupported JSON Schema ${JSON.stringify(s).slice(0, 120)}`);
}

/** Arbitrary message of the given kind (error requestType: any u16). */
export function messageArb(kind: MessageKind): fc.Arbitrary<Message> {
  if (kind === 'Error')
    return fc
      .tuple(fc.integer({ min: 0, max: 0xffff }), arbFromJsonSchema(schemaBundle().error as JS))
      .map(([requestType, body]) => ({ kind, requestType, body }) as Message);
  const m = /^(.*)(Request|Reply|Event)$/.exec(kind);
  if (!m) throw new Error(kind);
  const [, name, dir] = m;
  const schema = dir === 'Event' ? schemaBundle().events[name].body : schemaBundle().operations[name][dir === 'Request' ? 'request' : 'reply'];
  return arbFromJsonSchema(schema as JS).map((body) => ({ kind, body }) as Message);
}
