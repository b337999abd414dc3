// λ̂ (the Euler step check's power-iteration estimate, EMULATOR.md §9.1.1) across a driver
// reconnect with restore: the restored device is a fresh emulator that receives the same
// curvature again, and its step check takes λ̂ from the content cache (no power iteration) and
// runs with the bits of a device that never lost its link.
import { describe, expect, it } from 'vitest';
import { SpuDriver, openLink } from '../../src/driver/index.ts';
import type { RunResult } from '../../src/driver/index.ts';
import { PROFILES, SpuCore, createEmulatedDevice } from '../../src/emulator/index.ts';
import { FactoredCoupling } from '../../src/emulator/physics/couplings.ts';
import { STEP_LIMIT, checkEulerStep, estimatesRun, lambdaEstimateUncached } from '../../src/emulator/physics/stability.ts';

/** J entries in (−0.5, 0.5): the cheap bound U is far above λmax, so a step near 1/λmax needs λ̂. */
function system(n: number, r: number) {
  let s = 0x2545f491;
  const u = () => ((s = (Math.imul(s, 1664525) + 1013904223) >>> 0), s / 4294967296);
  const J = Float64Array.from({ length: r * n }, () => u() - 0.5);
  const blocks = new Float64Array(r * 2);
  for (let b = 0; b < r / 2; b++) blocks.set([0.25, -0.1, -0.1, 0.25], b * 4);
  const g = Float64Array.from({ length: n }, () => u() - 0.5);
  return { n, r, J, core: { kind: 'block' as const, dz: 2, blocks }, scale: 0.5, lambda: 0.05, g };
}

const hex = (v: Float64Array) => Buffer.from(v.buffer, v.byteOffset, v.byteLength).toString('hex');

describe('λ̂ survives a driver reconnect with restore (content cache)', () => {
  it('the restored device does no power iteration and its next run has the bits of an uninterrupted device', async () => {
    // a size no other test uses, so no earlier test has put this A in the cache
    const sys = system(173, 12);
    // (the estimate without the cache, the bound from a check small enough for it alone)
    const op = new FactoredCoupling(sys.n, sys.r, sys.J, sys.core, sys.scale, sys.lambda);
    const { estimate } = lambdaEstimateUncached(op);
    const bound = checkEulerStep(op, 1e-12).lambdaMax;
    const dtTau = 1 / estimate; // δt·λ̂ = 1 < 1.875 ≤ δt·U: the check needs the estimate
    expect(dtTau * bound).toBeGreaterThanOrEqual(STEP_LIMIT);
    const config = { kappa0: 0.02, integrator: { kind: 'euler' as const, dtTau }, samplePeriodTau: dtTau, burnInTau: 0 };
    const runs = [{ durationTau: 20 * dtTau, start: 'reset' as const }, { durationTau: 20 * dtTau, start: 'carry' as const }];
    const results: RunResult[] = [];
    let opened = 0;
    const dev = await SpuDriver.open(() => openLink('emu:', { emuFactory: () => (opened++, createEmulatedDevice({ seed: 11 })) }), { heartbeatIntervalMs: 0 });
    try {
      const before = estimatesRun();
      await dev.configure(config);
      await dev.uploadCurvature({ form: 'factored', n: sys.n, r: sys.r, J: sys.J, core: sys.core, scale: sys.scale, lambda: sys.lambda });
      await dev.uploadGradient(sys.g);
      results.push(await dev.run(runs[0]).result);
      expect(estimatesRun()).toBe(before + 1); // the first set-up ran the power iteration
      await dev.reconnect({ restore: true });
      expect(opened).toBe(2); // a fresh device, holding nothing until the restore
      results.push(await dev.run(runs[1]).result);
      expect(estimatesRun()).toBe(before + 1); // the restored device's λ̂ came from the cache
    } finally {
      await dev.close();
    }

    // the reference: one core, both runs, never interrupted
    const core = new SpuCore({ maxCells: 4096, maxRank: 256, profile: PROFILES.ideal, seed: 11 });
    core.configure(config);
    core.setCurvatureFactored({ n: sys.n, r: sys.r, J: sys.J, core: sys.core, scale: sys.scale, lambda: sys.lambda });
    core.setGradient(sys.g);
    runs.forEach((r, i) => {
      const want = core.run(r);
      expect(hex(results[i].mean!)).toBe(hex(want.mean));
      expect(hex(results[i].final!)).toBe(hex(want.final));
    });
  });
});
