// Emulator physics: Euler step throughput against a same-run streaming-read baseline, exact vs
// Euler integrator time, and peak memory of the largest factored configuration.
import { loadavg } from 'node:os';
import { setFlagsFromString } from 'node:v8';
import { runInNewContext } from 'node:vm';
import type { BenchRow, BenchSuite } from './harness.ts';
import { PROFILES, SpuCore } from '../src/emulator/physics/index.ts';
import { FactoredCoupling } from '../src/emulator/physics/couplings.ts';
import { spectralV1 } from './baselines/spectral-v1.ts';
import { symmetricEigen } from '../src/emulator/physics/linalg.ts';

const DT = 0.1;

function makeCore(n: number, r: number, seed = 1): SpuCore {
  const c = new SpuCore({ maxCells: n, maxRank: r, profile: PROFILES.ideal, seed });
  const J = new Float64Array(r * n);
  let s = 0x9e3779b9;
  for (let i = 0; i < J.length; i++) {
    s = (Math.imul(s, 1664525) + 1013904223) >>> 0;
    J[i] = (s / 4294967296 - 0.5) * 0.02;
  }
  // 2×2 PSD blocks (block-diagonal H, the GGN layout); λ = 0.01 as in the paper's MNIST runs.
  const blocks = new Float64Array(r * 2);
  for (let b = 0; b < r / 2; b++) blocks.set([0.25, -0.1, -0.1, 0.25], b * 4);
  c.setCurvatureFactored({ n, r, J, core: { kind: 'block', dz: 2, blocks }, scale: 1 / 64, lambda: 0.01 }, { transfer: true });
  c.setGradient(new Float64Array(n).fill(0.01));
  return c;
}

/** A plain streaming sum over `len` doubles: what reading one step's bytes costs at minimum. */
function streamSum(buf: Float64Array): number {
  let acc = 0;
  for (let i = 0; i < buf.length; i++) acc += buf[i];
  return acc;
}

let sink = 0;

const median = (v: number[]) => [...v].sort((x, y) => x - y)[Math.floor(v.length / 2)];
/** CPU seconds of f (user + system): less sensitive than wall time to other processes on a shared machine. */
const cpuSeconds = (f: () => void) => {
  const t = process.cpuUsage();
  f();
  const d = process.cpuUsage(t);
  return (d.user + d.system) / 1e6;
};
const seconds = (f: () => void) => {
  const t = process.hrtime.bigint();
  f();
  return Number(process.hrtime.bigint() - t) / 1e9;
};

/** Euler step vs streaming sum, measured alternately so machine load hits both alike. */
function eulerRow(n: number, r: number, quick: boolean): BenchRow {
  const c = makeCore(n, r);
  c.configure({ kappa0: 1e-3, integrator: { kind: 'euler', dtTau: DT }, samplePeriodTau: DT, burnInTau: 0 });
  const elems = r * n + 3 * n; // J once, x, g and the drift vector
  const bytes = 8 * elems;
  const steps = Math.max(2, Math.min(200, Math.round((quick ? 2e7 : 6e7) / elems)));
  const reps = r * n >= 1e7 ? 3 : 7;
  const buf = new Float64Array(elems).fill(1e-9);
  const run = () => void c.run({ durationTau: steps * DT, start: 'carry' });
  const base = () => {
    for (let k = 0; k < steps; k++) sink += streamSum(buf);
  };
  run();
  base();
  const ts: number[] = [];
  const tb: number[] = [];
  for (let i = 0; i < reps; i++) {
    ts.push(seconds(run) / steps);
    tb.push(seconds(base) / steps);
  }
  const tRun = median(ts);
  const tBase = median(tb);
  return {
    case: `euler N=${n} r=${r}`,
    value: 1 / tRun,
    unit: 'steps/s',
    baseline: 1 / tBase,
    ratio: tRun / tBase,
    note: 'ratio = step time / streaming-sum time over the same bytes (lower is better; target ≤ 1.2, issue 11)',
    GBps: bytes / tRun / 1e9,
    baselineGBps: bytes / tBase / 1e9,
  };
}

