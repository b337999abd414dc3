// The run counter (EMULATOR.md §4): noise is keyed by (seed, run index, step, cell), so a device
// whose counter is set to k gives the bytes of a device of the same seed that started k runs —
// given the same system, state and configuration (and, for a delay, the same previous system).
// This is what lets a host resume on a fresh device without replaying earlier runs.
import { describe, expect, it } from 'vitest';
import { PROFILES, PhysicsError, SpuCore, type Integrator, type Profile, type CoreRunResult } from '../../src/emulator/physics/index.ts';
import { randomSpd, rng, softmaxBlocks } from './helpers.ts';

const N = 6;
const B = 2; // blocks of the factored core
const DZ = 3;
const R = B * DZ;

function device(profile: Profile, integrator: Integrator, seed = 77): SpuCore {
  const c = new SpuCore({ maxCells: 16, maxRank: 8, profile, seed });
  c.configure({ kappa0: 0.05, integrator, samplePeriodTau: 0.1, burnInTau: 0.2 });
  return c;
}

function vec(seed: number, n = N): Float64Array {
  const u = rng(seed);
  return new Float64Array(n).map(() => u() * 2 - 1);
}

/** System `k`: dense SPD, or factored s·JᵀHJ + λI with softmax-Hessian blocks. */
function load(c: SpuCore, form: 'dense' | 'factored', k: number): void {
  if (form === 'dense') c.setCurvatureDense(N, randomSpd(N, 10 + k, 0.5));
  else c.setCurvatureFactored({ n: N, r: R, J: vec(20 + k, R * N), core: { kind: 'block', dz: DZ, blocks: softmaxBlocks(B, DZ, 30 + k) }, scale: 0.5, lambda: 0.3 });
  c.setGradient(vec(40 + k));
}

/** Five runs of mixed lengths, starts and systems (the history a resumed device skips). */
function history(c: SpuCore, form: 'dense' | 'factored'): void {
  const starts = ['gradient', 'carry', 'reset', 'carry', 'carry'] as const;
  for (let i = 0; i < starts.length; i++) {
    load(c, form, i);
    c.run({ durationTau: 0.5 + 0.1 * i, start: starts[i] });
  }
}

const bytes = (r: CoreRunResult): string => Buffer.concat([Buffer.from(r.mean.buffer), Buffer.from(r.final.buffer)]).toString('hex');

const CASES = [
  { label: 'Euler, ideal, dense', profile: PROFILES.ideal, integrator: { kind: 'euler', dtTau: 0.05 } as Integrator, form: 'dense' as const },
  { label: 'exact, ideal, factored', profile: PROFILES.ideal, integrator: { kind: 'exact' } as Integrator, form: 'factored' as const },
  { label: 'Euler, prototype (DAC, ADC, mismatch, rails), factored', profile: PROFILES.prototype, integrator: { kind: 'euler', dtTau: 0.05 } as Integrator, form: 'factored' as const },
  { label: 'exact, prototype, dense', profile: PROFILES.prototype, integrator: { kind: 'exact' } as Integrator, form: 'dense' as const },
];

