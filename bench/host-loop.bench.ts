// Per-iteration cost of TNGD's digital part — mini-batch gradient, GGN factors, PSD core, upload
// preparation (the driver's conversion to wire tensors) — against an Adam step (gradient +
// update) measured in the same run, on the shipped data; explicit J (r × N) against the layered
// factors (per layer inputs and sensitivities). Also the numbers each form puts on the wire, the
// whole TNGD iteration through the in-process emulator, and NGD-Woodbury / NGD-CG through either
// form. Last, the paper's MNIST setting (b = 64, λ = 0.01, t = 50τ, exact) per iteration.
import { timeItAsync, type BenchRow, type BenchSuite } from './harness.ts';
import { connect } from '../src/connect.ts';
import type { SpuDriver } from '../src/driver/driver.ts';
import type { Capabilities } from '../src/protocol/index.ts';
import { prepareLayered } from '../src/driver/layered.ts';
import { prepareCurvature, prepareVector, type PreparedUpload } from '../src/driver/uploads.ts';
import { makeBatchOracle } from '../src/host-loop/batch-oracle.ts';
import { FactorWorkspace } from '../src/host-loop/curvature/factors.ts';
import { Batcher, gatherBatch } from '../src/host-loop/data/dataset.ts';
import { loadDataset } from '../src/host-loop/data/load.ts';
import { Rng } from '../src/host-loop/data/rng.ts';
import { createModel, type Model } from '../src/host-loop/models/model.ts';
import { createOptimizer } from '../src/host-loop/optimizers/index.ts';
import '../src/host-loop/optimizers/tngd-registry.ts';
import { layeredUpload, psdCore } from '../src/host-loop/optimizers/tngd-fold.ts';

type Form = 'explicit' | 'layered';
type Batch = { x: Float64Array; y: Int32Array };

const CASES = [
  { model: 'mlp:196-16-10', batch: 16 },
  { model: 'mlp:196-32-10', batch: 32 },
];
/** The paper's MNIST setting (and a 28×28-input model, N ≈ 25k) */
const MNIST_CASES = [
  { model: 'mlp:196-32-10', batch: 64, data: 'shipped 14×14 data' },
  { model: 'mlp:784-32-10', batch: 64, data: 'synthetic N(0,1) inputs (timing only: the shipped data is 14×14)' },
];
const MNIST_LAMBDA = 0.01;
const MNIST_T_TAU = 50;

/**
 * Medians of async fns timed in turn (one of each per round), so that load on a shared machine
 * hits the baseline and the candidates alike; seconds each.
 */
async function timeInterleaved(fns: (() => unknown)[], reps: number, warmup = 3): Promise<number[]> {
  for (let w = 0; w < warmup; w++) for (const fn of fns) await fn();
  const t: number[][] = fns.map(() => []);
  for (let i = 0; i < reps; i++)
    for (let j = 0; j < fns.length; j++) {
      const s = process.hrtime.bigint();
      await fns[j]();
      t[j].push(Number(process.hrtime.bigint() - s) / 1e9);
    }
  return t.map((x) => x.sort((a, b) => a - b)[Math.floor(x.length / 2)]);
}

function wireNumbers(...ups: PreparedUpload<'Curvature' | 'Gradient'>[]): number {
  let s = 0;
  for (const u of ups) for (const slot of u.slots) s += slot.tensor.shape.reduce((a, b) => a * b, 1);
  return s;
}

/** An in-process emulator sized as train() sizes it for this model. */
function emulator(model: Model, b: number): Promise<SpuDriver> {
  const r = b * model.outputDim;
  return connect('emu:?profile=ideal', {
    maxCells: Math.max(4096, model.numParams),
    maxRank: Math.max(256, r),
    emulator: { maxFrameBytes: 65535, memoryBytes: 4 * r * model.numParams * 8 + 16 * 2 ** 20 },
  });
}

function syntheticBatches(model: Model, b: number, k: number): Batch[] {
  const rng = new Rng(17, 3);
  return Array.from({ length: k }, () => ({
    x: Float64Array.from({ length: b * model.inputDim }, () => rng.normal()),
    y: Int32Array.from({ length: b }, () => rng.int(model.outputDim)),
  }));
}