/** Exact (t = 50τ, one draw) vs Euler (δt = 0.1τ, 500 steps), alternately, fresh upload each time. */
function exactRows(n: number, r: number, reps: number): BenchRow[] {
  const T = 50;
  const c = makeCore(n, r, 2);
  const J = new Float64Array(r * n);
  for (let i = 0; i < J.length; i++) J[i] = Math.sin(i * 0.37) * 0.01;
  const blocks = new Float64Array(r * 2);
  for (let b = 0; b < r / 2; b++) blocks.set([0.25, -0.1, -0.1, 0.25], b * 4);
  const upload = () => c.setCurvatureFactored({ n, r, J, core: { kind: 'block', dz: 2, blocks }, scale: 1 / 64, lambda: 0.01 });
  const euler = { kappa0: 1e-3, integrator: { kind: 'euler' as const, dtTau: DT }, samplePeriodTau: DT, burnInTau: 0 };
  const exact = { kappa0: 1e-3, integrator: { kind: 'exact' as const }, samplePeriodTau: DT, burnInTau: 0 };
  const te: number[] = [];
  const tx: number[] = [];
  const tc: number[] = [];
  // round 0 warms the JIT (a training loop runs this hundreds of times) and is not recorded
  for (let i = 0; i <= reps; i++) {
    upload();
    c.configure(euler);
    te.push(seconds(() => void c.run({ durationTau: T })));
    upload(); // new factor: the exact run pays its O(N r² + r³) set-up
    c.configure(exact);
    tx.push(seconds(() => void c.run({ durationTau: T })));
    tc.push(seconds(() => void c.run({ durationTau: T })));
    if (i === 0) {
      te.length = 0;
      tx.length = 0;
      tc.length = 0;
    }
  }
  const tEuler = median(te), tFirst = median(tx), tRun = median(tc);
  return [
    { case: `exact incl. set-up, t=50τ N=${n} r=${r}`, value: tFirst, unit: 's/run', baseline: tEuler, ratio: tEuler / tFirst, note: 'baseline = Euler δt=0.1τ (500 steps); ratio = Euler/exact (higher is better; target ≥ 10 at r=64)' },
    { case: `exact per run (set-up cached) N=${n} r=${r}`, value: tRun, unit: 's/run', baseline: tEuler, ratio: tEuler / tRun, note: 'same upload run again (e.g. several runs per iteration)' },
  ];
}

/**
 * Cost of the Euler step check (EMULATOR.md §9.1.1) where the cheap bound does not clear δt, so
 * the power-iteration estimate runs: a TNGD-sized run (t = 5τ, δt = 0.1τ: 50 steps) right after
 * a fresh upload, against the same run again with the estimate cached.
 */
function stabilityRow(n: number, r: number, reps: number): BenchRow {
  const c = makeCore(n, r, 4);
  const J = new Float64Array(r * n);
  let s = 0x2545f491;
  for (let i = 0; i < J.length; i++) {
    s = (Math.imul(s, 1664525) + 1013904223) >>> 0;
    J[i] = s / 4294967296 - 0.5; // U ≈ 290 ≫ λmax ≈ 5: the bound cannot decide at δt = 0.1τ
  }
  const blocks = new Float64Array(r * 2);
  for (let b = 0; b < r / 2; b++) blocks.set([0.25, -0.1, -0.1, 0.25], b * 4);
  c.configure({ kappa0: 1e-3, integrator: { kind: 'euler', dtTau: DT }, samplePeriodTau: DT, burnInTau: 0 });
  const tf: number[] = [];
  const tc: number[] = [];
  let it = 0;
  for (let i = 0; i <= reps; i++) {
    J[0] = J[0] + 2 ** -20; // a new system each time: λ̂ is cached by content across uploads
    c.setCurvatureFactored({ n, r, J, core: { kind: 'block', dz: 2, blocks }, scale: 1 / 64, lambda: 0.01 });
    tf.push(seconds(() => void c.run({ durationTau: 5 })));
    tc.push(seconds(() => void c.run({ durationTau: 5 })));
    it = c.lambdaMax().iterations;
    if (i === 0) {
      tf.length = 0;
      tc.length = 0;
    }
  }
  const tFirst = median(tf), tCached = median(tc);
  return {
    case: `euler 50-step run after upload, λ̂ estimated, N=${n} r=${r}`,
    value: tFirst,
    unit: 's/run',
    baseline: tCached,
    ratio: tFirst / tCached,
    note: `baseline = the same run again (estimate cached); ${it} power iterations; ratio − 1 = the check's share`,
  };
}

