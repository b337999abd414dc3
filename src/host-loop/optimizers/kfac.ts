// K-FAC (Martens & Grosse 2015): the natural-gradient method practitioners use. Per dense layer
// the curvature block is approximated by A ⊗ G (src/host-loop/curvature/kronecker.ts), the
// factors are averaged over steps (weight min(1 − 1/k, ρ) on the past, the paper's §5), their
// inverses refreshed every `invInterval` steps, and the layer's direction is
//   'factored' damping (the paper's §6.3, default):  X = (G + (γ/π) I)⁻¹ V (A + π γ I)⁻¹,
//              γ = √λ, π = √((tr A/(nIn+1)) / (tr G/nOut))
//   'exact' damping:  vec X = (A ⊗ G + λ I)⁻¹ vec V, through the eigendecompositions of A and G
// with V = [∇W | ∇bias] the layer's gradient (nOut × (nIn+1)). Layers are independent
// (block-diagonal across layers). With 'exact' damping and a batch for which A ⊗ G is the exact
// curvature (b = 1, or MSE on a linear model), the direction is the exact damped natural
// gradient (F + λI)⁻¹ g: test/host-loop/optimizers/kfac.test.ts.
import { z } from 'zod';
import { Rng, type RngState } from '../data/rng.ts';
import { choleskyInPlace, choleskySolve } from '../linalg/dense.ts';
import { ShapeError } from '../linalg/errors.ts';
import { symmetricEigen } from '../linalg/sym-eig.ts';
import type { BatchOracle, KfacSensitivities, KroneckerLayer } from '../types.ts';
import type { DirectionSource, DirectionStats } from './direction.ts';
import { OptimizerLimitError, OptimizerStateError } from './errors.ts';
import { ngdBaseShape } from './ngd.ts';
import { loadVec, parseState, saveVec, vecSchema } from './state-codec.ts';

const num = (name: string) => z.number({ error: `${name} must be a number` }).finite(`${name} must be finite`);

export const kfacOptionsSchema = z.strictObject({
  ...ngdBaseShape,
  // defaults here (not in the train config's table) so `tngd compare --optimizers …,kfac` runs as is
  lr: ngdBaseShape.lr.default(0.1),
  damping: ngdBaseShape.damping.default(0.1),
  /** 'ggn' (default): exact output Hessians, the same curvature as the other NGD methods; 'sampled': labels drawn from the model (MC Fisher) */
  sensitivities: z.enum(['ggn', 'sampled'], { error: "sensitivities must be 'ggn' or 'sampled'" }).default('ggn'),
  dampingMode: z.enum(['factored', 'exact'], { error: "dampingMode must be 'factored' or 'exact'" }).default('factored'),
  /** ρ: weight on the past factors is min(1 − 1/k, ρ) at step k (0 = this batch's factors only) */
  factorDecay: num('factorDecay').min(0, 'factorDecay must be in [0, 1)').max(0.999999, 'factorDecay must be in [0, 1)').default(0.95),
  /** recompute the damped inverses every this many steps (1 = every step) */
  invInterval: z.number().int('invInterval must be an integer').min(1, 'invInterval must be ≥ 1').max(1_000_000).default(10),
  /** seed of the label sampling ('sampled'); default: the run seed from the optimizer context, else 0 */
  sampleSeed: z.number().int('sampleSeed must be an integer').min(0).optional(),
});

export type KfacOptions = z.infer<typeof kfacOptionsSchema>;

/** How one layer's damped inverse is applied; built from the factors at the last refresh. */
interface LayerInverse {
  apply(V: Float64Array, out: Float64Array): void;
}

interface LayerState {
  layer: Omit<KroneckerLayer, 'A' | 'G'>;
  A: Float64Array;
  G: Float64Array;
  /** factors at the last refresh (kept so a restored optimizer rebuilds the same inverse) */
  Ainv: Float64Array;
  Ginv: Float64Array;
  inverse: LayerInverse;
}

const stateSchema = z.strictObject({
  steps: z.number().int().min(0),
  rng: z.strictObject({ s: z.tuple([z.number(), z.number(), z.number(), z.number()]), spare: z.number().nullable() }),
  layers: z.array(z.strictObject({ nIn: z.number().int(), nOut: z.number().int(), wOff: z.number().int(), bOff: z.number().int(), A: vecSchema, G: vecSchema, Ainv: vecSchema, Ginv: vecSchema })),
});

export class KfacDirection implements DirectionSource {
  private layers: LayerState[] = [];
  private steps = 0;
  private readonly rng: Rng;

