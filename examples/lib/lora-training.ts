// Fine-tuning runs of the LoRA span model: seeded mini-batches (the project's Batcher), one
// optimizer step per batch through the optimizers' registry exactly as train() drives them
// (TNGD and TNGD-Adam get a connected emu: device in their context), periodic EM/F1 evaluation,
// and the same accounting as the classifier studies (host seconds, device τ, compute time with the
// projected device part). train() itself is for classifiers on image data sets; this loop is its
// counterpart for token batches and span targets.
import { connect } from '../../src/connect.ts';
import { Batcher } from '../../src/host-loop/data/dataset.ts';
import { qaBatch, type QaSet } from '../../src/host-loop/data/qa/task.ts';
import { bestSpan, squadScores } from '../../src/host-loop/data/qa/squad-metrics.ts';
import { Vocab } from '../../src/host-loop/data/qa/vocab.ts';
import { spanLoss } from '../../src/host-loop/models/transformer/span-loss.ts';
import { makeSpanBatchOracle } from '../../src/host-loop/models/transformer/span-factors.ts';
import type { SpanLoraModel } from '../../src/host-loop/models/transformer/span-model.ts';
import { createOptimizer } from '../../src/host-loop/optimizers/index.ts';
import '../../src/host-loop/optimizers/tngd-registry.ts';
import type { SpuDriver } from '../../src/driver/driver.ts';
import { PAPER_DEVICE, projectTngdDevice } from './device-model.ts';

export interface LoraArm {
  label: string;
  optimizer: string;
  options: Record<string, unknown>;
}

export interface LoraRunSettings {
  iters: number;
  batch: number;
  evalEvery: number;
  /** GGN rows kept per softmax block (k): r = 2·b·k */
  rowsPerBlock: number;
  /** device URL for TNGD arms */
  device: string;
  /** longest answer the decoder considers, tokens */
  maxAnswerLen: number;
}

export interface QaEval {
  loss: number;
  em: number;
  f1: number;
}

export interface LoraRecord {
  iter: number;
  trainLoss: number;
  hostSeconds: number;
  deviceTau: number;
  /** cumulative host + projected device seconds */
  computeSeconds: number;
  wallSeconds: number;
  eval?: QaEval;
}

export interface LoraRun {
  label: string;
  optimizer: string;
  options: Record<string, unknown>;
  seed: number;
  /** the loss or θ became non-finite, or the device refused a run (see failure) */
  diverged: boolean;
  failure?: string;
  records: LoraRecord[];
  final: QaEval | null;
  r: number;
}

/** Loss, EM and F1 of θ on a split (chunks of 64). */
export function evaluateQa(model: SpanLoraModel, theta: Float64Array, set: QaSet, maxAnswerLen: number, vocab = new Vocab()): QaEval {
  const L = set.maxLen;
  let loss = 0;
  const preds: string[] = [];
  for (let s = 0; s < set.n; s += 64) {
    const idx = Array.from({ length: Math.min(64, set.n - s) }, (_, i) => s + i);
    const qb = qaBatch(set, idx);
    const z = model.forward(theta, qb);
    loss += spanLoss(z, qb.lengths, qb, qb.b, L) * qb.b;
    idx.forEach((k, i) => {
      const sp = bestSpan(z, i * 2 * L, L, set.ctxStart[k], set.ctxEnd[k], maxAnswerLen);
      preds.push(vocab.decode(set.tokens.subarray(k * L + sp.start, k * L + sp.end + 1)).join(' '));
    });
  }
  return { loss: loss / set.n, ...squadScores(preds, set.answers) };
}

const hr = (): bigint => process.hrtime.bigint();
const secs = (a: bigint, b: bigint): number => Number(b - a) / 1e9;

export async function runLora(model: SpanLoraModel, arm: LoraArm, seed: number, s: LoraRunSettings, train: QaSet, evalSet: QaSet): Promise<LoraRun> {
  const theta = model.init(seed);
  const r = 2 * s.batch * s.rowsPerBlock;
  const usesDevice = arm.optimizer === 'tngd' || arm.optimizer === 'tngd-adam';
  let driver: SpuDriver | null = null;
  if (usesDevice) driver = await connect(s.device, { seed, maxCells: Math.max(4096, model.numParams), maxRank: Math.max(256, r) });
  const run: LoraRun = { label: arm.label, optimizer: arm.optimizer, options: arm.options, seed, diverged: false, records: [], final: null, r };
  try {
    const opt = createOptimizer(arm.optimizer, arm.options, driver ? { driver, seed } : {});
    const batcher = new Batcher(train.n, s.batch, seed);
    const started = hr();
    let compute = 0;
    for (let it = 1; it <= s.iters; it++) {
      const t0 = hr();
      const qb = qaBatch(train, batcher.next().idx);
      const oracle = makeSpanBatchOracle(model, theta, qb, qb, s.rowsPerBlock);
      const t1 = hr();
      let st;
      try {
        st = await opt.step(theta, oracle);
      } catch (e) {
        run.diverged = true;
        run.failure = `iteration ${it}: ${e instanceof Error ? e.message : String(e)}`;
        break;
      }
      const host = secs(t0, t1) + st.hostSeconds;
      const tau = st.deviceTau ?? 0;
      compute += host + (tau > 0 ? projectTngdDevice(model.numParams, s.batch, r / s.batch, { ...PAPER_DEVICE, analogTimeTau: tau }).deviceSeconds : 0);
      const rec: LoraRecord = { iter: it, trainLoss: oracle.loss, hostSeconds: host, deviceTau: tau, computeSeconds: compute, wallSeconds: 0 };
      if (!Number.isFinite(oracle.loss) || !theta.every(Number.isFinite)) {
        run.diverged = true;
        run.failure = `iteration ${it}: non-finite loss or parameters`;
        run.records.push({ ...rec, wallSeconds: secs(started, hr()) });
        break;
      }
      if (it % s.evalEvery === 0 || it === s.iters) rec.eval = evaluateQa(model, theta, evalSet, s.maxAnswerLen);
      rec.wallSeconds = secs(started, hr());
      run.records.push(rec);
      await new Promise((res) => setImmediate(res));
    }
    if (!run.diverged) run.final = run.records[run.records.length - 1].eval ?? null;
  } finally {
    await driver?.close();
  }
  return run;
}
