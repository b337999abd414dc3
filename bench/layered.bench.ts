// Layered curvature (issue 13, device side): the emulator's set-up and per-iteration cost with the
// layered form against the explicit factored J it stands for, and the numbers a quickstart
// iteration puts on the wire. Both forms run in the same process, alternately; ratios are
// explicit / layered (higher is better for the layered form).
//   npx tsx bench/run.ts --quick layered
import { connect } from '../src/connect.ts';
import type { CurvatureInput, LayerBlockInput } from '../src/driver/index.ts';
import { expandLayeredJ } from '../src/driver/layered.ts';
import { PROFILES, SpuCore } from '../src/emulator/index.ts';
import type { CoreSpec, LayerFactors } from '../src/emulator/physics/index.ts';
import { FactoredCoupling } from '../src/emulator/physics/couplings.ts';
import { LayeredCoupling } from '../src/emulator/physics/layered-coupling.ts';
import type { BenchRow, BenchSuite } from './harness.ts';

interface Net {
  label: string;
  dims: number[];
  b: number;
  /** rows per sample (d_z, the softmax outputs) */
  m: number;
}

/** Random factors of an MLP's GGN: post-activation inputs in [0, 1) (and the raw input), sensitivities ±0.1. */
function factors(net: Net) {
  let st = 0x2545f491;
  const u = () => {
    st = (Math.imul(st, 1664525) + 1013904223) >>> 0;
    return st / 4294967296;
  };
  const { dims, b, m } = net;
  const r = b * m;
  const layers: LayerFactors[] = [];
  for (let l = 0; l + 1 < dims.length; l++) {
    const nIn = dims[l], nOut = dims[l + 1];
    layers.push({
      kind: 'dense', nIn, nOut, bias: true,
      A: Float64Array.from({ length: b * nIn }, u),
      D: Float64Array.from({ length: r * nOut }, () => (u() - 0.5) * 0.2),
    });
  }
  const n = layers.reduce((s, l) => s + (l.kind === 'dense' ? l.nOut * (l.nIn + 1) : l.cols), 0);
  const blocks = new Float64Array(r * m);
  for (let s = 0; s < b; s++) {
    const e = Array.from({ length: m }, (_, i) => Math.exp(Math.sin(3 * s + i)));
    const z = e.reduce((a, v) => a + v, 0);
    const p = e.map((v) => v / z);
    for (let i = 0; i < m; i++) for (let j = 0; j < m; j++) blocks[s * m * m + i * m + j] = (i === j ? p[i] : 0) - p[i] * p[j];
  }
  const core: CoreSpec = { kind: 'block', dz: m, blocks };
  const J = expandLayeredJ({ n, r, b, layers: layers as LayerBlockInput[] });
  return { n, r, b, layers, core, J, scale: 1 / b, lambda: 0.01 };
}

const now = () => Number(process.hrtime.bigint()) / 1e9;
const median = (v: number[]) => [...v].sort((a, b) => a - b)[Math.floor(v.length / 2)];

/** Emulator set-up (upload + the exact integrator's spectral set-up) and one exact run of 50τ. */
function emulatorRows(net: Net, reps: number): BenchRow[] {
  const f = factors(net);
  const { n, r } = f;
  const setup = { layered: [] as number[], factored: [] as number[] };
  const run = { layered: [] as number[], factored: [] as number[] };
  const g = Float64Array.from({ length: n }, (_, i) => Math.sin(i) * 0.01);
  const cores = { layered: null as SpuCore | null, factored: null as SpuCore | null };
  // rep 0 warms the JIT up for both forms and is not counted
  for (let i = 0; i <= reps; i++)
    for (const form of ['layered', 'factored'] as const) {
      const c = new SpuCore({ maxCells: n, maxRank: r, profile: PROFILES.ideal, seed: 5 });
      c.configure({ kappa0: 1e-3, integrator: { kind: 'exact' }, samplePeriodTau: 0.1, burnInTau: 0 });
      c.setGradient(g);
      const t = now();
      if (form === 'layered') c.setCurvatureLayered(f);
      else c.setCurvatureFactored({ n, r, J: f.J, core: f.core, scale: f.scale, lambda: f.lambda });
      c.run({ durationTau: 50, start: 'reset' }); // first exact run: the spectral set-up, then the run
      const first = now() - t;
      cores[form] = c;
      if (i > 0) setup[form].push(first);
    }
  // per-run cost after set-up: 9 alternating runs per form, medians
  for (let i = 0; i < 9; i++)
    for (const form of ['layered', 'factored'] as const) {
      const t = now();
      cores[form]!.run({ durationTau: 50, start: 'carry' });
      run[form].push(now() - t);
    }
  const rows: BenchRow[] = [];
  const sL = median(setup.layered), sF = median(setup.factored);
  rows.push({ case: `${net.label}: upload + exact set-up + first run (N=${n}, r=${r})`, value: sL, unit: 's/upload', baseline: sF, ratio: sF / sL, note: 'baseline = the explicit factored J; ratio = explicit / layered' });
  const rL = median(run.layered), rF = median(run.factored);
  rows.push({ case: `${net.label}: exact run 50τ after set-up`, value: rL, unit: 's/run', baseline: rF, ratio: rF / rL, note: 'per-iteration device cost, median of 9 alternating runs; ratio = explicit / layered' });
  // Euler: the drift product A·x per step
  const lay = new LayeredCoupling(n, r, f.b, f.layers, f.core, f.scale, f.lambda);
  const fac = new FactoredCoupling(n, r, f.J, f.core, f.scale, f.lambda);
  const x = Float64Array.from({ length: n }, (_, i) => Math.cos(i));
  const out = new Float64Array(n);
  const k = reps > 1 ? 200 : 50;
  const tL: number[] = [], tF: number[] = [];
  for (let i = 0; i < 3; i++) {
    let t = now();
    for (let j = 0; j < k; j++) lay.apply(x, out);
    tL.push((now() - t) / k);
    t = now();
    for (let j = 0; j < k; j++) fac.apply(x, out);
    tF.push((now() - t) / k);
  }
  const aL = median(tL), aF = median(tF);
  rows.push({ case: `${net.label}: drift product A·x (an Euler step's cost)`, value: aL, unit: 's/product', baseline: aF, ratio: aF / aL, note: 'baseline = explicit J in the WASM kernels; ratio = explicit / layered' });
  return rows;
}

