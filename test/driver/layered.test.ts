// The layered curvature input on the driver side: its expansion to the explicit J (checked entry
// by entry against the definition, written independently as J = Σ blocks), the shape checks, and
// the upload to a device: the result bits equal those of the explicit factored upload.
import { afterEach, describe, expect, it } from 'vitest';
import { connect } from '../../src/connect.ts';
import { ArgumentError } from '../../src/driver/index.ts';
import type { LayerBlockInput, SpuDriver } from '../../src/driver/index.ts';
import { checkLayered, expandLayered } from '../../src/driver/layered.ts';
import { bitEqual, configureOptions } from './helpers.ts';

function rng(seed: number) {
  let s = seed >>> 0 || 1;
  return (): number => {
    s ^= s << 13;
    s >>>= 0;
    s ^= s >>> 17;
    s ^= s << 5;
    s >>>= 0;
    return s / 4294967296 * 2 - 1;
  };
}

/** A random 3-layer net's factors: dense 5→4 (bias), explicit 7 columns, dense 4→3 (no bias). */
export function randomLayered(b: number, m: number, seed = 1) {
  const u = rng(seed);
  const r = b * m;
  const fill = (k: number, s = 0.5) => Float64Array.from({ length: k }, () => u() * s);
  const layers: LayerBlockInput[] = [
    { kind: 'dense', nIn: 5, nOut: 4, bias: true, A: fill(b * 5), D: fill(r * 4) },
    { kind: 'explicit', cols: 7, J: fill(r * 7, 0.3) },
    { kind: 'dense', nIn: 4, nOut: 3, bias: false, A: fill(b * 4), D: fill(r * 3) },
  ];
  return { n: 24 + 7 + 12, r, b, layers };
}

describe('expandLayered', () => {
  it('every entry of J follows the definition (dense: D·A, bias: D, explicit: copied)', () => {
    const b = 3;
    const m = 2;
    const sys = randomLayered(b, m, 7);
    checkLayered(sys);
    const J = expandLayered(sys);
    const { n, r } = sys;
    expect(J.length).toBe(r * n);
    const [l0, l1, l2] = sys.layers as [Extract<LayerBlockInput, { kind: 'dense' }>, Extract<LayerBlockInput, { kind: 'explicit' }>, Extract<LayerBlockInput, { kind: 'dense' }>];
    for (let row = 0; row < r; row++) {
      const s = Math.floor(row / m);
      for (let j = 0; j < 4; j++) {
        for (let t = 0; t < 5; t++) expect(J[row * n + j * 5 + t]).toBe(l0.D[row * 4 + j] * l0.A[s * 5 + t]);
        expect(J[row * n + 20 + j]).toBe(l0.D[row * 4 + j]);
      }
      for (let k = 0; k < 7; k++) expect(J[row * n + 24 + k]).toBe(l1.J[row * 7 + k]);
      for (let j = 0; j < 3; j++) for (let t = 0; t < 4; t++) expect(J[row * n + 31 + j * 4 + t]).toBe(l2.D[row * 3 + j] * l2.A[s * 4 + t]);
    }
  });

  it('a per-sample GGN row is the outer product δ ⊗ [a, 1] of the layer', () => {
    // one sample, one output, dense 2→1 with bias: J row = [δ·a0, δ·a1, δ]
    const J = expandLayered({ n: 3, r: 1, b: 1, layers: [{ kind: 'dense', nIn: 2, nOut: 1, bias: true, A: [3, -2], D: [0.5] }] });
    expect(Array.from(J)).toEqual([1.5, -1, 0.5]);
  });
});

describe('checkLayered refuses malformed inputs with ArgumentError', () => {
  const ok = () => randomLayered(2, 2, 3);
  const cases: [string, () => unknown, RegExp][] = [
    ['r not a multiple of b', () => ({ ...ok(), b: 3 }), /multiple of b/],
    ['Σ cols ≠ n', () => ({ ...ok(), n: 42 }), /cover 43 columns, expected n = 42/],
    ['A of the wrong length', () => { const s = ok(); (s.layers[0] as { A: Float64Array }).A = new Float64Array(9); return s; }, /layers\[0\]\.A has 9 values, expected 10/],
    ['D of the wrong length', () => { const s = ok(); (s.layers[2] as { D: Float64Array }).D = new Float64Array(3); return s; }, /layers\[2\]\.D has 3 values, expected 12/],
    ['explicit J of the wrong length', () => { const s = ok(); (s.layers[1] as { J: Float64Array }).J = new Float64Array(27); return s; }, /layers\[1\]\.J has 27 values, expected 28/],
    ['a non-finite entry', () => { const s = ok(); (s.layers[0] as { D: Float64Array }).D[5] = NaN; return s; }, /layers\[0\]\.D\[5\] = NaN is not a finite number/],
    ['an unknown kind', () => ({ ...ok(), layers: [{ kind: 'conv', cols: 43 }] }), /kind must be 'explicit' or 'dense'/],
    ['no layers', () => ({ ...ok(), layers: [] }), /non-empty/],
  ];
  for (const [what, make, msg] of cases)
    it(what, () => {
      expect(() => checkLayered(make() as Parameters<typeof checkLayered>[0])).toThrow(ArgumentError);
      expect(() => checkLayered(make() as Parameters<typeof checkLayered>[0])).toThrow(msg);
    });
});

const open: SpuDriver[] = [];
afterEach(async () => {
  for (const d of open.splice(0)) await d.close();
});

describe('uploading a layered curvature', () => {
  it('gives the same run results, bit for bit, as uploading its explicit expansion', async () => {
    const sys = randomLayered(4, 2, 11);
    const core = { kind: 'identity' as const };
    const g = Float64Array.from({ length: sys.n }, (_, i) => Math.sin(i));
    const results = [];
    for (const form of ['layered', 'factored'] as const) {
      const dev = await connect('emu:?seed=5', { heartbeatIntervalMs: 0 });
      open.push(dev);
      await dev.configure(configureOptions);
      const c = form === 'layered' ? { form, ...sys, core, scale: 0.5, lambda: 0.3 } : { form, n: sys.n, r: sys.r, J: expandLayered(sys), core, scale: 0.5, lambda: 0.3 };
      const up = await dev.uploadCurvature(c);
      expect(up).toMatchObject({ n: sys.n, r: sys.r });
      await dev.uploadGradient(g);
      results.push(await dev.run({ durationTau: 3, start: 'reset' }).result);
    }
    expect(bitEqual(results[0].mean, results[1].mean) && bitEqual(results[0].final, results[1].final)).toBe(true);
  });

  it('a malformed layered input is refused on the host and nothing is sent', async () => {
    const dev = await connect('emu:?seed=5', { heartbeatIntervalMs: 0 });
    open.push(dev);
    const sys = randomLayered(4, 2, 11);
    await expect(dev.uploadCurvature({ form: 'layered', ...sys, b: 3, core: { kind: 'identity' } })).rejects.toThrow(ArgumentError);
    expect((await dev.status()).hasCurvature).toBe(false);
  });
});