/**
 * The exact integrator's set-up for one upload at the quickstart size (mlp:196-16-10, b = 16:
 * N = 3,322, r = 160, softmax blocks d_z = 10): numerics version 2 (one p×p eigendecomposition)
 * against the version-1 code (two eigendecompositions, strided r³ products), alternately, after
 * `warm` discarded rounds (a training loop runs this once per iteration, hundreds of times).
 * Two rows: the set-up alone (Gram + spectral data, on an uploaded J: issue 11's target), and the
 * upload (J into the kernels' memory) plus the set-up. Each upload is retired afterwards, as the
 * core retires a system it replaces, so the next one reuses its kernel memory.
 */
function spectralRows(reps: number, warm: number): BenchRow[] {
  const n = 3322, r = 160, dz = 10, s = 1 / 16, lambda = 0.1;
  const J = new Float64Array(r * n);
  let st = 0x51ed270b;
  for (let i = 0; i < J.length; i++) {
    st = (Math.imul(st, 1664525) + 1013904223) >>> 0;
    J[i] = (st / 4294967296 - 0.5) * 0.1;
  }
  const blocks = new Float64Array(r * dz);
  for (let b = 0; b < r / dz; b++) {
    const e = Array.from({ length: dz }, (_, i) => Math.exp(Math.sin(7 * b + i)));
    const z = e.reduce((a, v) => a + v, 0);
    const p = e.map((v) => v / z);
    for (let i = 0; i < dz; i++) for (let j = 0; j < dz; j++) blocks[b * dz * dz + i * dz + j] = (i === j ? p[i] : 0) - p[i] * p[j];
  }
  const C = new Float64Array(r * r);
  for (let b0 = 0; b0 < r; b0 += dz)
    for (let k = 0; k < dz; k++) for (let l = 0; l < dz; l++) C[(b0 + k) * r + b0 + l] = s * blocks[b0 * dz + k * dz + l];
  const core = { kind: 'block' as const, dz, blocks };
  // wall and CPU seconds of each part, per round
  const t = { up: [] as number[], setup: [] as number[], v1: [] as number[], cUp: [] as number[], cSetup: [] as number[], cV1: [] as number[] };
  let q = 0;
  for (let i = 0; i < warm + reps; i++) {
    let c = 0;
    let op: FactoredCoupling | null = null;
    const wUp = seconds(() => void (c = cpuSeconds(() => void (op = new FactoredCoupling(n, r, J, core, s, lambda)))));
    const cUp = c;
    const wSetup = seconds(() => void (c = cpuSeconds(() => void (q = op!.getSpectral().q))));
    const cSetup = c;
    op!.store.dispose();
    const wV1 = seconds(() => void (c = cpuSeconds(() => void spectralV1(J, n, r, C, lambda))));
    if (i < warm) continue;
    t.up.push(wUp);
    t.cUp.push(cUp);
    t.setup.push(wSetup);
    t.cSetup.push(cSetup);
    t.v1.push(wV1);
    t.cV1.push(c);
  }
  const sum = (a: number[], b: number[]) => a.map((v, i) => v + b[i]);
  const v1 = median(t.v1), cV1 = median(t.cV1);
  const setup = median(t.setup), cSetup = median(t.cSetup);
  const both = median(sum(t.up, t.setup)), cBoth = median(sum(t.cUp, t.cSetup));
  const base = 'baseline = numerics-v1 set-up (bench/baselines/spectral-v1.ts, main at cc40a6f), alternating; ratio = v1/new wall medians (higher is better), cpuRatio the same in CPU seconds';
  return [
    {
      case: `exact spectral set-up N=${n} r=${r} (softmax blocks; Gram + spectral data)`,
      value: setup,
      unit: 's/upload',
      baseline: v1,
      ratio: v1 / setup,
      note: `${base}; target ≥ 8 (issue 11); q = ${q}; ${reps} rounds after ${warm} warm-up`,
      cpuSeconds: cSetup,
      baselineCpuSeconds: cV1,
      cpuRatio: cV1 / cSetup,
      loadAverage: loadavg()[0],
    },
    {
      case: `upload + exact spectral set-up N=${n} r=${r}`,
      value: both,
      unit: 's/upload',
      baseline: v1,
      ratio: v1 / both,
      note: `${base}; upload = J copied into the kernels' (pooled) memory`,
      uploadSeconds: median(t.up),
      cpuSeconds: cBoth,
      baselineCpuSeconds: cV1,
      cpuRatio: cV1 / cBoth,
    },
  ];
}

/**
 * The device side of one TNGD iteration at the paper's MNIST setting (mlp:196-32-10, b = 64:
 * N = 6,634, r = 640, softmax blocks d_z = 10; λ = 0.01, t = 50τ, exact): upload, the exact
 * run's set-up and the run. Baseline: the numerics-v1 spectral set-up of the same upload.
 */
