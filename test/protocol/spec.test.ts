// The normative tables in firmware-spec/PROTOCOL.md must agree with the code that implements them.
import { readFileSync } from 'node:fs';
import { join, dirname } from 'node:path';
import { fileURLToPath } from 'node:url';
import { describe, expect, it } from 'vitest';
import { DEVICE_STATES, EVENTS, ErrorCode, LEGALITY, OPERATIONS, PROTOCOL_VERSION, SCHEMA_FINGERPRINT, errorClassOf, schemaBundle, schemaFingerprintOf } from '../../src/protocol/index.ts';
import type { OpName } from '../../src/protocol/index.ts';

const root = join(dirname(fileURLToPath(import.meta.url)), '..', '..');
const spec = readFileSync(join(root, 'firmware-spec', 'PROTOCOL.md'), 'utf8');

/** Rows (cells trimmed) of the markdown table following `<!-- table: name ... -->`. */
function table(name: string): string[][] {
  const at = spec.indexOf(`<!-- table: ${name} `);
  expect(at, `table ${name} marker`).toBeGreaterThanOrEqual(0);
  const lines = spec.slice(at).split('\n').slice(1);
  const rows: string[][] = [];
  for (const line of lines) {
    if (!line.startsWith('|')) break;
    rows.push(line.split('|').slice(1, -1).map((c) => c.trim()));
  }
  return rows.slice(2); // header + separator
}

describe('PROTOCOL.md tables match src/protocol', () => {
  it('message types', () => {
    const rows = table('types');
    const fromSpec = Object.fromEntries(rows.map((r) => [r[1].replace(' (event)', ''), Number(r[0])]));
    const fromCode = {
      ...Object.fromEntries(Object.entries(OPERATIONS).map(([k, v]) => [k, v.type])),
      ...Object.fromEntries(Object.entries(EVENTS).map(([k, v]) => [k, v.type])),
    };
    expect(fromSpec).toEqual(fromCode);
  });
  it('error codes, names and classes', () => {
    const rows = table('errors');
    expect(rows.map((r) => [r[1], Number(r[0]), r[2]])).toEqual(Object.entries(ErrorCode).map(([k, v]) => [k, v, errorClassOf(v)]));
  });
  it('state legality', () => {
    const rows = table('legality');
    const fromSpec: Record<string, Record<string, number | null>> = {};
    for (const r of rows) fromSpec[r[0]] = Object.fromEntries(DEVICE_STATES.map((s, i) => [s, r[i + 1] === '✓' ? null : Number(r[i + 1])]));
    expect(fromSpec).toEqual(LEGALITY as Record<OpName, unknown>);
  });
  it('version: title, §11 and the last row of the version history name PROTOCOL_VERSION and the current fingerprint', () => {
    const v = `${PROTOCOL_VERSION.major}.${PROTOCOL_VERSION.minor}`;
    expect(spec.split('\n')[0]).toBe(`# TNGD SPU wire protocol, version ${v} (normative)`);
    expect(spec).toContain(`\`PROTOCOL_VERSION\` is \`major.minor\` = **${v}**`);
    const rows = table('versions');
    const last = rows[rows.length - 1];
    expect(last[0]).toBe(v);
    expect(last[1]).toBe(`\`${SCHEMA_FINGERPRINT}\``);
    expect(readFileSync(join(root, 'firmware-spec', 'schemas', 'FINGERPRINT'), 'utf8').trim()).toBe(SCHEMA_FINGERPRINT);
    // the written-down constant is the schemas' fingerprint
    expect(schemaFingerprintOf(schemaBundle())).toBe(SCHEMA_FINGERPRINT);
    // one row per minor, in order, each with its own fingerprint
    expect(rows.map((r) => r[0])).toEqual(Array.from({ length: PROTOCOL_VERSION.minor + 1 }, (_, i) => `${PROTOCOL_VERSION.major}.${i}`));
    expect(new Set(rows.map((r) => r[1])).size).toBe(rows.length);
  });
  it('worked example bytes are the golden GradientRequest frame', () => {
    const v = JSON.parse(readFileSync(join(root, 'firmware-spec', 'vectors', 'protocol', 'messages', 'GradientRequest.json'), 'utf8')) as { frameHex: string; crc32c: string };
    const start = spec.indexOf('```', spec.indexOf('On the wire (')) + 3;
    const dump = spec.slice(start, spec.indexOf('```', start)).replace(/\s+/g, '');
    expect(dump).toBe(v.frameHex);
    expect(spec).toContain(`On the wire (${v.frameHex.length / 2} bytes)`);
    const crc = Buffer.from(v.crc32c, 'hex').readUInt32LE(0).toString(16).toUpperCase();
    expect(spec).toContain(`is \`0x${crc}\``);
  });
});
