// The project's optimizers run unchanged on the LoRA span model through its batch oracle: Adam,
// NGD-Woodbury (checked against a dense solve of the truncated GGN), and TNGD / TNGD-Adam on the
// in-process emulated device (exact integrator without noise relaxes to the NGD direction).
import { describe, expect, it } from 'vitest';
import { connect } from '../../../src/connect.ts';
import { Rng } from '../../../src/host-loop/data/rng.ts';
import { denseCurvature } from '../../../src/host-loop/curvature/factors.ts';
import { makeSpanBatchOracle } from '../../../src/host-loop/models/transformer/span-factors.ts';
import { SpanLoraModel } from '../../../src/host-loop/models/transformer/span-model.ts';
import { TransformerEncoder } from '../../../src/host-loop/models/transformer/encoder.ts';
import { createOptimizer } from '../../../src/host-loop/optimizers/index.ts';
import '../../../src/host-loop/optimizers/tngd-registry.ts';
import { relErr } from './helpers.ts';

const CFG = { vocab: 13, maxLen: 8, dModel: 8, heads: 2, dFF: 16, layers: 2 };

function setup() {
  const base = new TransformerEncoder(CFG).initBase(1);
  const model = new SpanLoraModel(CFG, { rank: 2, alpha: 4 }, base);
  const theta = model.init(2);
  const rng = new Rng(3, 1);
  for (let i = 0; i < model.numAdapterParams; i++) theta[i] += 0.2 * rng.normal(); // B ≠ 0
  const b = 4;
  const tokens = new Int32Array(b * CFG.maxLen);
  for (let i = 0; i < tokens.length; i++) tokens[i] = 1 + rng.int(CFG.vocab - 1);
  const batch = { tokens, lengths: Int32Array.from([8, 6, 7, 5]), b };
  const y = { start: Int32Array.from([2, 1, 3, 0]), end: Int32Array.from([3, 1, 5, 2]) };
  return { model, theta, batch, y };
}

/** x = (G + λI)⁻¹ g by Gaussian elimination with partial pivoting (reference). */
function denseSolve(G: Float64Array, lambda: number, g: Float64Array): Float64Array {
  const n = g.length;
  const A = G.slice();
  for (let i = 0; i < n; i++) A[i * n + i] += lambda;
  const x = g.slice();
  for (let c = 0; c < n; c++) {
    let p = c;
    for (let r = c + 1; r < n; r++) if (Math.abs(A[r * n + c]) > Math.abs(A[p * n + c])) p = r;
    if (p !== c) {
      for (let k = 0; k < n; k++) [A[c * n + k], A[p * n + k]] = [A[p * n + k], A[c * n + k]];
      [x[c], x[p]] = [x[p], x[c]];
    }
    for (let r = c + 1; r < n; r++) {
      const f = A[r * n + c] / A[c * n + c];
      if (f === 0) continue;
      for (let k = c; k < n; k++) A[r * n + k] -= f * A[c * n + k];
      x[r] -= f * x[c];
    }
  }
  for (let c = n - 1; c >= 0; c--) {
    let s = x[c];
    for (let k = c + 1; k < n; k++) s -= A[c * n + k] * x[k];
    x[c] = s / A[c * n + c];
  }
  return x;
}

describe('optimizers on the LoRA span model', () => {
  it('NGD-Woodbury steps along (G_k + λI)⁻¹ g of the truncated GGN (k = 2, r = 16)', async () => {
    const { model, theta, batch, y } = setup();
    const oracle = makeSpanBatchOracle(model, theta, batch, y, 2);
    const f = oracle.curvature('ggn');
    expect(f.r).toBe(16);
    const x = denseSolve(denseCurvature(f), 1, oracle.grad);
    const opt = createOptimizer('ngd-woodbury', { lr: 1, damping: 1 });
    const p = theta.slice();
    await opt.step(p, oracle);
    const step = p.map((v, i) => theta[i] - v);
    expect(relErr(step, x)).toBeLessThan(1e-9);
  });

  it('TNGD (exact integrator, κ₀ = 0, x₀ = 0, t = 40τ, final readout) relaxes to the same direction on the emulated device', async () => {
    const { model, theta, batch, y } = setup();
    const oracle = makeSpanBatchOracle(model, theta, batch, y, 2);
    const x = denseSolve(denseCurvature(oracle.curvature('ggn')), 1, oracle.grad);
    const driver = await connect('emu:?profile=ideal', { seed: 1 });
    try {
      const opt = createOptimizer('tngd', { lr: 1, damping: 1, tTau: 40, kappa0: 0, integrator: 'exact', start: 'reset', readout: 'final' }, { driver, seed: 1 });
      const p = theta.slice();
      const st = await opt.step(p, oracle);
      expect(st.deviceTau).toBeCloseTo(40, 9);
      // λ = 1 is the smallest eigenvalue of A: the error e^{−40}‖x*‖ is far below the tolerance
      expect(relErr(p.map((v, i) => theta[i] - v), x)).toBeLessThan(1e-6);
    } finally {
      await driver.close();
    }
  });

  it('TNGD-Adam (β₁ = β₂ = 0, Euler δt = 0.02τ, t = 0.2τ) and Adam lower the span loss in 15 steps', async () => {
    const { model, theta, batch, y } = setup();
    const driver = await connect('emu:?profile=ideal', { seed: 1 });
    try {
      const arms = [
        createOptimizer('tngd-adam', { lr: 1e-2, damping: 1, tTau: 0.2, integrator: 'euler', dt: 0.02, beta1: 0, beta2: 0 }, { driver, seed: 1 }),
        createOptimizer('adam', { lr: 1e-2 }),
      ];
      for (const opt of arms) {
        const p = theta.slice();
        const first = model.lossAndGrad(p, batch, y).loss;
        for (let i = 0; i < 15; i++) await opt.step(p, makeSpanBatchOracle(model, p, batch, y, 2));
        expect(model.lossAndGrad(p, batch, y).loss).toBeLessThan(0.9 * first);
      }
    } finally {
      await driver.close();
    }
  });
});
