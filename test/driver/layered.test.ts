// The layered curvature input on the driver side: its expansion to the explicit J (checked entry
// by entry against the definition, written independently as J = Σ blocks), the shape checks, and
// the upload to a device: the result bits equal those of the explicit factored upload.
import { afterEach, describe, expect, it } from 'vitest';
import { connect } from '../../src/connect.ts';
import { ArgumentError } from '../../src/driver/index.ts';
import type { LayerBlockInput, SpuDriver } from '../../src/driver/index.ts';
import { checkLayered, expandLayeredJ } from '../../src/driver/layered.ts';
import { CONFIG, bitEqual, configureOptions, emulatedDriver, messageProxy } from './helpers.ts';
import { SpuDriver as Driver, duplexLink } from '../../src/driver/index.ts';
import { createEmulatedDevice } from '../../src/emulator/index.ts';
import { ErrorCode, tensorFromFloat64 } from '../../src/protocol/index.ts';
import type { Message } from '../../src/protocol/index.ts';
import { PROFILES, SpuCore } from '../../src/emulator/index.ts';

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

describe('expandLayeredJ', () => {
  it('every entry of J follows the definition (dense: D·A, bias: D, explicit: copied)', () => {
    const b = 3;
    const m = 2;
    const sys = randomLayered(b, m, 7);
    checkLayered(sys);
    const J = expandLayeredJ(sys);
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
    const J = expandLayeredJ({ n: 3, r: 1, b: 1, layers: [{ kind: 'dense', nIn: 2, nOut: 1, bias: true, A: [3, -2], D: [0.5] }] });
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

function expandedOf(sys: ReturnType<typeof randomLayered>) {
  return { form: 'factored' as const, n: sys.n, r: sys.r, J: expandLayeredJ(sys), core: CORE, scale: 0.5, lambda: 0.3 };
}
const CORE = { kind: 'identity' as const };
const FEATURES_WITHOUT_LAYERED = ['emulator', 'exact-integrator', 'sample-stream', 'delay', 'dense-curvature', 'factored-curvature', 'i16-dac'] as const;

async function runOn(dev: SpuDriver, c: Parameters<SpuDriver['uploadCurvature']>[0], g: Float64Array, opts = {}) {
  await dev.configure(configureOptions);
  const report = await dev.uploadCurvature(c, opts);
  await dev.uploadGradient(g);
  const result = await dev.run({ durationTau: 3, start: 'reset' }).result;
  return { report, result };
}

describe('uploading a layered curvature', () => {
  const sys = randomLayered(4, 2, 11);
  const g = Float64Array.from({ length: sys.n }, (_, i) => Math.sin(i));
  const layered = { form: 'layered' as const, ...sys, core: CORE, scale: 0.5, lambda: 0.3 };

  it('to a device with layered-curvature: sent as factors (fewer bytes), results bit-identical to the physics core on the same factors', async () => {
    const dev = await connect('emu:?seed=5', { heartbeatIntervalMs: 0 });
    open.push(dev);
    expect(dev.capabilities.features).toContain('layered-curvature');
    const { report, result } = await runOn(dev, layered, g);
    const factorNumbers = 4 * 5 + 8 * 4 + 8 * 7 + 4 * 4 + 8 * 3; // A, D of layer 0; J block; A, D of layer 2
    expect(report).toMatchObject({ n: sys.n, r: sys.r, bytes: 8 * factorNumbers });
    const core = new SpuCore({ maxCells: 4096, maxRank: 256, profile: PROFILES.ideal, seed: 5 });
    core.configure(CONFIG);
    const f64 = (v: ArrayLike<number>) => Float64Array.from(v);
    core.setCurvatureLayered({
      n: sys.n, r: sys.r, b: sys.b, core: CORE, scale: 0.5, lambda: 0.3,
      layers: sys.layers.map((l) => (l.kind === 'explicit' ? { ...l, J: f64(l.J) } : { ...l, A: f64(l.A), D: f64(l.D) })),
    });
    core.setGradient(g);
    const ref = core.run({ durationTau: 3, start: 'reset' });
    expect(bitEqual(result.mean, ref.mean) && bitEqual(result.final, ref.final)).toBe(true);
  });

  it('to a device without it: the explicit J is sent, and the results are those of the factored upload, bit for bit', async () => {
    const out = [];
    for (const c of [layered, expandedOf(sys)]) {
      const dev = await emulatedDriver({ seed: 5, capabilities: { features: [...FEATURES_WITHOUT_LAYERED] } });
      open.push(dev);
      expect(dev.capabilities.features).not.toContain('layered-curvature');
      out.push(await runOn(dev, c, g));
    }
    expect(out[0].report.bytes).toBe(8 * sys.r * sys.n);
    expect(bitEqual(out[0].result.mean, out[1].result.mean) && bitEqual(out[0].result.final, out[1].result.final)).toBe(true);
  });

  it('when more factor tensors need bulk transfers than the device can stage, the explicit J is sent instead', async () => {
    // 1024-byte frames, one staged transfer: the layered request needs several bulk transfers
    const big = randomLayered(16, 4, 12);
    const gb = Float64Array.from({ length: big.n }, (_, i) => Math.cos(i));
    const out = [];
    for (const c of [{ ...layered, ...big }, expandedOf(big)]) {
      const dev = await emulatedDriver({ seed: 6, maxFrameBytes: 1024, capabilities: { maxOpenTransfers: 1 } });
      open.push(dev);
      out.push(await runOn(dev, c, gb));
    }
    expect(out[0].report.bytes).toBe(8 * big.r * big.n);
    expect(bitEqual(out[0].result.final, out[1].result.final)).toBe(true);
  });

  it('i16: powers of two keep every factor within full scale (no saturation); results within quantisation of f64', async () => {
    // factors far beyond full scale (×64; a layer with bias keeps its inputs: its bias columns are
    // D alone, so its A cannot be shifted): without the shifts they would clamp at the rails
    const loud = randomLayered(4, 2, 13);
    for (const l of loud.layers) for (const v of l.kind === 'explicit' ? [l.J] : l.bias ? [l.D] : [l.A, l.D]) (v as Float64Array).forEach((x, i, a) => (a[i] = x * 64));
    const c = { form: 'layered' as const, ...loud, core: CORE, scale: 0.5 / 64 ** 2, lambda: 0.3 };
    const gl = Float64Array.from({ length: loud.n }, (_, i) => Math.sin(i));
    const res = [];
    for (const dtype of ['i16', 'f64'] as const) {
      const dev = await connect('emu:?seed=7', { heartbeatIntervalMs: 0 });
      open.push(dev);
      await dev.configure({ ...configureOptions, kappa0: 0 });
      const rep = await dev.uploadCurvature(c, { dtype });
      expect(rep.saturated).toBe(0);
      await dev.uploadGradient(gl);
      res.push((await dev.run({ durationTau: 3, start: 'reset' }).result).final!);
    }
    let err = 0;
    let mx = 0;
    for (let i = 0; i < loud.n; i++) {
      err = Math.max(err, Math.abs(res[0][i] - res[1][i]));
      mx = Math.max(mx, Math.abs(res[1][i]));
    }
    // the factored upload of the same J measures 4.8e-6 here; quantising D and A separately ~ twice that
    expect(err / mx).toBeLessThan(5e-5);
  });

  it('a malformed layered input is refused on the host and nothing is sent', async () => {
    const dev = await connect('emu:?seed=5', { heartbeatIntervalMs: 0 });
    open.push(dev);
    await expect(dev.uploadCurvature({ ...layered, b: 3 })).rejects.toThrow(ArgumentError);
    expect((await dev.status()).hasCurvature).toBe(false);
  });
});

describe('protocol minor negotiation', () => {
  it('a session at minor 2 (a 1.2 host): the device neither lists layered-curvature nor takes the form; the driver sends J', async () => {
    const hostAt12 = (m: Message): Message => (m.kind === 'HelloRequest' ? { ...m, body: { ...m.body, minor: 2 } } : m);
    const dev = await Driver.open(async () => duplexLink(messageProxy(createEmulatedDevice({ seed: 5 }), { up: hostAt12 }), 'host-1.2'), { heartbeatIntervalMs: 0 });
    open.push(dev);
    expect(dev.info.protocol.minor).toBe(2);
    expect(dev.capabilities.features).not.toContain('layered-curvature');
    await dev.configure(configureOptions);
    const raw = {
      form: 'layered' as const, n: 3, r: 1, b: 1, core: { kind: 'identity' as const }, scale: 1, lambda: 0.5,
      layers: [{ kind: 'dense' as const, bias: true, a: tensorFromFloat64([1, 2], [1, 2], 'f64'), d: tensorFromFloat64([0.5], [1, 1], 'f64') }],
    };
    await expect(dev.request('Curvature', raw)).rejects.toMatchObject({ code: ErrorCode.DTYPE_UNSUPPORTED });
    const up = await dev.uploadCurvature({ form: 'layered', n: 3, r: 1, b: 1, layers: [{ kind: 'dense', nIn: 2, nOut: 1, bias: true, A: [1, 2], D: [0.5] }], core: { kind: 'identity' } , lambda: 0.5 });
    expect(up.bytes).toBe(3 * 8); // the explicit J, 1 × 3
  });
});
