// Regenerates firmware-spec/vectors/emulator/{prng.json,detmath.json,digests.json,stability.json}.
// Run: npx tsx scripts/gen-emulator-vectors.ts  (deterministic: same files on every machine).
// A change here or in src/emulator/physics numerics must come with the regenerated vectors and
// a numerics-version bump in firmware-spec/EMULATOR.md.
import { mkdirSync, writeFileSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import {
  DOMAIN, PROFILES, SpuCore, expDet, expm1Det, gaussianAt, logDet, normInv, layeredOf, philox4x32, replayScenario, seedKey, wordToUniform,
  type Scenario, type ScenarioOp,
} from '../src/emulator/physics/index.ts';

const out = join(dirname(fileURLToPath(import.meta.url)), '..', 'firmware-spec', 'vectors', 'emulator');
mkdirSync(out, { recursive: true });
const hex = (x: number) => x.toString(16).padStart(8, '0');
const bits = (x: number) => Buffer.from(new Float64Array([x]).buffer).readBigUInt64LE().toString(16).padStart(16, '0');
// One number array per line keeps the files readable and diffs small.
const write = (name: string, obj: unknown) =>
  writeFileSync(join(out, name), JSON.stringify(obj, null, 1).replace(/\[\s*(-?[\d.e+-]+(?:,\s*-?[\d.e+-]+)*)\s*\]/g, (_m, body: string) => '[' + body.replace(/\s+/g, '') + ']') + '\n');

// —— PRNG ——
const w = new Uint32Array(4);
const kat = [
  { counter: [0, 0, 0, 0], key: [0, 0] },
  { counter: [0xffffffff, 0xffffffff, 0xffffffff, 0xffffffff], key: [0xffffffff, 0xffffffff] },
  { counter: [0x243f6a88, 0x85a308d3, 0x13198a2e, 0x03707344], key: [0xa4093822, 0x299f31d0] },
].map(({ counter, key }) => {
  philox4x32(counter[0], counter[1], counter[2], counter[3], key[0], key[1], w);
  return { counter: counter.map(hex), key: key.map(hex), output: Array.from(w, hex) };
});
const seed = 20240517;
const [k0, k1] = seedKey(seed);
const gaussians = [];
for (const [c1, c2, c3] of [[0, 0, DOMAIN.euler], [7, 3, DOMAIN.euler], [1, 0, DOMAIN.exactModes], [5, 0, DOMAIN.mismatchJ]]) {
  for (const i of [0, 1, 2, 3, 4, 1001]) {
    philox4x32(Math.floor(i / 4), c1, c2, c3, k0, k1, w);
    const u = wordToUniform(w[i & 3]);
    const z = gaussianAt(k0, k1, c1, c2, c3, i);
    gaussians.push({ c1, c2, c3, index: i, word: hex(w[i & 3]), uniform: u, uniformBits: bits(u), gaussian: z, gaussianBits: bits(z) });
  }
}
// Tail coverage of the quantile: uniforms near 0 and 1 (both tail branches of AS 241).
const tails = [2 ** -33, 2 ** -20, 1e-6, 0.01, 0.07, 0.3, 0.5, 0.93, 0.999, 1 - 2 ** -33].map((u) => ({ uniform: u, uniformBits: bits(u), gaussian: normInv(u), gaussianBits: bits(normInv(u)) }));
write('prng.json', {
  description: 'Philox-4x32-10 known answers (Random123), and the Gaussian stream of EMULATOR.md §Noise for seed ' + seed + ' (key words ' + hex(k0) + ', ' + hex(k1) + '). Bits are IEEE-754 binary64 as 16 hex digits.',
  seed, key: [hex(k0), hex(k1)], philoxKnownAnswers: kat, gaussians, quantileTails: tails,
});

// —— deterministic elementary functions ——
const xs = [1e-300, 2 ** -52, 1e-10, 0.001, 0.1, 0.5, 0.7071, 1, 1.5, 2, 10, 12345.678];
const es = [-745, -300, -20, -1, -0.3466, -0.1, -1e-9, 0, 1e-9, 0.3, 1, 20, 700];
write('detmath.json', {
  description: 'logDet, expDet, expm1Det of EMULATOR.md §Elementary functions; bit patterns are normative.',
  log: xs.map((x) => ({ x, xBits: bits(x), y: logDet(x), yBits: bits(logDet(x)) })),
  exp: es.map((x) => ({ x, xBits: bits(x), y: expDet(x), yBits: bits(expDet(x)) })),
  expm1: es.filter((x) => x < 700).map((x) => ({ x, xBits: bits(x), y: expm1Det(x), yBits: bits(expm1Det(x)) })),
});

// —— canonical scenarios ——
function mulberry(s: number): () => number {
  let a = s >>> 0;
  return () => {
    a = (a + 0x6d2b79f5) >>> 0;
    let t = a;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
}
// Inputs are generated once here and stored verbatim in the JSON (a port reads them, never regenerates).
function spd(n: number, s: number): number[] {
  const u = mulberry(s);
  const B = Array.from({ length: n * n }, () => u() * 2 - 1);
  const A = new Array<number>(n * n).fill(0);
  for (let i = 0; i < n; i++)
    for (let j = 0; j <= i; j++) {
      let acc = 0;
      for (let k = 0; k < n; k++) acc += B[i * n + k] * B[j * n + k];
      A[i * n + j] = A[j * n + i] = acc / n + (i === j ? 0.4 : 0);
    }
  return A;
}
function vec(n: number, s: number, scale: number): number[] {
  const u = mulberry(s);
  return Array.from({ length: n }, () => (u() * 2 - 1) * scale);
}
function softmaxBlocks(b: number, dz: number, s: number): number[] {
  const u = mulberry(s);
  const out: number[] = [];
  for (let k = 0; k < b; k++) {
    const e = Array.from({ length: dz }, () => 1 + 3 * u());
    const z = e.reduce((a, v) => a + v, 0);
    const p = e.map((v) => v / z);
    for (let i = 0; i < dz; i++) for (let j = 0; j < dz; j++) out.push((i === j ? p[i] : 0) - p[i] * p[j]);
  }
  return out;
}
function denseH(r: number, s: number): number[] {
  const u = mulberry(s);
  const B = Array.from({ length: r * r }, () => u() * 2 - 1);
  const H = new Array<number>(r * r).fill(0);
  for (let i = 0; i < r; i++)
    for (let j = 0; j <= i; j++) {
      let acc = 0;
      for (let k = 0; k < r; k++) acc += B[i * r + k] * B[j * r + k];
      H[i * r + j] = H[j * r + i] = acc / r;
    }
  return H;
}

const cfg = (integrator: 'euler' | 'exact'): ScenarioOp => ({
  op: 'configure',
  config: { kappa0: 0.05, integrator: integrator === 'euler' ? { kind: 'euler', dtTau: 0.05 } : { kind: 'exact' }, samplePeriodTau: 0.1, burnInTau: 1 },
});
const scenarios: Scenario[] = [];
const nD = 6;
const nF = 48, rF = 12;
const JF = vec(rF * nF, 3, 0.5);
for (const profile of ['ideal', 'prototype'] as const)
  for (const integ of ['euler', 'exact'] as const) {
    scenarios.push({
      name: `dense-${integ}-${profile}`,
      description: `dense 6×6 SPD A, κ₀ = 0.05, ${integ}, Δ = 0.1τ, burn-in 1τ; run 5τ from g, then 2τ carried`,
      profile: PROFILES[profile], seed: 1001, maxCells: 16, maxRank: 4,
      ops: [
        { op: 'setCurvatureDense', n: nD, A: spd(nD, 1), lambda: 0.1 },
        { op: 'setGradient', g: vec(nD, 2, 1) },
        cfg(integ),
        { op: 'run', durationTau: 5, start: 'gradient' },
        { op: 'run', durationTau: 2, start: 'carry' },
      ],
    });
    scenarios.push({
      name: `factored-block-${integ}-${profile}`,
      description: `A = ¼·JᵀHJ + 0.05·I, N = 48, r = 12, H = four 3×3 softmax-Hessian blocks; ${integ}; run 5τ from g, new g, run 3τ with delay 0.5τ`,
      profile: PROFILES[profile], seed: 1002, maxCells: 64, maxRank: 16,
      ops: [
        { op: 'setCurvatureFactored', n: nF, r: rF, J: JF, core: { kind: 'block', dz: 3, blocks: softmaxBlocks(4, 3, 4) }, scale: 0.25, lambda: 0.05 },
        { op: 'setGradient', g: vec(nF, 5, 0.2) },
        cfg(integ),
        { op: 'run', durationTau: 5, start: 'gradient' },
        { op: 'setGradient', g: vec(nF, 6, 0.2) },
        { op: 'run', durationTau: 3, start: 'carry', delayTau: 0.5 },
      ],
    });
  }
scenarios.push({
  name: 'factored-dense-core-euler-stream-ideal',
  description: 'A = 0.5·JᵀHJ + 0.1·I with dense PSD 12×12 H, N = 48; Euler; sample stream hashed after mean/final',
  profile: PROFILES.ideal, seed: 1003, maxCells: 64, maxRank: 16,
  ops: [
    { op: 'setCurvatureFactored', n: nF, r: rF, J: JF, core: { kind: 'dense', h: denseH(rF, 7) }, scale: 0.5, lambda: 0.1 },
    { op: 'setGradient', g: vec(nF, 8, 0.3) },
    cfg('euler'),
    { op: 'run', durationTau: 3, start: 'reset', stream: true, chunks: [7, 1, 13] },
  ],
});
scenarios.push({
  name: 'factored-diagonal-exact-stream-prototype',
  description: 'A = 2·Jᵀdiag(d)J + 0.2·I (N = 48, r = 12), prototype profile, exact integrator sample-by-sample (stream)',
  profile: PROFILES.prototype, seed: 1004, maxCells: 64, maxRank: 16,
  ops: [
    { op: 'setCurvatureFactored', n: nF, r: rF, J: JF, core: { kind: 'diagonal', d: vec(rF, 9, 1).map(Math.abs) }, scale: 2, lambda: 0.2 },
    { op: 'setGradient', g: vec(nF, 10, 0.3) },
    cfg('exact'),
    { op: 'run', durationTau: 2, start: 'gradient', stream: true },
  ],
});
scenarios.push({
  name: 'factored-identity-exact-windowed-ideal',
  description: 'A = JᵀJ/12 + 0.05·I (empirical-Fisher form), exact, window = last 2τ of 6τ, κ₀ = 0.01',
  profile: PROFILES.ideal, seed: 1005, maxCells: 64, maxRank: 16,
  ops: [
    { op: 'setCurvatureFactored', n: nF, r: rF, J: JF, core: { kind: 'identity' }, scale: 1 / 12, lambda: 0.05 },
    { op: 'setGradient', g: vec(nF, 11, 0.1) },
    { op: 'configure', config: { kappa0: 0.01, integrator: { kind: 'exact' }, samplePeriodTau: 0.25, burnInTau: 0, windowTau: 2 } },
    { op: 'run', durationTau: 6, start: 'gradient' },
  ],
});

for (const integ of ['euler', 'exact'] as const)
  scenarios.push({
    name: `dense-${integ}-prototype-saturating`,
    description: `dense 6×6, prototype profile, g so large that A⁻¹g leaves the ±8 rails: saturation and ADC clipping counted (${integ})`,
    profile: PROFILES.prototype, seed: 1006, maxCells: 16, maxRank: 4,
    ops: [
      { op: 'setCurvatureDense', n: nD, A: spd(nD, 1), lambda: 0.1 },
      { op: 'setGradient', g: vec(nD, 2, 40) },
      cfg(integ),
      { op: 'run', durationTau: 4, start: 'reset' },
    ],
  });

// Layered A (EMULATOR.md §6.1, §7.1): dense 6→4 with bias, an explicit block of 5 columns, dense
// 4→3 without bias; b = 4 samples, m = 3 rows each (r = 12), N = 28 + 5 + 12 = 45.
const layered = (core: Extract<ScenarioOp, { op: 'setCurvatureLayered' }>['core'], scale: number, lambda: number): ScenarioOp => ({
  op: 'setCurvatureLayered', n: 45, r: 12, b: 4, core, scale, lambda,
  layers: [
    { kind: 'dense', nIn: 6, nOut: 4, bias: true, A: vec(4 * 6, 21, 1), D: vec(12 * 4, 22, 0.5) },
    { kind: 'explicit', cols: 5, J: vec(12 * 5, 23, 0.5) },
    { kind: 'dense', nIn: 4, nOut: 3, bias: false, A: vec(4 * 4, 24, 1), D: vec(12 * 3, 25, 0.5) },
  ],
});
for (const profile of ['ideal', 'prototype'] as const)
  for (const integ of ['euler', 'exact'] as const)
    scenarios.push({
      name: `layered-block-${integ}-${profile}`,
      description: `layered A = ½·JᵀHJ + 0.05·I (dense 6→4 + bias, explicit 5 columns, dense 4→3; b = 4, r = 12, N = 45), H = four 3×3 softmax-Hessian blocks; ${integ}; run 5τ from g, new g, run 3τ with delay 0.5τ`,
      profile: PROFILES[profile], seed: 1007, maxCells: 64, maxRank: 16,
      ops: [
        layered({ kind: 'block', dz: 3, blocks: softmaxBlocks(4, 3, 26) }, 0.5, 0.05),
        { op: 'setGradient', g: vec(45, 27, 0.2) },
        cfg(integ),
        { op: 'run', durationTau: 5, start: 'gradient' },
        { op: 'setGradient', g: vec(45, 28, 0.2) },
        { op: 'run', durationTau: 3, start: 'carry', delayTau: 0.5 },
      ],
    });
scenarios.push({
  name: 'layered-identity-exact-stream-prototype',
  description: 'layered A = JᵀJ/12 + 0.1·I (the same layers, empirical-Fisher form), prototype profile, exact integrator sample by sample (stream)',
  profile: PROFILES.prototype, seed: 1008, maxCells: 64, maxRank: 16,
  ops: [
    layered({ kind: 'identity' }, 1 / 12, 0.1),
    { op: 'setGradient', g: vec(45, 29, 0.3) },
    cfg('exact'),
    { op: 'run', durationTau: 2, start: 'gradient', stream: true, chunks: [3, 1, 5] },
  ],
});

const entries = scenarios.map((s) => ({ ...s, expected: replayScenario(s) }));
write('digests.json', {
  description: 'Canonical emulator scenarios (EMULATOR.md §Golden digests). expected.sha256 = SHA-256 over, for each run in order, mean then final as f64 little-endian, then that run\'s streamed sample rows (if stream). Replay with any conforming implementation must give identical digests.',
  numericsVersion: 2,
  scenarios: entries,
});
for (const e of entries) console.log(e.name.padEnd(44), e.expected.sha256.slice(0, 16), JSON.stringify(e.expected.runs.map((r) => [r.sampleCount, r.saturationCount, r.clipCount])));

// —— Euler step stability (EMULATOR.md §9.1.1): U and λ̂ of each scenario's uploaded A(s) ——
const stability = [];
for (const sc of scenarios) {
  const core = new SpuCore({ maxCells: sc.maxCells, maxRank: sc.maxRank, profile: sc.profile, seed: sc.seed });
  for (const o of sc.ops) {
    if (o.op !== 'setCurvatureDense' && o.op !== 'setCurvatureFactored' && o.op !== 'setCurvatureLayered') continue;
    if (o.op === 'setCurvatureDense') core.setCurvatureDense(o.n, Float64Array.from(o.A), o.lambda ?? 0);
    else if (o.op === 'setCurvatureLayered') core.setCurvatureLayered(layeredOf(o));
    else {
      const c = o.core;
      const spec =
        c.kind === 'identity' ? c
        : c.kind === 'diagonal' ? { kind: 'diagonal' as const, d: Float64Array.from(c.d) }
        : c.kind === 'block' ? { kind: 'block' as const, dz: c.dz, blocks: Float64Array.from(c.blocks) }
        : { kind: 'dense' as const, h: Float64Array.from(c.h) };
      core.setCurvatureFactored({ n: o.n, r: o.r, J: Float64Array.from(o.J), core: spec, scale: o.scale, lambda: o.lambda });
    }
    const l = core.lambdaMax();
    stability.push({ scenario: sc.name, upload: o.op, bound: l.bound, boundBits: bits(l.bound), estimate: l.estimate, estimateBits: bits(l.estimate), iterations: l.iterations });
  }
}
write('stability.json', {
  description: 'Euler step stability data of EMULATOR.md §9.1.1 for the A uploaded by each scenario of digests.json (realised: λ, DAC, mismatch under the scenario\'s profile and seed): upper bound U and power-iteration estimate λ̂ (bit patterns normative), and the iterations taken. A run with Euler step δt is refused when δt·U ≥ 1.875 and δt·λ̂ ≥ 1.875.',
  stepLimit: 1.875,
  systems: stability,
});
for (const e of stability) console.log(`${e.scenario} ${e.upload}`.padEnd(64), e.bound.toPrecision(6), e.estimate.toPrecision(6), e.iterations);
