// What putting a device back costs: restoring the TNGD device state of iteration 200 sets the
// emulator's run counter with Configure (PROTOCOL.md §7.3.1) instead of replaying 200 runs — no
// run at all without a delay, one (rebuilding the previous system) with one. Bit-identical
// continuation itself is tested end to end in resume.test.ts.
import { afterEach, describe, expect, it } from 'vitest';
import { connect } from '../../../src/connect.ts';
import { SpuDriver, duplexLink } from '../../../src/driver/index.ts';
import { createEmulatedDevice } from '../../../src/emulator/index.ts';
import { makeBatchOracle } from '../../../src/host-loop/batch-oracle.ts';
import { Batcher, gatherBatch } from '../../../src/host-loop/data/dataset.ts';
import { loadDataset } from '../../../src/host-loop/data/load.ts';
import { createModel } from '../../../src/host-loop/models/model.ts';
import { OptimizerStateError } from '../../../src/host-loop/optimizers/errors.ts';
import { saveVec } from '../../../src/host-loop/optimizers/state-codec.ts';
import { TngdDirection, tngdOptionsSchema } from '../../../src/host-loop/optimizers/tngd.ts';
import { rewriteProxy } from '../../driver/helpers.ts';

const model = createModel('mlp:196-8-10'); // N = 1666
const B = 8;
const N = model.numParams;
const X = Float64Array.from({ length: N }, (_, i) => Math.sin(i) * 0.01);
const EMU = 'emu:?profile=ideal&seed=3&maxCells=4096&maxRank=256&maxFrameBytes=65535';

const open: SpuDriver[] = [];
afterEach(async () => {
  for (const d of open.splice(0)) await d.close();
});
async function track(p: Promise<SpuDriver>): Promise<SpuDriver> {
  const d = await p;
  open.push(d);
  return d;
}

const options = (o: Record<string, unknown>) => tngdOptionsSchema.parse({ lr: 0.1, damping: 0.1, kappa0: 0.05, tTau: 2, ...o });
const at200 = (theta: Float64Array | null) => ({ version: 1, coreRuns: 200, hasRun: true, x: saveVec(X), theta: saveVec(theta) });

describe('TNGD restoreDevice at iteration 200', () => {
  it('carry, no delay: no run on the device; the counter is 200 and x is loaded', async () => {
    const dev = await track(connect(EMU));
    const dir = new TngdDirection(dev, options({}), 3);
    await dir.restoreDevice(at200(null));
    expect(await dev.status()).toMatchObject({ state: 'READY', runId: 0, runIndex: 200, n: N, hasCurvature: true });
    expect(dev.runIndex).toBe(200);
    // and it checkpoints the same counter again
    expect(await dir.saveDevice()).toMatchObject({ coreRuns: 200, hasRun: true, x: saveVec(X) });
  });

  it('delay 0.5τ: exactly one run (the previous system rebuilt), then the counter is set to 200', async () => {
    const dev = await track(connect(EMU));
    const { train } = loadDataset();
    const { x, y } = gatherBatch(train, new Batcher(train.n, B, 4).next().idx);
    const theta = model.init(4);
    const dir = new TngdDirection(dev, options({ delay: 0.5 }), 3);
    let built = 0;
    await dir.restoreDevice(at200(theta), {
      lastBatchAt: (p) => {
        built++;
        return makeBatchOracle(model, p, x, y, B, 'ce');
      },
    });
    expect(built).toBe(1);
    expect(await dev.status()).toMatchObject({ state: 'READY', runId: 1, runIndex: 200, n: N });
  });

  it('an emulator that cannot set its counter (protocol 1.0): refused with noise on, fine with κ₀ = 0', async () => {
    const v10 = () =>
      track(
        SpuDriver.open(async () => duplexLink(rewriteProxy(createEmulatedDevice({ seed: 3, maxCells: 4096, maxFrameBytes: 65535 }), (m) => (m.kind === 'HelloReply' ? { ...m, body: { ...m.body, minor: 0 } } : m)), 'v1.0'), {
          heartbeatIntervalMs: 0,
        }),
      );
    const noisy = await v10();
    expect(noisy.canSetRunIndex).toBe(false);
    await expect(new TngdDirection(noisy, options({}), 3).restoreDevice(at200(null))).rejects.toThrow(OptimizerStateError);
    await expect(new TngdDirection(noisy, options({}), 3).restoreDevice(at200(null))).rejects.toThrow(/protocol ≥ 1.1.*speaks 1\.0/);
    const quiet = await v10();
    await new TngdDirection(quiet, options({ kappa0: 0 }), 3).restoreDevice(at200(null));
    expect(await quiet.status()).toMatchObject({ state: 'READY', runId: 0, n: N });
  });
});
