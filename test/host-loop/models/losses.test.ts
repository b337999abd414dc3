import { describe, expect, it } from 'vitest';
import { accuracy, lossForward, lossHessianBlocks, parseLossKind, softmaxRows } from '../../../src/host-loop/models/losses.ts';
import { Rng } from '../../../src/host-loop/data/rng.ts';
import { fdJacobian, relErr } from './helpers.ts';

const b = 3;
const dz = 4;
const rng = new Rng(1);
const z = Float64Array.from({ length: b * dz }, () => 2 * rng.normal());
const y = Int32Array.of(2, 0, 3);

describe('losses', () => {
  it('cross-entropy equals −log softmax at the label and stays finite for logits of 1e4', () => {
    const p = softmaxRows(z, b, dz);
    const expected = (-Math.log(p[2]) - Math.log(p[4]) - Math.log(p[11])) / 3;
    expect(lossForward('ce', z, y, b, dz)).toBeCloseTo(expected, 14);
    const big = z.map((v) => v * 1e4);
    const l = lossForward('ce', big, y, b, dz);
    expect(Number.isFinite(l)).toBe(true);
    // shifting every logit of a row by a constant leaves the loss unchanged
    expect(lossForward('ce', z.map((v) => v + 700), y, b, dz)).toBeCloseTo(expected, 10);
  });

  it('soft-label cross-entropy with one-hot rows equals the integer-label loss', () => {
    const onehot = new Float64Array(b * dz);
    y.forEach((c, i) => (onehot[i * dz + c] = 1));
    expect(lossForward('ce', z, onehot, b, dz)).toBeCloseTo(lossForward('ce', z, y, b, dz), 14);
  });

  it('MSE is ½‖z − onehot(y)‖² averaged over samples', () => {
    let s = 0;
    for (let i = 0; i < b; i++) for (let k = 0; k < dz; k++) s += 0.5 * (z[i * dz + k] - (y[i] === k ? 1 : 0)) ** 2;
    expect(lossForward('mse', z, y, b, dz)).toBeCloseTo(s / b, 14);
  });

  it.each(['ce', 'mse'] as const)('%s: gradient w.r.t. outputs and Hessian blocks match finite differences', (kind) => {
    const g = new Float64Array(b * dz);
    lossForward(kind, z, y, b, dz, g, 1 / b);
    const fdG = fdJacobian((zz) => Float64Array.of(lossForward(kind, zz, y, b, dz)), z);
    expect(relErr(g, fdG)).toBeLessThan(1e-8);
    // H_i = ∂²ℓ_i/∂z_i²; the batch-mean loss has Hessian blockdiag(H_i)/b
    const H = lossHessianBlocks(kind, z, b, dz);
    const fdH = fdJacobian((zz) => {
      const gg = new Float64Array(b * dz);
      lossForward(kind, zz, y, b, dz, gg, 1);
      return gg;
    }, z);
    for (let i = 0; i < b; i++)
      for (let k = 0; k < dz; k++)
        for (let l = 0; l < dz; l++) {
          expect(Math.abs(H[i * dz * dz + k * dz + l] - fdH[(i * dz + k) * (b * dz) + i * dz + l])).toBeLessThan(1e-8);
        }
  });

  it('CE Hessian blocks are symmetric PSD with rows summing to zero', () => {
    const H = lossHessianBlocks('ce', z, b, dz);
    for (let i = 0; i < b; i++) {
      const o = i * dz * dz;
      for (let k = 0; k < dz; k++) {
        let rs = 0;
        for (let l = 0; l < dz; l++) {
          rs += H[o + k * dz + l];
          expect(H[o + k * dz + l]).toBe(H[o + l * dz + k]);
        }
        expect(Math.abs(rs)).toBeLessThan(1e-15);
      }
      for (let t = 0; t < 50; t++) {
        const v = Float64Array.from({ length: dz }, () => rng.normal());
        let q = 0;
        for (let k = 0; k < dz; k++) for (let l = 0; l < dz; l++) q += v[k] * H[o + k * dz + l] * v[l];
        expect(q).toBeGreaterThanOrEqual(-1e-15);
      }
    }
  });

  it('validates targets and names', () => {
    expect(() => lossForward('ce', z, Int32Array.of(0, 4, 1), b, dz)).toThrow(/label 4 of sample 1 is out of range \[0, 4\)/);
    expect(() => lossForward('ce', z, Int32Array.of(0, -1, 1), b, dz)).toThrow(/label -1/);
    expect(() => lossForward('mse', z, new Float64Array(5), b, dz)).toThrow(/need 3×4 = 12/);
    expect(() => parseLossKind('hinge')).toThrow(/unknown loss 'hinge'/);
    expect(parseLossKind('mse')).toBe('mse');
  });

  it('accuracy counts arg-max hits', () => {
    const zz = Float64Array.of(0, 1, 0, 5, 0, 0, 0, 0, 9);
    expect(accuracy(zz, Int32Array.of(1, 0, 1), 3, 3)).toBeCloseTo(2 / 3, 15);
  });
});
