// NGD-CG on a conv model (issue 13): curvature products through the model's JVP/VJP passes
// against the explicit r × N J, same batches, same process, iterations interleaved. A timed
// iteration is the oracle (loss, gradient) plus the CG direction and update. Ratio is
// explicit / jvp time (higher is better for the products).
//   npx tsx bench/run.ts ngd-jvp
import { createModel } from '../src/host-loop/models/model.ts';
import { makeBatchOracle } from '../src/host-loop/batch-oracle.ts';
import { FactorWorkspace } from '../src/host-loop/curvature/factors.ts';
import { createOptimizer } from '../src/host-loop/optimizers/index.ts';
import { Rng } from '../src/host-loop/data/rng.ts';
import type { BenchRow, BenchSuite } from './harness.ts';

const median = (v: number[]) => [...v].sort((a, b) => a - b)[Math.floor(v.length / 2)];

async function rows(spec: string, b: number, iters: number): Promise<BenchRow[]> {
  const m = createModel(spec);
  const rng = new Rng(1, 2);
  const batches = Array.from({ length: iters }, () => ({
    X: Float64Array.from({ length: b * m.inputDim }, () => rng.normal()),
    y: Int32Array.from({ length: b }, () => rng.int(m.outputDim)),
  }));
  const forms = ['explicit', 'jvp'] as const;
  const opts = { lr: 0.05, damping: 0.01, tol: 1e-6, maxIter: 100 };
  const run = Object.fromEntries(
    forms.map((f) => [f, { p: m.init(3), opt: createOptimizer('ngd-cg', { ...opts, curvatureForm: f }), ws: new FactorWorkspace(), t: [] as number[], mv: 0 }]),
  );
  const warm = 5;
  for (let it = 0; it < iters; it++)
    for (const f of it % 2 ? [...forms].reverse() : forms) {
      const s = run[f];
      const t0 = performance.now();
      const st = await s.opt.step(s.p, makeBatchOracle(m, s.p, batches[it].X, batches[it].y, b, 'ce', s.ws));
      const t = (performance.now() - t0) / 1e3;
      if (it >= warm) {
        s.t.push(t);
        s.mv += st.matvecs ?? 0;
      }
    }
  const n = iters - warm;
  const e = median(run.explicit.t);
  const j = median(run.jvp.t);
  return [
    {
      case: `ngd-cg ${spec} b=${b}: jvp vs explicit`,
      value: j * 1e3,
      unit: 'ms/iter',
      baseline: e * 1e3,
      ratio: e / j,
      note: `N = ${m.numParams}, r = ${b * m.outputDim}; mean CG products jvp ${(run.jvp.mv / n).toFixed(1)}, explicit ${(run.explicit.mv / n).toFixed(1)}; ${n} timed iterations; ratio = explicit/jvp`,
    },
  ];
}

const suite: BenchSuite = {
  name: 'ngd-jvp',
  async run({ quick }) {
    return rows('conv:14x14x1-c2k3s2-16-10', 8, quick ? 15 : 45);
  },
};
export default suite;