  constructor(
    private readonly o: KfacOptions,
    seed = 0,
  ) {
    this.rng = new Rng(o.sampleSeed ?? seed, 0x6b666163);
  }

  compute(params: Float64Array, batch: BatchOracle, out: Float64Array): DirectionStats {
    if (!batch.kronecker) throw new OptimizerLimitError('kfac needs a batch with per-layer Kronecker factors (a model of dense layers through makeBatchOracle)');
    let fresh: KroneckerLayer[];
    try {
      fresh = batch.kronecker(this.o.sensitivities as KfacSensitivities, this.rng);
    } catch (e) {
      if (e instanceof RangeError && /dense layers only|does not provide/.test(e.message)) throw new OptimizerLimitError(`kfac: ${e.message}`);
      throw e;
    }
    this.checkLayout(fresh, params.length);
    this.steps++;
    const k = this.steps;
    const past = Math.min(1 - 1 / k, this.o.factorDecay);
    const refresh = (k - 1) % this.o.invInterval === 0;
    if (this.layers.length === 0) {
      this.layers = fresh.map((f) => ({ layer: pick(f), A: f.A, G: f.G, Ainv: f.A.slice(), Ginv: f.G.slice(), inverse: this.invert(f.A, f.G, f.nIn + 1, f.nOut) }));
    } else {
      fresh.forEach((f, li) => {
        const s = this.layers[li];
        blend(s.A, f.A, past);
        blend(s.G, f.G, past);
        if (refresh) {
          s.Ainv = s.A.slice();
          s.Ginv = s.G.slice();
          s.inverse = this.invert(s.Ainv, s.Ginv, f.nIn + 1, f.nOut);
        }
      });
    }
    const g = batch.grad;
    for (const s of this.layers) {
      const { nIn, nOut, wOff, bOff } = s.layer;
      const na = nIn + 1;
      const V = new Float64Array(nOut * na);
      for (let o = 0; o < nOut; o++) {
        for (let j = 0; j < nIn; j++) V[o * na + j] = g[wOff + o * nIn + j];
        V[o * na + nIn] = g[bOff + o];
      }
      const X = new Float64Array(nOut * na);
      s.inverse.apply(V, X);
      for (let o = 0; o < nOut; o++) {
        for (let j = 0; j < nIn; j++) out[wOff + o * nIn + j] = X[o * na + j];
        out[bOff + o] = X[o * na + nIn];
      }
    }
    return {};
  }

  private checkLayout(fresh: KroneckerLayer[], n: number): void {
    let covered = 0;
    for (const f of fresh) covered += f.nOut * (f.nIn + 1);
    if (covered !== n) throw new ShapeError(`kfac: the layers cover ${covered} parameters, the model has ${n}`);
    if (this.layers.length > 0) {
      const same = fresh.length === this.layers.length && fresh.every((f, i) => f.nIn === this.layers[i].layer.nIn && f.nOut === this.layers[i].layer.nOut && f.wOff === this.layers[i].layer.wOff);
      if (!same) throw new ShapeError('kfac: the layer structure changed between steps');
    }
  }

  private invert(A: Float64Array, G: Float64Array, na: number, nOut: number): LayerInverse {
    const lambda = this.o.damping;
    if (this.o.dampingMode === 'exact') return exactInverse(A, G, na, nOut, lambda);
    return factoredInverse(A, G, na, nOut, lambda);
  }

  saveState(): unknown {
    return {
      steps: this.steps,
      rng: this.rng.getState(),
      layers: this.layers.map((s) => ({ ...s.layer, A: saveVec(s.A), G: saveVec(s.G), Ainv: saveVec(s.Ainv), Ginv: saveVec(s.Ginv) })),
    };
  }

  loadState(state: unknown): void {
    const s = parseState(stateSchema, state, 'kfac direction');
    const layers: LayerState[] = s.layers.map((l, i) => {
      const na = l.nIn + 1;
      const vec = (v: string | null, len: number, what: string): Float64Array => {
        const x = loadVec(v, `kfac layer ${i} ${what}`);
        if (x === null || x.length !== len) throw new OptimizerStateError(`kfac layer ${i} ${what}: expected ${len} values`);
        return x;
      };
      const A = vec(l.A, na * na, 'A');
      const G = vec(l.G, l.nOut * l.nOut, 'G');
      const Ainv = vec(l.Ainv, na * na, 'A at the last refresh');
      const Ginv = vec(l.Ginv, l.nOut * l.nOut, 'G at the last refresh');
      return { layer: { nIn: l.nIn, nOut: l.nOut, wOff: l.wOff, bOff: l.bOff }, A, G, Ainv, Ginv, inverse: this.invert(Ainv, Ginv, na, l.nOut) };
    });
    this.rng.setState(s.rng as RngState);
    this.layers = layers;
    this.steps = s.steps;
  }
}

