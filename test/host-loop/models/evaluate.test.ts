import { describe, expect, it } from 'vitest';
import { createModel } from '../../../src/host-loop/models/model.ts';
import { assertModelFitsData, evaluate } from '../../../src/host-loop/models/evaluate.ts';
import { accuracy } from '../../../src/host-loop/models/losses.ts';
import { datasetFromBytes } from '../../../src/host-loop/data/dataset.ts';
import { Rng } from '../../../src/host-loop/data/rng.ts';

describe('evaluate', () => {
  const rng = new Rng(2);
  const n = 53;
  const ds = datasetFromBytes(Uint8Array.from({ length: n * 16 }, () => rng.int(256)), Uint8Array.from({ length: n }, () => rng.int(3)), n, [4, 4, 1], 3);

  it('chunked loss and accuracy equal a single full-batch evaluation', () => {
    const m = createModel('mlp:16-5-3:tanh');
    const p = m.init(4);
    const full = m.lossAndGrad(p, ds.x, ds.y, n, 'ce');
    for (const chunk of [1, 7, 53, 1000]) {
      const e = evaluate(m, p, ds, 'ce', chunk);
      expect(e.n).toBe(n);
      expect(e.loss).toBeCloseTo(full.loss, 13);
      expect(e.accuracy).toBe(accuracy(full.outputs, ds.y, n, 3));
    }
  });

  it('rejects a model whose sizes do not fit the data', () => {
    expect(() => assertModelFitsData(createModel('mlp:196-32-10'), ds)).toThrow(/takes 196 inputs but the data has 16 \(4×4×1\)/);
    expect(() => assertModelFitsData(createModel('mlp:16-10'), ds)).toThrow(/10 outputs but the data has 3 classes/);
    expect(() => assertModelFitsData(createModel('conv:2x8x1-c2k3s1-3'), ds)).toThrow(/expects 2×8×1 images but the data is 4×4×1/);
    expect(() => assertModelFitsData(createModel('conv:4x4x1-c2k3s1-3'), ds)).not.toThrow();
  });
});