/** r/dz softmax cross-entropy blocks diag(p) − ppᵀ with fixed, distinct probabilities. */
function softmaxBlocks(r: number, dz: number): Float64Array {
  const blocks = new Float64Array(r * dz);
  for (let b = 0; b < r / dz; b++) {
    const e = Array.from({ length: dz }, (_, i) => Math.exp(Math.sin(3 * b + i)));
    const z = e.reduce((a, v) => a + v, 0);
    const p = e.map((v) => v / z);
    for (let i = 0; i < dz; i++) for (let j = 0; j < dz; j++) blocks[b * dz * dz + i * dz + j] = (i === j ? p[i] : 0) - p[i] * p[j];
  }
  return blocks;
}

/** One device step of the MNIST setting (b = 64: scale 1/64, λ = 0.01, t = 50τ): upload, exact set-up, run. */
function mnistDeviceStep(n: number, r: number, dz: number, J: Float64Array, blocks: Float64Array): () => void {
  const c = new SpuCore({ maxCells: n, maxRank: r, profile: PROFILES.ideal, seed: 5 });
  c.configure({ kappa0: 1e-3, integrator: { kind: 'exact' }, samplePeriodTau: 0.1, burnInTau: 0 });
  const g = new Float64Array(n).fill(0.01);
  return () => {
    c.setCurvatureFactored({ n, r, J, core: { kind: 'block', dz, blocks }, scale: 1 / 64, lambda: 0.01 });
    c.setGradient(g);
    c.run({ durationTau: 50, start: 'gradient' });
  };
}

function mnistRow(): BenchRow {
  const n = 6634, r = 640, dz = 10;
  const J = new Float64Array(r * n);
  let st = 0x2b7e1516;
  for (let i = 0; i < J.length; i++) {
    st = (Math.imul(st, 1664525) + 1013904223) >>> 0;
    J[i] = (st / 4294967296 - 0.5) * 0.1;
  }
  const blocks = softmaxBlocks(r, dz);
  const step = mnistDeviceStep(n, r, dz, J, blocks);
  let cpu = 0;
  step(); // warm-up
  const wall = seconds(() => void (cpu = cpuSeconds(step)));
  const C = new Float64Array(r * r);
  for (let b0 = 0; b0 < r; b0 += dz)
    for (let k = 0; k < dz; k++) for (let l = 0; l < dz; l++) C[(b0 + k) * r + b0 + l] = blocks[b0 * dz + k * dz + l] / 64;
  let cpuV1 = 0;
  const wallV1 = seconds(() => void (cpuV1 = cpuSeconds(() => void spectralV1(J, n, r, C, 0.01))));
  return {
    case: `TNGD device step, MNIST setting N=${n} r=${r} (upload + exact set-up + run, t=50τ)`,
    value: wall,
    unit: 's/step',
    baseline: wallV1,
    ratio: wallV1 / wall,
    note: 'baseline = the numerics-v1 spectral set-up alone for this upload; target ≤ 1.3 s per training iteration (device + host)',
    cpuSeconds: cpu,
    baselineCpuSeconds: cpuV1,
  };
}

/**
 * Issue 11 deliverable 3's measurement: the p×p symmetric eigensolver (p = 9r/10, the rank of r/10
 * softmax blocks) at r = 320 and 640 against the whole device step of that size (upload + exact
 * set-up + run, t = 50τ, N = 6,634, dense random J; the Gram dominates the rest). ratio = the
 * eigensolver's share of the step: where it is large, a divide-and-conquer tridiagonal step would pay.
 */
function eigenRows(): BenchRow[] {
  const n = 6634, dz = 10;
  return [320, 640].map((r) => {
    const p = (9 * r) / 10;
    let st = 0x3c6ef372;
    const u = () => ((st = (Math.imul(st, 1664525) + 1013904223) >>> 0), st / 4294967296 - 0.5);
    const T = new Float64Array(p * p);
    for (let i = 0; i < p; i++)
      for (let j = 0; j <= i; j++) {
        const v = u() + (i === j ? 2 : 0);
        T[i * p + j] = v;
        T[j * p + i] = v;
      }
    const J = new Float64Array(r * n).map(() => u() * 0.1);
    const step = mnistDeviceStep(n, r, dz, J, softmaxBlocks(r, dz));
    const te: number[] = [];
    const ts: number[] = [];
    for (let i = 0; i < 4; i++) {
      te.push(seconds(() => void symmetricEigen(T, p)));
      ts.push(seconds(step));
    }
    te.shift(); // warm-up
    ts.shift();
    const tEig = median(te), tStep = median(ts);
    return {
      case: `symmetric eigensolver p=${p} (r=${r}) vs device step N=${n}`,
      value: tEig,
      unit: 's',
      baseline: tStep,
      ratio: tEig / tStep,
      note: 'baseline = upload + exact set-up + run (t=50τ) at this r; ratio = the eigensolver\'s share (issue 11 deliverable 3: divide and conquer only where it pays)',
    };
  });
}