describe('setRunIndex(k) = a device that started k runs', () => {
  for (const c of CASES) {
    it(`${c.label}: next run bit-identical (and k − 1 gives other bytes)`, () => {
      const x0 = vec(99);
      const a = device(c.profile, c.integrator);
      history(a, c.form);
      expect(a.runIndex).toBe(5);
      load(a, c.form, 9);
      a.setState(x0);
      const ra = a.run({ durationTau: 2, start: 'carry' });

      const resumed = (k: number): CoreRunResult => {
        const b = device(c.profile, c.integrator);
        load(b, c.form, 9);
        b.setRunIndex(k);
        b.setState(x0);
        return b.run({ durationTau: 2, start: 'carry' });
      };
      const rb = resumed(5);
      expect(rb.runIndex).toBe(5);
      expect(bytes(rb)).toBe(bytes(ra));
      expect([rb.sampleCount, rb.saturationCount, rb.clipCount]).toEqual([ra.sampleCount, ra.saturationCount, ra.clipCount]);
      // the index is what carries the noise: one off, other bytes
      expect(bytes(resumed(4))).not.toBe(bytes(ra));
    });
  }

  it('with a delay: the previous system is run once (any index), then the counter is set — same bytes as the uninterrupted device', () => {
    const integrator: Integrator = { kind: 'euler', dtTau: 0.05 };
    const x0 = vec(98);
    const a = device(PROFILES.ideal, integrator);
    history(a, 'dense'); // its last run is on system 4: the previous system of the delayed run
    load(a, 'dense', 9);
    a.setState(x0);
    const ra = a.run({ durationTau: 1, delayTau: 0.5, start: 'carry' });

    const b = device(PROFILES.ideal, integrator);
    load(b, 'dense', 4);
    b.run({ durationTau: 0.5 }); // makes system 4 the live (previous) one
    load(b, 'dense', 9);
    b.setRunIndex(5);
    b.setState(x0);
    const rb = b.run({ durationTau: 1, delayTau: 0.5, start: 'carry' });
    expect(bytes(rb)).toBe(bytes(ra));
    expect(rb.analogTimeTau).toBeCloseTo(1.5, 12);
  });

  it('streamed samples of a resumed run equal the uninterrupted ones too (exact, sample by sample)', () => {
    const collect = (c: SpuCore): number[] => {
      const rows: number[] = [];
      c.run({ durationTau: 1, start: 'carry', onSampleBlock: (blk) => rows.push(...blk.values) });
      return rows;
    };
    const x0 = vec(97);
    const a = device(PROFILES.ideal, { kind: 'exact' });
    history(a, 'factored');
    load(a, 'factored', 9);
    a.setState(x0);
    const b = device(PROFILES.ideal, { kind: 'exact' });
    load(b, 'factored', 9);
    b.setRunIndex(5);
    b.setState(x0);
    const sa = collect(a);
    expect(sa.length).toBe(8 * N); // samples k = 3..10: K = 1τ/0.1τ = 10, burn-in 0.2τ = 2 samples
    expect(collect(b)).toEqual(sa);
  });
});

describe('the counter: range, what advances it, what it leaves alone', () => {
  const code = (f: () => unknown): string => {
    try {
      f();
    } catch (e) {
      if (e instanceof PhysicsError) return e.code;
      throw e;
    }
    return 'no error';
  };

  it('accepts integers 0 … 2^32 − 1 only (config); refused during a run (state)', () => {
    const c = device(PROFILES.ideal, { kind: 'euler', dtTau: 0.05 });
    for (const bad of [-1, 0.5, 2 ** 32, Number.NaN]) expect(code(() => c.setRunIndex(bad)), String(bad)).toBe('config');
    expect(c.runIndex).toBe(0);
    c.setRunIndex(2 ** 32 - 1);
    expect(c.runIndex).toBe(2 ** 32 - 1);
    load(c, 'dense', 0);
    c.setRunIndex(3);
    const h = c.startRun({ durationTau: 1 });
    expect(code(() => c.setRunIndex(7))).toBe('state');
    h.abort();
  });

  it('the last run index is 2^32 − 2: at 2^32 − 1 a run is refused (limit) and the counter stays within u32', () => {
    const c = device(PROFILES.ideal, { kind: 'euler', dtTau: 0.05 });
    load(c, 'dense', 0);
    c.setRunIndex(2 ** 32 - 2);
    expect(c.run({ durationTau: 0.5 }).runIndex).toBe(2 ** 32 - 2);
    expect(c.runIndex).toBe(2 ** 32 - 1);
    expect(code(() => c.run({ durationTau: 0.5 }))).toBe('limit');
    expect(c.runIndex).toBe(2 ** 32 - 1);
  });

  it('a run refused at its start leaves the counter; an aborted run advances it; uploads, state and configure do not', () => {
    const c = device(PROFILES.ideal, { kind: 'euler', dtTau: 0.05 });
    load(c, 'dense', 0);
    c.setRunIndex(10);
    expect(code(() => c.run({ durationTau: 0.125 }))).toBe('config'); // not a multiple of δt
    expect(c.runIndex).toBe(10);
    c.run({ durationTau: 10, chunkSteps: 4, shouldAbort: () => true });
    expect(c.runIndex).toBe(11);
    load(c, 'factored', 1);
    c.setState(vec(5));
    c.resetState();
    c.configure({ kappa0: 0.01, integrator: { kind: 'exact' }, samplePeriodTau: 0.1, burnInTau: 0 });
    expect(c.runIndex).toBe(11);
  });
});
