// EMULATOR.md §3 prints AS 241's 45 coefficients with their f64 bit patterns and known answers per
// region. An implementation written from that table alone must give normInv's bits: this test is
// that implementation (with logDet, also §3), compared with the reference on 200k points.
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { logDet, normInv } from '../../src/emulator/physics/index.ts';

const doc = readFileSync(join(import.meta.dirname, '..', '..', 'firmware-spec', 'EMULATOR.md'), 'utf8');
const bitsOf = (x: number) => {
  const b = Buffer.alloc(8);
  b.writeDoubleBE(x);
  return b.toString('hex');
};
const fromBits = (h: string) => Buffer.from(h, 'hex').readDoubleBE(0);

/** `name | \`decimal\` | \`bits\`` triples of the coefficient table. */
function coefficients(): Record<string, { value: number; bits: string }> {
  const out: Record<string, { value: number; bits: string }> = {};
  for (const m of doc.matchAll(/\| ([a-f][0-7]) \| `([^`]+)` \| `([0-9a-f]{16})` /g)) out[m[1]] = { value: Number(m[2]), bits: m[3] };
  return out;
}

function knownAnswers(): { u: string; uBits: string; region: string; z: string; zBits: string }[] {
  return [...doc.matchAll(/^\| `([^`]+)` \| `([0-9a-f]{16})` \| ([^|]+) \| `([^`]+)` \| `([0-9a-f]{16})` \|$/gm)].map((m) => ({ u: m[1], uBits: m[2], region: m[3].trim(), z: m[4], zBits: m[5] }));
}

/** normInv as EMULATOR.md §3 writes it, with the printed doubles. */
function normInvFromDoc(u: number, c: Record<string, number>): number {
  const horner = (p: string, r: number, one: boolean) => {
    let acc = c[`${p}7`];
    for (let j = 6; j >= (one ? 1 : 0); j--) acc = acc * r + c[`${p}${j}`];
    return one ? acc * r + 1 : acc;
  };
  const q = u - 0.5;
  if (q >= -0.425 && q <= 0.425) {
    const r = 0.180625 - q * q;
    return (q * horner('a', r, false)) / horner('b', r, true);
  }
  let r = Math.sqrt(-logDet(q < 0 ? u : 1 - u));
  let v: number;
  if (r <= 5) {
    r = r - 1.6;
    v = horner('c', r, false) / horner('d', r, true);
  } else {
    r = r - 5;
    v = horner('e', r, false) / horner('f', r, true);
  }
  return q < 0 ? -v : v;
}

describe('EMULATOR.md §3: AS 241 as printed', () => {
  const table = coefficients();
  const c = Object.fromEntries(Object.entries(table).map(([k, v]) => [k, v.value]));

  it('prints all 45 coefficients, each decimal naming exactly its bit pattern', () => {
    const names = [...'ace'].flatMap((p) => Array.from({ length: 8 }, (_, j) => `${p}${j}`)).concat([...'bdf'].flatMap((p) => Array.from({ length: 7 }, (_, j) => `${p}${j + 1}`)));
    expect(Object.keys(table).sort()).toEqual(names.sort());
    for (const [k, v] of Object.entries(table)) expect(bitsOf(v.value), k).toBe(v.bits);
  });

  it('known answers: at least one per region, and the reference gives exactly those bits', () => {
    const kat = knownAnswers();
    expect(new Set(kat.map((k) => k.region))).toEqual(new Set(['central', 'tail r ≤ 5', 'tail r > 5']));
    for (const k of kat) {
      const u = fromBits(k.uBits);
      expect(bitsOf(Number(k.u)), k.u).toBe(k.uBits);
      expect(bitsOf(Number(k.z)), k.z).toBe(k.zBits);
      expect(bitsOf(normInv(u)), `normInv(${k.u})`).toBe(k.zBits);
      expect(bitsOf(normInvFromDoc(u, c)), `from the document, u = ${k.u}`).toBe(k.zBits);
    }
  });

  it('an implementation from the printed table matches the reference bit for bit on 200k points of all three regions', () => {
    const us: number[] = [];
    for (let i = 1; i < 100_000; i++) us.push(i / 100_000); // central and intermediate
    for (let i = 0; i < 50_000; i++) us.push((i + 0.5) * 2 ** -32 * 997); // word uniforms, lower tail
    for (let i = 0; i < 50_000; i++) {
      const p = Math.exp(-25 - (i / 50_000) * 600); // far tail, p down to e^−625
      us.push(p, 1 - p);
    }
    let mismatches = 0;
    const regions = { central: 0, mid: 0, far: 0 };
    for (const u of us) {
      if (!(u > 0 && u < 1)) continue;
      const q = u - 0.5;
      if (Math.abs(q) <= 0.425) regions.central++;
      else if (Math.sqrt(-logDet(q < 0 ? u : 1 - u)) <= 5) regions.mid++;
      else regions.far++;
      if (!Object.is(normInvFromDoc(u, c), normInv(u))) mismatches++;
    }
    expect(mismatches).toBe(0);
    expect(Math.min(regions.central, regions.mid, regions.far)).toBeGreaterThan(10_000);
  });
});
