// Per-iteration cost of TNGD's digital part — mini-batch gradient, GGN factors (J and the H
// blocks), upload encoding (the driver's conversion of J, H and g to wire tensors) — against an
// Adam step (gradient + update) measured in the same run, on the shipped data. Also the whole
// TNGD iteration through the in-process emulator and NGD-Woodbury's digital solve for context.
import { timeIt, timeItAsync, type BenchRow, type BenchSuite } from './harness.ts';
import { connect } from '../src/connect.ts';
import { prepareCurvature, prepareVector } from '../src/driver/uploads.ts';
import { makeBatchOracle } from '../src/host-loop/batch-oracle.ts';
import { FactorWorkspace } from '../src/host-loop/curvature/factors.ts';
import { Batcher, gatherBatch } from '../src/host-loop/data/dataset.ts';
import { loadDataset } from '../src/host-loop/data/load.ts';
import { createModel } from '../src/host-loop/models/model.ts';
import { createOptimizer } from '../src/host-loop/optimizers/index.ts';
import '../src/host-loop/optimizers/tngd-registry.ts';
import { psdCore } from '../src/host-loop/optimizers/tngd-fold.ts';

const CASES = [
  { model: 'mlp:196-16-10', batch: 16 },
  { model: 'mlp:196-32-10', batch: 32 },
];

const suite: BenchSuite = {
  name: 'host-loop',
  async run({ quick }) {
    const rows: BenchRow[] = [];
    const { train } = loadDataset();
    for (const c of quick ? CASES.slice(0, 1) : CASES) {
      const model = createModel(c.model);
      const b = c.batch;
      const params = model.init(1);
      const bt = new Batcher(train.n, b, 1);
      const batches = Array.from({ length: 8 }, () => gatherBatch(train, bt.next().idx));
      let k = 0;
      const next = () => batches[k++ % batches.length];
      const ws = new FactorWorkspace();
      const reps = quick ? 15 : 40;
      const tag = `${c.model} b=${b} (N=${model.numParams}, r=${b * 10})`;

      const adam = createOptimizer('adam', { lr: 1e-3 });
      const theta = params.slice();
      const adamStep = await timeItAsync(async () => {
        const { x, y } = next();
        await adam.step(theta, makeBatchOracle(model, theta, x, y, b, 'ce', ws));
      }, reps, 3);

      const grad = timeIt(() => {
        const { x, y } = next();
        makeBatchOracle(model, params, x, y, b, 'ce', ws);
      }, reps, 3);
      const gradFactors = timeIt(() => {
        const { x, y } = next();
        makeBatchOracle(model, params, x, y, b, 'ce', ws).curvature('ggn');
      }, reps, 3);

      // sized as train() sizes the in-process emulator for this model
      const driver = await connect('emu:?profile=ideal', {
        maxCells: Math.max(4096, model.numParams),
        maxRank: Math.max(256, b * 10),
        emulator: { maxFrameBytes: 65535, memoryBytes: 4 * b * 10 * model.numParams * 8 + 16 * 2 ** 20 },
      });
      const caps = driver.capabilities;
      const digital = timeIt(() => {
        const { x, y } = next();
        const o = makeBatchOracle(model, params, x, y, b, 'ce', ws);
        const f = psdCore(o.curvature('ggn'));
        prepareCurvature({ form: 'factored', ...f, lambda: 0.1 }, caps, 'f64');
        prepareVector('Gradient', o.grad, f.n, caps, 'f64');
      }, reps, 3);

      const tngdIter = async (opts: Record<string, unknown>): Promise<number> => {
        const tngd = createOptimizer('tngd', { lr: 0.1, damping: 0.1, ...opts }, { driver });
        const tp = params.slice();
        return timeItAsync(async () => {
          const { x, y } = next();
          await tngd.step(tp, makeBatchOracle(model, tp, x, y, b, 'ce', ws));
        }, quick ? 4 : 10, 1);
      };
      const tngdExact = await tngdIter({ integrator: 'exact', tTau: 20, samplePeriod: 0.5 });
      const tngdEuler = await tngdIter({ integrator: 'euler', tTau: 5, dt: 0.1 });
      await driver.close();

      const wood = createOptimizer('ngd-woodbury', { lr: 0.1, damping: 0.1 });
      const wp = params.slice();
      const woodIter = await timeItAsync(async () => {
        const { x, y } = next();
        await wood.step(wp, makeBatchOracle(model, wp, x, y, b, 'ce', ws));
      }, quick ? 4 : 10, 1);

      const ms = (s: number) => s * 1e3;
      const row = (name: string, v: number, note: string): BenchRow => ({ case: `${tag}: ${name}`, value: ms(v), unit: 'ms/iter', baseline: ms(adamStep), ratio: v / adamStep, note });
      rows.push(row('Adam step (gradient + update)', adamStep, 'baseline'));
      rows.push(row('gradient only', grad, 'ratio to the Adam step'));
      rows.push(row('gradient + GGN factors', gradFactors, 'ratio to the Adam step'));
      rows.push(row('TNGD digital part (gradient + factors + PSD core + upload encoding)', digital, 'ratio to the Adam step; lower is better'));
      rows.push(row('TNGD iteration, in-process emulator, exact, t = 20τ (quickstart)', tngdExact, 'includes the emulated link and analog run (same thread)'));
      rows.push(row('TNGD iteration, in-process emulator, Euler t = 5τ, δt = 0.1τ', tngdEuler, 'includes the emulated link and analog run (same thread)'));
      rows.push(row('NGD-Woodbury iteration (digital solve)', woodIter, 'the digital alternative to the device'));
    }
    return rows;
  },
};

export default suite;
