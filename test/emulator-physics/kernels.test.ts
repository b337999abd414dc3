// The f64x2 WebAssembly kernels (src/emulator/physics/kernels/): the committed binary is what the
// WAT source assembles to, and the kernels give the scalar reference's bits on random systems
// (odd and even n and r, every core kind, Euler with noise and rails, exact runs with a mean).
import { readFileSync } from 'node:fs';
import { describe, expect, it } from 'vitest';
import { WASM_URL, assembleKernels } from '../../scripts/build-kernels.ts';
import { PROFILES, SpuCore, type CoreSpec, type Profile } from '../../src/emulator/physics/index.ts';
import { FactoredCoupling } from '../../src/emulator/physics/couplings.ts';
import { symmetricEigen } from '../../src/emulator/physics/linalg.ts';
import { FactorStore } from '../../src/emulator/physics/kernels/store.ts';
import { fillGaussians } from '../../src/emulator/physics/philox.ts';
import { randomSpd } from './helpers.ts';
import { symmetricEigenV1 } from '../../bench/baselines/spectral-v1.ts';
import { rng, softmaxBlocks } from './helpers.ts';

const hex = (v: Float64Array) => Buffer.from(v.buffer, v.byteOffset, v.byteLength).toString('hex');

/** Random J (with a few entries 1000× larger when `wild`), x and w. */
function system(n: number, r: number, seed: number, wild = true) {
  const u = rng(seed);
  const J = new Float64Array(r * n).map(() => (u() - 0.5) * (wild && u() < 0.05 ? 1e3 : 1));
  const x = new Float64Array(n).map(() => u() * 4 - 2);
  const w = new Float64Array(r).map(() => u() * 2 - 1);
  return { J, x, w };
}

