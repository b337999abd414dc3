// Forward passes against naive reference implementations written independently of the
// model's layout code (explicit loops over output pixels and kernel taps).
import { describe, expect, it } from 'vitest';
import { createModel } from '../../../src/host-loop/models/model.ts';
import { randomBatch, randomParams, relErr } from './helpers.ts';

function naiveDense(p: Float64Array, off: number, x: Float64Array, nIn: number, nOut: number): { y: Float64Array; off: number } {
  const y = new Float64Array(nOut);
  for (let o = 0; o < nOut; o++) {
    let s = p[off + nOut * nIn + o];
    for (let j = 0; j < nIn; j++) s += p[off + o * nIn + j] * x[j];
    y[o] = s;
  }
  return { y, off: off + nOut * nIn + nOut };
}

function naiveConv(p: Float64Array, off: number, x: Float64Array, h: number, w: number, c: number, oc: number, k: number, s: number, pad: number) {
  const oh = Math.floor((h + 2 * pad - k) / s) + 1;
  const ow = Math.floor((w + 2 * pad - k) / s) + 1;
  const y = new Float64Array(oh * ow * oc);
  const wSize = oc * k * k * c;
  for (let oy = 0; oy < oh; oy++)
    for (let ox = 0; ox < ow; ox++)
      for (let co = 0; co < oc; co++) {
        let acc = p[off + wSize + co];
        for (let ky = 0; ky < k; ky++)
          for (let kx = 0; kx < k; kx++)
            for (let ci = 0; ci < c; ci++) {
              const iy = oy * s - pad + ky;
              const ix = ox * s - pad + kx;
              if (iy < 0 || iy >= h || ix < 0 || ix >= w) continue;
              acc += p[off + co * k * k * c + (ky * k + kx) * c + ci] * x[(iy * w + ix) * c + ci];
            }
        y[(oy * ow + ox) * oc + co] = acc;
      }
  return { y, off: off + wSize + oc, oh, ow };
}

const relu = (v: Float64Array) => v.map((t) => Math.max(0, t));

describe('forward', () => {
  it('mlp:8-6-5-3:tanh equals tanh(W2 tanh(W1 x + b1) + b2) then W3 · + b3, per sample', () => {
    const m = createModel('mlp:8-6-5-3:tanh');
    const p = randomParams(m, 1);
    const { X } = randomBatch(m, 5, 2);
    const out = m.forward(p, X, 5);
    for (let i = 0; i < 5; i++) {
      let r = naiveDense(p, 0, X.subarray(i * 8, i * 8 + 8), 8, 6);
      const h1 = r.y.map(Math.tanh);
      r = naiveDense(p, r.off, h1, 6, 5);
      const h2 = r.y.map(Math.tanh);
      r = naiveDense(p, r.off, h2, 5, 3);
      expect(relErr(out.subarray(i * 3, i * 3 + 3), r.y)).toBeLessThan(1e-14);
    }
  });

  it('conv:7x6x2-c3k3s2-c2k2s1p0-4 (relu) equals a direct convolution with zero padding', () => {
    const m = createModel('conv:7x6x2-c3k3s2-c2k2s1p0-4:relu');
    const p = randomParams(m, 3);
    const { X } = randomBatch(m, 3, 4);
    const out = m.forward(p, X, 3);
    for (let i = 0; i < 3; i++) {
      const c1 = naiveConv(p, 0, X.subarray(i * 84, i * 84 + 84), 7, 6, 2, 3, 3, 2, 1);
      expect([c1.oh, c1.ow]).toEqual([4, 3]);
      const c2 = naiveConv(p, c1.off, relu(c1.y), c1.oh, c1.ow, 3, 2, 2, 1, 0);
      const d = naiveDense(p, c2.off, relu(c2.y), c2.oh * c2.ow * 2, 4);
      expect(d.off).toBe(m.numParams);
      expect(relErr(out.subarray(i * 4, i * 4 + 4), d.y)).toBeLessThan(1e-14);
    }
  });

  it('outputs of lossAndGrad equal forward and are a copy, not scratch', () => {
    const m = createModel('mlp:4-3-2');
    const p = randomParams(m, 1);
    const a = randomBatch(m, 3, 1);
    const r = m.lossAndGrad(p, a.X, a.y, 3, 'ce');
    const f = m.forward(p, a.X, 3);
    expect(Array.from(r.outputs)).toEqual(Array.from(f));
    m.forward(p, randomBatch(m, 3, 2).X, 3);
    expect(Array.from(r.outputs)).toEqual(Array.from(f));
  });

  it('rejects wrong parameter length, short inputs and bad batch sizes', () => {
    const m = createModel('mlp:4-3-2');
    const p = m.init(0);
    expect(() => m.forward(new Float64Array(3), new Float64Array(8), 2)).toThrow(/length 23/);
    expect(() => m.forward(p, new Float64Array(7), 2)).toThrow(/at least 2×4/);
    expect(() => m.forward(p, new Float64Array(8), 0)).toThrow(/positive integer/);
    expect(() => m.lossAndGrad(p, new Float64Array(8), Int32Array.of(0, 2), 2, 'ce')).toThrow(/label 2 of sample 1/);
    expect(() => m.outputJacobian(p, new Float64Array(8), 2, new Float64Array(10))).toThrow(/out buffer/);
  });
});

describe('init', () => {
  it('is deterministic per seed and differs between seeds', () => {
    const m = createModel('conv:14x14x1-c4k3s2-32-10');
    expect(Buffer.from(m.init(7).buffer).equals(Buffer.from(m.init(7).buffer))).toBe(true);
    expect(relErr(m.init(7), m.init(8))).toBeGreaterThan(0.1);
  });

  it('uses He scaling for relu layers, LeCun for tanh and the output layer, zero biases', () => {
    // 6272 first-layer weights: the sample sd is within 4% of the target with overwhelming
    // probability (sd of the sample sd ≈ 1/√(2·6272) ≈ 0.9%).
    const sd = (p: Float64Array, a: number, b: number) => {
      let s = 0;
      for (let i = a; i < b; i++) s += p[i] * p[i];
      return Math.sqrt(s / (b - a));
    };
    const relu = createModel('mlp:196-32-10:relu').init(1);
    const tanh = createModel('mlp:196-32-10:tanh').init(1);
    expect(sd(relu, 0, 6272) / Math.sqrt(2 / 196)).toBeCloseTo(1, 1);
    expect(Math.abs(sd(relu, 0, 6272) / Math.sqrt(2 / 196) - 1)).toBeLessThan(0.04);
    expect(Math.abs(sd(tanh, 0, 6272) / Math.sqrt(1 / 196) - 1)).toBeLessThan(0.04);
    expect(Math.abs(sd(relu, 6304, 6624) / Math.sqrt(1 / 32) - 1)).toBeLessThan(0.2);
    expect(Array.from(relu.subarray(6272, 6304)).every((v) => v === 0)).toBe(true);
  });
});
