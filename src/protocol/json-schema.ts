// JSON Schema generated from the zod schemas, and the schema fingerprint derived from it.
//
// Fingerprint (normative, firmware-spec/PROTOCOL.md §Versioning): take the bundle in
// firmware-spec/schemas/protocol.schema.json, serialise it canonically (object keys sorted by
// code point at every level, no insignificant whitespace, strings escaped as JSON.stringify /
// Python json.dumps(ensure_ascii=False) do, all numbers are integers written in decimal), hash
// the UTF-8 bytes with SHA-256 and keep the first 8 bytes as 16 lowercase hex digits.
import { createHash } from 'node:crypto';
import { z } from 'zod';
import { EVENTS, OPERATIONS } from './registry.ts';
import { ErrorBodySchema } from './schemas.ts';
import { PROTOCOL_VERSION } from './version.ts';

const TO_JSON_OPTS = { target: 'draft-2020-12', unrepresentable: 'any', io: 'input' } as const;

function toJson(schema: z.ZodType): Record<string, unknown> {
  const js = z.toJSONSchema(schema, TO_JSON_OPTS) as Record<string, unknown>;
  delete js.$schema;
  return js;
}

export interface SchemaBundle {
  $schema: string;
  title: string;
  operations: Record<string, { type: number; request: unknown; reply: unknown }>;
  events: Record<string, { type: number; body: unknown }>;
  error: unknown;
}

/** The whole catalogue: every operation's type number with its request and reply schema. */
export function buildSchemaBundle(): SchemaBundle {
  const operations: SchemaBundle['operations'] = {};
  for (const [name, op] of Object.entries(OPERATIONS)) operations[name] = { type: op.type, request: toJson(op.request), reply: toJson(op.reply) };
  const events: SchemaBundle['events'] = {};
  for (const [name, ev] of Object.entries(EVENTS)) events[name] = { type: ev.type, body: toJson(ev.body) };
  return {
    $schema: 'https://json-schema.org/draft/2020-12/schema',
    // The version is part of the fingerprinted text, so every minor has its own fingerprint.
    title: `tngd-spu wire protocol ${PROTOCOL_VERSION.major}.${PROTOCOL_VERSION.minor}: message bodies and type numbers (normative, with PROTOCOL.md)`,
    operations,
    events,
    error: toJson(ErrorBodySchema),
  };
}

/** Canonical JSON: sorted keys, no whitespace; rejects non-integer numbers (portability). */
export function canonicalJson(v: unknown): string {
  if (v === null || typeof v === 'boolean' || typeof v === 'string') return JSON.stringify(v);
  if (typeof v === 'number') {
    if (!Number.isSafeInteger(v)) throw new RangeError(`canonical JSON allows only safe integers, got ${v}`);
    return String(v);
  }
  if (Array.isArray(v)) return `[${v.map(canonicalJson).join(',')}]`;
  if (typeof v === 'object') {
    const keys = Object.keys(v as object)
      .filter((k) => (v as Record<string, unknown>)[k] !== undefined)
      .sort((a, b) => (a < b ? -1 : a > b ? 1 : 0));
    return `{${keys.map((k) => `${JSON.stringify(k)}:${canonicalJson((v as Record<string, unknown>)[k])}`).join(',')}}`;
  }
  throw new TypeError(`cannot serialise ${typeof v}`);
}

export function schemaFingerprintOf(bundle: unknown): string {
  return createHash('sha256').update(canonicalJson(bundle), 'utf8').digest('hex').slice(0, 16);
}

let bundle: SchemaBundle | null = null;
/** The bundle, built on first use: zod's JSON Schema generation costs ~40 ms, which every start (and every short run) would otherwise pay. */
export function schemaBundle(): SchemaBundle {
  return (bundle ??= buildSchemaBundle());
}

/**
 * 16 hex digits; changes whenever a schema or a type number changes. Written down rather than
 * computed at start (see schemaBundle); test/protocol/spec.test.ts pins it to
 * schemaFingerprintOf(schemaBundle()), and `npm run gen:protocol` prints the new value.
 */
export const SCHEMA_FINGERPRINT = 'eeec4cbc62b5b41b';