/** A callable gc() without --expose-gc on the command line (so the baseline holds no garbage). */
function getGc(): () => void {
  setFlagsFromString('--expose_gc');
  return runInNewContext('gc') as () => void;
}

function memoryRow(quick: boolean): BenchRow {
  const n = 100_000, r = 640;
  const gc = getGc();
  gc();
  const before = process.memoryUsage();
  let peakAb = before.arrayBuffers;
  let peakRss = before.rss;
  const sample = () => {
    const m = process.memoryUsage();
    peakAb = Math.max(peakAb, m.arrayBuffers);
    peakRss = Math.max(peakRss, m.rss);
  };
  const c = makeCore(n, r, 3);
  gc();
  sample();
  c.configure({ kappa0: 1e-3, integrator: { kind: 'euler', dtTau: DT }, samplePeriodTau: DT, burnInTau: 0 });
  const t0 = process.hrtime.bigint();
  c.run({ durationTau: 3 * DT });
  const tStep = Number(process.hrtime.bigint() - t0) / 1e9 / 3;
  sample();
  let tSetup = NaN;
  if (!quick) {
    c.configure({ kappa0: 1e-3, integrator: { kind: 'exact' }, samplePeriodTau: DT, burnInTau: 0 });
    const t1 = process.hrtime.bigint();
    c.run({ durationTau: 50 });
    tSetup = Number(process.hrtime.bigint() - t1) / 1e9;
    sample();
  }
  const jBytes = 8 * r * n;
  // J lives in WebAssembly memory, which process.memoryUsage().arrayBuffers does not count: the
  // figure is the growth of the resident set (J, the kernels' vectors, the upload's transient copy).
  return {
    case: `peak memory N=1e5 r=640${quick ? ' (Euler only)' : ' (Euler + exact)'}`,
    value: (peakRss - before.rss) / 2 ** 20,
    unit: 'MiB rss growth',
    baseline: jBytes / 2 ** 20,
    ratio: (peakRss - before.rss) / jBytes,
    note: 'baseline = bytes of J in f64 (held once, in the kernels\' WASM memory); arrayBuffers growth alongside',
    arrayBuffersMiB: (peakAb - before.arrayBuffers) / 2 ** 20,
    rssPeakMiB: peakRss / 2 ** 20,
    eulerStepSeconds: tStep,
    exactFirstRunSeconds: tSetup,
  };
}

/**
 * TNGD_BENCH_ONLY=spectral,mnist (comma-separated: memory, euler, spectral, mnist, eigen, exact,
 * stability) runs only those row groups; unset runs all.
 */
const only = process.env.TNGD_BENCH_ONLY?.split(',').map((s) => s.trim());
const want = (group: string) => !only || only.includes(group);

const suite: BenchSuite = {
  name: 'emulator',
  async run({ quick }) {
    const rows: BenchRow[] = want('memory') ? [memoryRow(quick)] : []; // first, before other rows leave garbage behind
    const Ns = quick ? [1000, 10000] : [1000, 10000, 100000];
    const Rs = quick ? [10, 64] : [10, 64, 320, 640];
    if (want('euler')) {
      for (const n of Ns) for (const r of Rs) rows.push(eulerRow(n, r, quick));
      if (quick) rows.push(eulerRow(10000, 320, quick)); // issue 11's second target size
    }
    if (want('spectral')) rows.push(...spectralRows(quick ? 9 : 21, 3));
    if (want('mnist')) rows.push(mnistRow());
    if (want('eigen')) rows.push(...eigenRows());
    if (want('exact')) rows.push(...exactRows(10000, 64, quick ? 2 : 3));
    if (want('stability')) rows.push(stabilityRow(10000, 64, quick ? 3 : 5));
    if (!quick && want('exact')) rows.push(...exactRows(10000, 320, 2));
    if (sink === 42) console.log('');
    return rows;
  },
};
export default suite;