describe('WASM kernels', () => {
  it('kernels.wasm is exactly what scripts/build-kernels.ts assembles from kernels.wat', async () => {
    const built = await assembleKernels();
    const committed = new Uint8Array(readFileSync(WASM_URL));
    expect(Buffer.from(built).equals(Buffer.from(committed))).toBe(true);
  });

  it('the SIMD kernels are in use in this engine (Node ≥ 20 has WebAssembly SIMD)', () => {
    const op = new FactoredCoupling(3, 3, new Float64Array(9), { kind: 'identity' }, 1, 1);
    expect(op.store.ops.simd).toBe(process.env.TNGD_SCALAR_KERNELS !== '1');
  });

  it('J·x, Jᵀ·w, A·x and the Gram give the scalar reference bits (24 random shapes, seeds 1…24)', () => {
    for (let seed = 1; seed <= 24; seed++) {
      const u = rng(1000 + seed);
      const n = 1 + Math.floor(u() * 70), r = 1 + Math.floor(u() * 19);
      const { J, x, w } = system(n, r, seed);
      const fast = new FactoredCoupling(n, r, J, { kind: 'identity' }, 0.3, 0.01);
      const ref = new FactoredCoupling(n, r, J, { kind: 'identity' }, 0.3, 0.01, { scalarKernels: true });
      expect(ref.store.ops.simd).toBe(false);
      const y1 = new Float64Array(r), y2 = new Float64Array(r);
      fast.applyJ(x, y1);
      ref.applyJ(x, y2);
      expect(hex(y1)).toBe(hex(y2));
      const o1 = new Float64Array(n), o2 = new Float64Array(n);
      fast.applyJT(w, o1);
      ref.applyJT(w, o2);
      expect(hex(o1)).toBe(hex(o2));
      fast.apply(x, o1);
      ref.apply(x, o2);
      expect(hex(o1)).toBe(hex(o2));
      expect(hex(fast.store.gram())).toBe(hex(ref.store.gram()));
      // and the scalar reference is the row-major definition of EMULATOR.md §7
      for (let k = 0; k < r; k++) {
        let acc = 0;
        for (let j = 0; j < n; j++) acc = acc + J[k * n + j] * x[j];
        expect(y2[k]).toBe(acc);
      }
    }
  });

  it('the Gram of a mostly-zero J (nonzero-only visits, ±0 entries, several tiles) has the bits of the row-major sum (12 shapes, seeds 1…12)', () => {
    for (let seed = 1; seed <= 12; seed++) {
      const u = rng(7000 + seed);
      // n large enough for several Gram tiles at r = 40 (tile = 256 KiB / (16·np) columns)
      const r = seed <= 6 ? 1 + Math.floor(u() * 40) : 40, n = seed <= 6 ? 1 + Math.floor(u() * 300) : 1700 + seed;
      const density = [0.05, 0.3, 0.7, 0.95][seed % 4];
      const J = new Float64Array(r * n).map(() => (u() < density ? (u() - 0.5) * (u() < 0.05 ? 1e3 : 1) : u() < 0.5 ? 0 : -0));
      const want = new Float64Array(r * r);
      for (let a = 0; a < r; a++)
        for (let b = a; b < r; b++) {
          let acc = 0;
          for (let j = 0; j < n; j++) acc = acc + J[a * n + j] * J[b * n + j];
          want[a * r + b] = acc;
          want[b * r + a] = acc;
        }
      const fast = new FactoredCoupling(n, r, J, { kind: 'identity' }, 1, 0.01);
      const ref = new FactoredCoupling(n, r, J, { kind: 'identity' }, 1, 0.01, { scalarKernels: true });
      expect(hex(fast.store.gram())).toBe(hex(want));
      expect(hex(ref.store.gram())).toBe(hex(want));
    }
  });

  it('symmetricEigen gives the same bits with SIMD and scalar inner loops (n = 1…40 and 97, SPD and indefinite, seeds 1…42)', () => {
    for (const n of [...Array.from({ length: 40 }, (_, i) => i + 1), 97]) {
      const a = randomSpd(n, n, n % 3 === 0 ? -0.5 : 0.1);
      const f = symmetricEigen(a, n);
      const s = symmetricEigen(a, n, { scalarKernels: true });
      expect(hex(f.values)).toBe(hex(s.values));
      expect(hex(f.vectors)).toBe(hex(s.vectors));
      // and the operations are those of the untransposed version-1 code (EMULATOR.md §9.2 unchanged)
      const v1 = symmetricEigenV1(a, n);
      expect(hex(f.values)).toBe(hex(v1.values));
      expect(hex(f.vectors)).toBe(hex(v1.vectors));
    }
  });

  it('Philox-4x32-10 + AS 241 Gaussians in WASM equal fillGaussians bit for bit (300 streams, 1…4003 values each, both tails)', () => {
    const n = 4003;
    const st = new FactorStore(n, 2, new Float64Array(2 * n));
    expect(st.ops.simd).toBe(process.env.TNGD_SCALAR_KERNELS !== '1');
    const ref = new Float64Array(n);
    let tails = 0;
    for (let t = 0; t < 300; t++) {
      const k0 = Math.imul(t, 2654435761) >>> 0, k1 = Math.imul(t, 40503) >>> 0, first = 4 * t;
      const m = 1 + ((t * 37) % n);
      fillGaussians(ref, m, k0, k1, t, 7 * t, t % 5, first);
      st.ops.gauss(st.quad, m, k0, k1, t, 7 * t, t % 5, first);
      expect(hex(st.m.subarray(st.quad, st.quad + m))).toBe(hex(ref.subarray(0, m)));
      for (let i = 0; i < m; i++) if (Math.abs(ref[i]) > 1.44) tails++;
    }
    expect(tails).toBeGreaterThan(10000); // |z| > 1.44 ⇔ the AS 241 tail branch (|q| > 0.425)
  });

  const profiles: Profile[] = [PROFILES.ideal, { ...PROFILES.prototype, fullScale: 0.5 }];
  const cores = (r: number, seed: number): CoreSpec[] => [
    { kind: 'identity' },
    { kind: 'diagonal', d: new Float64Array(r).map((_, k) => 0.2 + ((k * 7 + seed) % 5) / 5) },
    ...(r % 3 === 0 ? [{ kind: 'block' as const, dz: 3, blocks: softmaxBlocks(r / 3, 3, seed) }] : []),
  ];

  it('Euler runs (noise, rails, samples) and exact runs (mean + final, streamed) give identical result bytes with both kernel sets', () => {
    let cases = 0;
    let railed = 0;
    for (const [n, r] of [[17, 6], [40, 9], [33, 12]]) {
      for (const profile of profiles) {
        for (const core of cores(r, n)) {
          const { J } = system(n, r, n * r, false);
          const g = new Float64Array(n).map((_, i) => Math.sin(i) * 3);
          const run = (scalar: boolean) => {
            const c = new SpuCore({ maxCells: n, maxRank: r, profile, seed: 7, scalarKernels: scalar });
            c.setCurvatureFactored({ n, r, J: Float64Array.from(J), core, scale: 0.5, lambda: 0.2 });
            c.setGradient(g);
            const out: string[] = [];
            c.configure({ kappa0: 0.05, integrator: { kind: 'euler', dtTau: 0.05 }, samplePeriodTau: 0.1, burnInTau: 0.2 });
            const e = c.run({ durationTau: 2, start: 'gradient', onSampleBlock: (b) => out.push(hex(b.values)) });
            out.push(hex(e.mean), hex(e.final), String(e.saturationCount));
            if (e.saturationCount > 0) railed++;
            c.configure({ kappa0: 0.05, integrator: { kind: 'exact' }, samplePeriodTau: 0.1, burnInTau: 0.2 });
            const x = c.run({ durationTau: 2 });
            out.push(hex(x.mean), hex(x.final));
            const s = c.run({ durationTau: 1, onSampleBlock: (b) => out.push(hex(b.values)) });
            out.push(hex(s.mean), hex(s.final));
            return out;
          };
          expect(run(false)).toEqual(run(true));
          cases++;
        }
      }
    }
    expect(cases).toBeGreaterThanOrEqual(14);
    expect(railed).toBeGreaterThan(0); // the rails were exercised
  });
});