/** Numbers and time of the quickstart curvature upload over the in-process link, both forms. */
async function wireRows(net: Net, reps: number): Promise<BenchRow[]> {
  const f = factors(net);
  const layered: CurvatureInput = { form: 'layered', n: f.n, r: f.r, b: f.b, layers: f.layers as LayerBlockInput[], core: f.core, scale: f.scale, lambda: f.lambda };
  const dev = await connect('emu:?seed=5&maxCells=8192&maxRank=1024&memoryBytes=1073741824', { heartbeatIntervalMs: 0 });
  const noLayered = await connect('emu:?seed=5&maxCells=8192&maxRank=1024&memoryBytes=1073741824', {
    heartbeatIntervalMs: 0,
    emulator: { capabilities: { features: ['emulator', 'exact-integrator', 'sample-stream', 'delay', 'dense-curvature', 'factored-curvature', 'i16-dac'] } },
  });
  const bytes = { layered: 0, explicit: 0 };
  const t = { layered: [] as number[], explicit: [] as number[] };
  try {
    for (const d of [dev, noLayered]) await d.configure({ kappa0: 1e-3, integrator: { kind: 'exact' } });
    for (let i = 0; i < reps + 1; i++) {
      let s = now();
      bytes.layered = (await dev.uploadCurvature(layered)).bytes;
      const a = now() - s;
      s = now();
      // the fallback: the driver expands J on the host and sends it
      bytes.explicit = (await noLayered.uploadCurvature(layered)).bytes;
      const b = now() - s;
      if (i > 0) {
        t.layered.push(a);
        t.explicit.push(b);
      }
    }
  } finally {
    await dev.close();
    await noLayered.close();
  }
  const nL = bytes.layered / 8, nE = bytes.explicit / 8;
  const uL = median(t.layered), uE = median(t.explicit);
  return [
    { case: `${net.label}: numbers on the wire per curvature upload`, value: nL, unit: 'f64 numbers', baseline: nE, ratio: nE / nL, note: 'factors + core vs explicit J + core (driver upload reports); target ratio ≥ 50' },
    { case: `${net.label}: uploadCurvature, in-process link (host prep + link + device realise)`, value: uL, unit: 's/upload', baseline: uE, ratio: uE / uL, note: 'baseline = the explicit fallback (host expands J); exact set-up not included' },
  ];
}

const QUICKSTART: Net = { label: 'quickstart mlp:196-16-10 b=16', dims: [196, 16, 10], b: 16, m: 10 };
const MNIST: Net = { label: 'MNIST mlp:196-32-10 b=64', dims: [196, 32, 10], b: 64, m: 10 };
const MNIST784: Net = { label: 'mlp:784-32-10 b=64', dims: [784, 32, 10], b: 64, m: 10 };

const suite: BenchSuite = {
  name: 'layered',
  async run({ quick }) {
    const reps = quick ? 1 : 3;
    return [
      ...(await wireRows(QUICKSTART, quick ? 3 : 7)),
      ...(await wireRows(MNIST, quick ? 1 : 3)),
      ...emulatorRows(QUICKSTART, reps),
      ...emulatorRows(MNIST, reps),
      ...(quick ? [] : emulatorRows(MNIST784, 1)),
    ];
  },
};
export default suite;
