// Property: a run's result bytes and the following state do not depend on how the run is
// advanced (random chunk sequences), for random small dense/factored systems and both integrators.
import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { PROFILES, SpuCore, type RunConfig } from '../../src/emulator/physics/index.ts';
import { randomSpd, rng } from './helpers.ts';

function device(seed: number, dense: boolean, n: number, proto: boolean): SpuCore {
  const c = new SpuCore({ maxCells: 16, maxRank: 8, profile: proto ? PROFILES.prototype : PROFILES.ideal, seed });
  const u = rng(seed + 1);
  if (dense) c.setCurvatureDense(n, randomSpd(n, seed, 0.3));
  else {
    const r = 3;
    c.setCurvatureFactored({ n, r, J: new Float64Array(r * n).map(() => u() - 0.5), core: { kind: 'diagonal', d: new Float64Array([1, 0.5, 0.25]) }, scale: 2, lambda: 0.2 });
  }
  c.setGradient(new Float64Array(n).map(() => u() - 0.5));
  return c;
}

describe('chunking invariance (fast-check, 40 cases)', () => {
  it('advance() in random chunks gives the same mean, final, counters and next-run result as one piece', () => {
    fc.assert(
      fc.property(
        fc.integer({ min: 0, max: 1e6 }),
        fc.boolean(),
        fc.integer({ min: 1, max: 9 }),
        fc.boolean(),
        fc.constantFrom<RunConfig['integrator']>({ kind: 'euler', dtTau: 0.05 }, { kind: 'exact' }),
        fc.boolean(),
        fc.array(fc.integer({ min: 1, max: 40 }), { minLength: 1, maxLength: 6 }),
        (seed, dense, n, proto, integrator, stream, chunks) => {
          const results = [0, 1].map((variant) => {
            const c = device(seed, dense, n, proto);
            c.configure({ kappa0: 0.05, integrator, samplePeriodTau: 0.1, burnInTau: 0.2 });
            const rows: number[] = [];
            const h = c.startRun({ durationTau: 2, start: 'gradient', onSampleBlock: stream ? (b) => rows.push(...b.values) : undefined });
            for (let i = 0; !h.done; i++) h.advance(variant === 0 ? Number.MAX_SAFE_INTEGER : chunks[i % chunks.length]);
            const r = h.result();
            const next = c.run({ durationTau: 0.5, chunkSteps: 3 });
            return JSON.stringify([Array.from(r.mean), Array.from(r.final), r.sampleCount, r.saturationCount, r.clipCount, rows, Array.from(next.final)]);
          });
          expect(results[1]).toBe(results[0]);
        },
      ),
      { numRuns: 40, seed: 20240517 },
    );
  });
});