function pick(f: KroneckerLayer): LayerState['layer'] {
  return { nIn: f.nIn, nOut: f.nOut, wOff: f.wOff, bOff: f.bOff };
}

/** cur ← past·cur + (1 − past)·fresh */
function blend(cur: Float64Array, fresh: Float64Array, past: number): void {
  const w = 1 - past;
  for (let i = 0; i < cur.length; i++) cur[i] = past * cur[i] + w * fresh[i];
}

function trace(M: Float64Array, n: number): number {
  let t = 0;
  for (let i = 0; i < n; i++) t += M[i * n + i];
  return t;
}

/** (G + (γ/π)I)⁻¹ V (A + πγI)⁻¹ by two Cholesky factorisations (Martens & Grosse §6.3). */
function factoredInverse(A: Float64Array, G: Float64Array, na: number, nOut: number, lambda: number): LayerInverse {
  const gamma = Math.sqrt(lambda);
  const ta = trace(A, na) / na;
  const tg = trace(G, nOut) / nOut;
  // a layer whose G is zero (e.g. every unit dead) has no trace ratio: split the damping evenly
  const pi = ta > 0 && tg > 0 ? Math.sqrt(ta / tg) : 1;
  const La = A.slice();
  const Lg = G.slice();
  for (let i = 0; i < na; i++) La[i * na + i] += pi * gamma;
  for (let i = 0; i < nOut; i++) Lg[i * nOut + i] += gamma / pi;
  choleskyInPlace(La, na, 'K-FAC factor A + πγI');
  choleskyInPlace(Lg, nOut, 'K-FAC factor G + (γ/π)I');
  const row = new Float64Array(na);
  const col = new Float64Array(nOut);
  return {
    apply(V, out) {
      // rows of V (A + πγI)⁻¹ (A symmetric), then columns of (G + (γ/π)I)⁻¹ of that
      for (let o = 0; o < nOut; o++) {
        row.set(V.subarray(o * na, (o + 1) * na));
        choleskySolve(La, na, row, row);
        out.set(row, o * na);
      }
      for (let j = 0; j < na; j++) {
        for (let o = 0; o < nOut; o++) col[o] = out[o * na + j];
        choleskySolve(Lg, nOut, col, col);
        for (let o = 0; o < nOut; o++) out[o * na + j] = col[o];
      }
    },
  };
}

/** vec X = (A ⊗ G + λI)⁻¹ vec V = Q_G [(Q_Gᵀ V Q_A) ⊘ (d_G d_Aᵀ + λ)] Q_Aᵀ. */
function exactInverse(A: Float64Array, G: Float64Array, na: number, nOut: number, lambda: number): LayerInverse {
  const ea = symmetricEigen(A, na);
  const eg = symmetricEigen(G, nOut);
  // factors are PSD; rounding can leave eigenvalues of −1e-16·‖A‖, which must not cancel λ
  const da = ea.values.map((v) => Math.max(v, 0));
  const dg = eg.values.map((v) => Math.max(v, 0));
  const Qa = ea.vectors;
  const Qg = eg.vectors;
  const T = new Float64Array(nOut * na);
  const U = new Float64Array(nOut * na);
  return {
    apply(V, out) {
      // T = Q_Gᵀ V
      T.fill(0);
      for (let p = 0; p < nOut; p++)
        for (let o = 0; o < nOut; o++) {
          const q = Qg[o * nOut + p];
          if (q === 0) continue;
          for (let j = 0; j < na; j++) T[p * na + j] += q * V[o * na + j];
        }
      // U = T Q_A, scaled elementwise
      for (let p = 0; p < nOut; p++)
        for (let c = 0; c < na; c++) {
          let s = 0;
          for (let j = 0; j < na; j++) s += T[p * na + j] * Qa[j * na + c];
          U[p * na + c] = s / (dg[p] * da[c] + lambda);
        }
      // T = U Q_Aᵀ, out = Q_G T
      for (let p = 0; p < nOut; p++)
        for (let j = 0; j < na; j++) {
          let s = 0;
          for (let c = 0; c < na; c++) s += U[p * na + c] * Qa[j * na + c];
          T[p * na + j] = s;
        }
      out.fill(0);
      for (let o = 0; o < nOut; o++)
        for (let p = 0; p < nOut; p++) {
          const q = Qg[o * nOut + p];
          if (q === 0) continue;
          for (let j = 0; j < na; j++) out[o * na + j] += q * T[p * na + j];
        }
    },
  };
}
