// Golden vectors: the committed digests, PRNG words and elementary-function bits must be
// reproduced exactly, and results must not depend on how a run is chunked.
import { readFileSync } from 'node:fs';
import { describe, expect, it } from 'vitest';
import {
  SpuCore, expDet, layeredOf, expm1Det, gaussianAt, logDet, normInv, normInvWord, philox4x32, replayScenario, wordToUniform, type CoreSpec, type Scenario, type ScenarioOutcome,
} from '../../src/emulator/physics/index.ts';

const dir = new URL('../../firmware-spec/vectors/emulator/', import.meta.url);
const load = <T>(name: string): T => JSON.parse(readFileSync(new URL(name, dir), 'utf8')) as T;
const bits = (x: number) => Buffer.from(new Float64Array([x]).buffer).readBigUInt64LE().toString(16).padStart(16, '0');
const hex = (x: number) => x.toString(16).padStart(8, '0');

describe('PRNG and Gaussian vectors (prng.json)', () => {
  const v = load<{
    key: string[];
    philoxKnownAnswers: { counter: string[]; key: string[]; output: string[] }[];
    gaussians: { c1: number; c2: number; c3: number; index: number; word: string; uniformBits: string; gaussianBits: string }[];
    quantileTails: { uniform: number; gaussianBits: string }[];
  }>('prng.json');
  it('Philox-4x32-10 reproduces the Random123 known answers', () => {
    const w = new Uint32Array(4);
    expect(v.philoxKnownAnswers).toHaveLength(3);
    for (const k of v.philoxKnownAnswers) {
      const c = k.counter.map((s) => parseInt(s, 16));
      const key = k.key.map((s) => parseInt(s, 16));
      philox4x32(c[0], c[1], c[2], c[3], key[0], key[1], w);
      expect(Array.from(w, hex)).toEqual(k.output);
    }
  });
  it('uniforms and Gaussians of the stream are bit-identical', () => {
    const [k0, k1] = v.key.map((s) => parseInt(s, 16));
    for (const gv of v.gaussians) {
      expect(bits(wordToUniform(parseInt(gv.word, 16)))).toBe(gv.uniformBits);
      expect(bits(gaussianAt(k0, k1, gv.c1, gv.c2, gv.c3, gv.index))).toBe(gv.gaussianBits);
    }
    for (const t of v.quantileTails) expect(bits(normInv(t.uniform))).toBe(t.gaussianBits);
  });
});

describe('deterministic elementary functions (detmath.json)', () => {
  const v = load<Record<'log' | 'exp' | 'expm1', { x: number; xBits: string; yBits: string }[]>>('detmath.json');
  it('logDet / expDet / expm1Det bits match, and agree with Math.* to 4 ulp-ish', () => {
    for (const [name, f, ref] of [['log', logDet, Math.log], ['exp', expDet, Math.exp], ['expm1', expm1Det, Math.expm1]] as const) {
      for (const e of v[name]) {
        expect(bits(e.x)).toBe(e.xBits);
        const y = f(e.x);
        expect(bits(y)).toBe(e.yBits);
        const r = ref(e.x);
        if (r !== 0) expect(Math.abs(y - r) / Math.abs(r)).toBeLessThan(1e-15);
      }
    }
  });
});

describe('golden scenario digests (digests.json)', () => {
  const v = load<{ scenarios: (Scenario & { expected: ScenarioOutcome })[] }>('digests.json');
  it('covers dense and factored, both integrators, both profiles', () => {
    const names = v.scenarios.map((s) => s.name);
    for (const k of ['dense', 'factored-block'])
      for (const i of ['euler', 'exact'])
        for (const p of ['ideal', 'prototype']) expect(names).toContain(`${k}-${i}-${p}`);
  });
  for (const s of v.scenarios) {
    it(`${s.name}: digest and run summaries reproduce`, () => {
      const got = replayScenario(s);
      expect(got.runs).toEqual(s.expected.runs);
      expect(got.sha256).toBe(s.expected.sha256);
    });
  }
  it('results are identical when every run is advanced 1, 3 or 17 steps at a time', () => {
    for (const s of v.scenarios.filter((x) => x.name.includes('euler') || x.name.includes('stream') || x.name.includes('factored-block-exact'))) {
      for (const chunk of [1, 3, 17]) expect(replayScenario(s, { forceChunk: chunk }).sha256, `${s.name} chunk ${chunk}`).toBe(s.expected.sha256);
    }
  });
});

describe('Euler step stability data (stability.json)', () => {
  const v = load<{ scenarios: Scenario[] }>('digests.json');
  const st = load<{ stepLimit: number; systems: { scenario: string; boundBits: string; estimateBits: string; iterations: number }[] }>('stability.json');
  it('U and λ̂ of every scenario upload reproduce bit for bit, iterations included; λ̂ ≤ U', () => {
    expect(st.stepLimit).toBe(1.875);
    expect(st.systems).toHaveLength(v.scenarios.length);
    for (const s of v.scenarios) {
      const core = new SpuCore({ maxCells: s.maxCells, maxRank: s.maxRank, profile: s.profile, seed: s.seed });
      const up = s.ops.find((o) => o.op === 'setCurvatureDense' || o.op === 'setCurvatureFactored' || o.op === 'setCurvatureLayered')!;
      if (up.op === 'setCurvatureDense') core.setCurvatureDense(up.n, Float64Array.from(up.A), up.lambda ?? 0);
      else if (up.op === 'setCurvatureLayered') core.setCurvatureLayered(layeredOf(up));
      else if (up.op === 'setCurvatureFactored') {
        const c = up.core;
        const spec: CoreSpec =
          c.kind === 'identity' ? c
          : c.kind === 'diagonal' ? { kind: 'diagonal', d: Float64Array.from(c.d) }
          : c.kind === 'block' ? { kind: 'block', dz: c.dz, blocks: Float64Array.from(c.blocks) }
          : { kind: 'dense', h: Float64Array.from(c.h) };
        core.setCurvatureFactored({ n: up.n, r: up.r, J: Float64Array.from(up.J), core: spec, scale: up.scale, lambda: up.lambda });
      }
      const want = st.systems.find((x) => x.scenario === s.name)!;
      const l = core.lambdaMax();
      expect([bits(l.bound), bits(l.estimate), l.iterations], s.name).toEqual([want.boundBits, want.estimateBits, want.iterations]);
      expect(l.estimate).toBeLessThanOrEqual(l.bound);
    }
  });
});

describe('fast Gaussian path', () => {
  it('normInvWord(w) is bit-identical to normInv((w + ½)·2^−32) on edge and pseudo-random words', () => {
    const ws = [0, 1, 2, 3, 0xffffffff, 0xfffffffe, 0x80000000, 0x7fffffff, 0x13333333, 0xecccccc];
    for (let e = 0; e < 32; e++) ws.push(2 ** e, 2 ** e - 1, 0xffffffff - 2 ** e);
    for (let i = 0, s = 12345; i < 20000; i++) ws.push((s = (Math.imul(s, 1664525) + 1013904223) >>> 0));
    for (const w of ws) expect(Object.is(normInvWord(w), normInv(wordToUniform(w))), `w = ${w}`).toBe(true);
  });
});
