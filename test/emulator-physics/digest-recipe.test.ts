// EMULATOR.md §13 says exactly what digests.json's expected.sha256 covers: per run, mean then
// final (f64 LE), then the streamed ADC readings — and not the per-run counts. This test follows
// that recipe with the physics core (not the reference replayer) and must hit every digest; a
// recipe that also hashed the counts, as §13 once said, would miss all of them.
import { createHash } from 'node:crypto';
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { SpuCore, layeredOf } from '../../src/emulator/physics/index.ts';
import type { Scenario, ScenarioOutcome } from '../../src/emulator/physics/index.ts';

const dir = join(import.meta.dirname, '..', '..', 'firmware-spec', 'vectors', 'emulator');
const doc = readFileSync(join(import.meta.dirname, '..', '..', 'firmware-spec', 'EMULATOR.md'), 'utf8');
const { scenarios } = JSON.parse(readFileSync(join(dir, 'digests.json'), 'utf8')) as { scenarios: (Scenario & { expected: ScenarioOutcome })[] };
const le = (v: Float64Array) => Buffer.from(v.buffer, v.byteOffset, v.byteLength);

/** SHA-256 per EMULATOR.md §13; withCounts adds the counts after each run (the old wording). */
function digest(s: Scenario, withCounts: boolean): string {
  const core = new SpuCore({ maxCells: s.maxCells, maxRank: s.maxRank, profile: s.profile, seed: s.seed });
  const hash = createHash('sha256');
  const f = (v: number[]) => Float64Array.from(v);
  for (const o of s.ops) {
    if (o.op === 'setCurvatureDense') core.setCurvatureDense(o.n, f(o.A), o.lambda ?? 0);
    else if (o.op === 'setCurvatureFactored') {
      const c = o.core;
      const cs = c.kind === 'identity' ? c : c.kind === 'diagonal' ? { kind: c.kind, d: f(c.d) } : c.kind === 'block' ? { kind: c.kind, dz: c.dz, blocks: f(c.blocks) } : { kind: c.kind, h: f(c.h) };
      core.setCurvatureFactored({ n: o.n, r: o.r, J: f(o.J), core: cs, scale: o.scale, lambda: o.lambda });
    } else if (o.op === 'setCurvatureLayered') core.setCurvatureLayered(layeredOf(o));
    else if (o.op === 'setGradient') core.setGradient(f(o.g));
    else if (o.op === 'setState') core.setState(f(o.x));
    else if (o.op === 'configure') core.configure(o.config);
    else {
      const rows: Buffer[] = [];
      const r = core.run({ durationTau: o.durationTau, start: o.start, delayTau: o.delayTau, onSampleBlock: o.stream ? (b) => rows.push(Buffer.from(le(b.values))) : undefined });
      hash.update(le(r.mean));
      hash.update(le(r.final));
      for (const row of rows) hash.update(row);
      if (withCounts) hash.update(Buffer.from(new Uint32Array([r.sampleCount, r.saturationCount, r.clipCount]).buffer));
    }
  }
  return hash.digest('hex');
}

describe('EMULATOR.md §13: what the golden digest covers', () => {
  it('says the counts are not hashed', () => {
    expect(doc).toMatch(/per-run counts are \*\*not\*\* in the digest/);
  });
  for (const s of scenarios)
    it(`${s.name}: mean, final and streamed readings alone give expected.sha256; adding the counts does not`, () => {
      expect(digest(s, false)).toBe(s.expected.sha256);
      expect(digest(s, true)).not.toBe(s.expected.sha256);
    });
});