const suite: BenchSuite = {
  name: 'host-loop',
  async run({ quick }) {
    const rows: BenchRow[] = [];
    const { train } = loadDataset();
    const shippedBatches = (b: number, k: number): Batch[] => {
      const bt = new Batcher(train.n, b, 1);
      return Array.from({ length: k }, () => gatherBatch(train, bt.next().idx));
    };
    const ms = (s: number): number => s * 1e3;

    for (const c of quick ? CASES.slice(0, 1) : CASES) {
      const model = createModel(c.model);
      const b = c.batch;
      const params = model.init(1);
      const batches = shippedBatches(b, 8);
      let k = 0;
      const next = (): Batch => batches[k++ % batches.length];
      const ws = new FactorWorkspace();
      const foldPool = new FactorWorkspace();
      const reps = quick ? 31 : 81;
      const tag = `${c.model} b=${b} (N=${model.numParams}, r=${b * 10})`;
      const oracle = (p: Float64Array): ReturnType<typeof makeBatchOracle> => {
        const { x, y } = next();
        return makeBatchOracle(model, p, x, y, b, 'ce', ws);
      };

      const adam = createOptimizer('adam', { lr: 1e-3 });
      const theta = params.slice();
      const driver = await emulator(model, b);
      // the device's capabilities, with the layered form advertised, so the driver encodes what a
      // device with the feature gets (without it the driver would expand J: the explicit cost)
      const caps: Capabilities = { ...driver.capabilities, features: [...new Set([...driver.capabilities.features, 'layered-curvature'])] as Capabilities['features'] };
      const numbers: Record<Form, number> = { explicit: 0, layered: 0 };
      const digital = (form: Form) => (): void => {
        const o = oracle(params);
        const cu =
          form === 'layered'
            ? (() => {
                // as TNGD uploads them (core folded into D)
                const f = layeredUpload(o, 'ggn', 'auto', foldPool);
                if (!('layers' in f)) throw new Error('internal: the layered factors of an MLP fold per layer');
                return prepareLayered({ form: 'layered', ...f, lambda: 0.1 }, caps, 'f64');
              })()
            : prepareCurvature({ form: 'factored', ...psdCore(o.curvature('ggn')), lambda: 0.1 }, caps, 'f64');
        const gu = prepareVector('Gradient', o.grad, model.numParams, caps, 'f64');
        numbers[form] = wireNumbers(cu, gu);
      };
      const [adamStep, grad, factorsExplicit, factorsLayered, digitalExplicit, digitalLayered] = await timeInterleaved(
        [
          () => adam.step(theta, oracle(theta)),
          () => oracle(params),
          () => oracle(params).curvature('ggn'),
          () => oracle(params).layered!('ggn'),
          digital('explicit'),
          digital('layered'),
        ],
        reps,
      );

      const tngdIter = async (form: Form, opts: Record<string, unknown>): Promise<{ s: number; bytes: number }> => {
        const tngd = createOptimizer('tngd', { lr: 0.1, damping: 0.1, curvatureForm: form, ...opts }, { driver });
        const tp = params.slice();
        let bytes = 0;
        const s = await timeItAsync(async () => {
          bytes = (await tngd.step(tp, oracle(tp))).bytesOut ?? 0;
        }, quick ? 4 : 10, 1);
        return { s, bytes };
      };
      const solverIter = async (name: string, form: Form, extra: Record<string, unknown> = {}): Promise<number> => {
        const opt = createOptimizer(name, { lr: 0.1, damping: 0.1, curvatureForm: form, ...extra });
        const p = params.slice();
        return timeItAsync(async () => {
          await opt.step(p, oracle(p));
        }, quick ? 4 : 10, 1);
      };

      const row = (name: string, v: number, note: string): BenchRow => ({ case: `${tag}: ${name}`, value: ms(v), unit: 'ms/iter', baseline: ms(adamStep), ratio: v / adamStep, note });
      rows.push(row('Adam step (gradient + update)', adamStep, 'baseline'));
      rows.push(row('gradient only', grad, 'ratio to the Adam step'));
      rows.push(row('gradient + GGN factors, explicit', factorsExplicit, 'ratio to the Adam step'));
      rows.push(row('gradient + GGN factors, layered', factorsLayered, 'ratio to the Adam step'));
      rows.push(row('TNGD digital part, explicit (gradient + factors + PSD core + upload encoding)', digitalExplicit, 'ratio to the Adam step'));
      rows.push(row('TNGD digital part, layered (gradient + factors + core folded into D + upload encoding)', digitalLayered, 'ratio to the Adam step; target ≤ 2'));
      rows.push({
        case: `${tag}: numbers on the wire per iteration (curvature + gradient), layered`,
        value: numbers.layered,
        unit: 'numbers',
        baseline: numbers.explicit,
        ratio: numbers.explicit / numbers.layered,
        note: 'baseline: the explicit form; ratio = explicit / layered (target ≥ 50)',
      });
      for (const form of ['explicit', 'layered'] as const) {
        const it = await tngdIter(form, { integrator: 'exact', tTau: 20, samplePeriod: 0.5 });
        rows.push({ ...row(`TNGD iteration, in-process emulator, exact t = 20τ, ${form} upload`, it.s, 'emulated link and analog run included (same thread)'), bytesOut: it.bytes });
      }
      await driver.close();
      for (const form of ['explicit', 'layered'] as const) rows.push(row(`NGD-Woodbury iteration, ${form}`, await solverIter('ngd-woodbury', form), 'digital solve'));
      for (const form of ['explicit', 'layered'] as const)
        rows.push(row(`NGD-CG iteration (tol 1e-4, ≤ 100 products), ${form}`, await solverIter('ngd-cg', form, { tol: 1e-4, maxIter: 100 }), 'matrix-free products'));
    }

    // The paper's MNIST setting: a whole TNGD iteration (host + emulated device) per form, and an
    // Adam step on the same batches for scale.
    for (const c of MNIST_CASES) {
      const model = createModel(c.model);
      const b = c.batch;
      const batches = c.model.startsWith('mlp:196') ? shippedBatches(b, 4) : syntheticBatches(model, b, 4);
      let k = 0;
      const ws = new FactorWorkspace();
      const oracle = (p: Float64Array): ReturnType<typeof makeBatchOracle> => {
        const { x, y } = batches[k++ % batches.length];
        return makeBatchOracle(model, p, x, y, b, 'ce', ws);
      };
      const tag = `MNIST setting ${c.model} b=${b} (N=${model.numParams}, r=${b * 10}), λ=${MNIST_LAMBDA}, t=${MNIST_T_TAU}τ exact, ${c.data}`;
      const adam = createOptimizer('adam', { lr: 1e-3 });
      const pa = model.init(1);
      const adamStep = await timeItAsync(async () => {
        await adam.step(pa, oracle(pa));
      }, 10, 2);
      const driver = await emulator(model, b);
      const forms: Form[] = quick && model.numParams > 10000 ? ['layered'] : ['explicit', 'layered'];
      for (const form of forms) {
        const tngd = createOptimizer('tngd', { lr: 0.1, damping: MNIST_LAMBDA, kappa0: 1e-3, integrator: 'exact', tTau: MNIST_T_TAU, samplePeriod: 0.5, curvatureForm: form }, { driver });
        const p = model.init(1);
        let bytes = 0;
        let host = 0;
        const s = await timeItAsync(async () => {
          const st = await tngd.step(p, oracle(p));
          bytes = st.bytesOut ?? 0;
          host = st.hostSeconds;
        }, quick ? 2 : 4, 1);
        rows.push({
          case: `${tag}: TNGD iteration, ${form} upload`,
          value: s,
          unit: 's/iter',
          baseline: adamStep,
          ratio: s / adamStep,
          note: `baseline: Adam step (s); target ≤ 0.4 s (layered); host part of the last step ${ms(host).toFixed(2)} ms`,
          bytesOut: bytes,
        });
      }
      await driver.close();
    }
    return rows;
  },
};

export default suite;
