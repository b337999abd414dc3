// Feed-forward models (dense and conv layers) with hand-written reverse-mode autodiff,
// vectorised over the batch. One backward routine serves three purposes:
//   - the batch gradient (seed rows = dℓ_i/dz_i / b, accumulated into one length-N vector),
//   - the per-sample output Jacobian (b·dz seed rows e_k, one row of J per seed),
//   - per-sample gradients (b seed rows dℓ_i/dz_i, one row per sample),
//   - Jᵀ·w (vjp: b seed rows w_i accumulated, as the gradient).
// A forward-mode tangent pass (jvp) gives J·v through the same layers and patches, so
// curvature products need no Jacobian rows or blocks.
// Parameters are one Float64Array; each layer stores W (out × fan-in, row-major) then its bias.
// Scratch buffers are kept between calls (reallocated only when a batch is larger than any
// before); every returned array is freshly allocated unless the caller passes `out`.
// Over 400 lines on purpose: forward, backward and their four entry points share the layer
// table and scratch buffers of one class; splitting would expose those buffers.

import { Rng } from '../data/rng.ts';
import type { BufferPool, LayerBlock } from '../types.ts';
import { lossForward, type LossKind, type Targets } from './losses.ts';
import { convOutSize, countParams, formatModelSpec, parseModelSpec, type Activation, type ModelSpec } from './spec.ts';

export interface LossAndGrad {
  /** mean loss over the batch */
  loss: number;
  /** gradient of the mean loss, length N */
  grad: Float64Array;
  /** model outputs, b × dz */
  outputs: Float64Array;
}

export interface Model {
  readonly spec: ModelSpec;
  /** canonical spec string */
  readonly name: string;
  readonly numParams: number;
  readonly inputDim: number;
  readonly outputDim: number;
  /** Deterministic initialisation: the same seed gives the same bits. */
  init(seed: number): Float64Array;
  /** Outputs b × dz for inputs X (b × inputDim). */
  forward(params: Float64Array, X: Float64Array, b: number): Float64Array;
  lossAndGrad(params: Float64Array, X: Float64Array, y: Targets, b: number, loss: LossKind): LossAndGrad;
  /** Per-sample output Jacobian: (b·dz) × N row-major; row i·dz + k is ∂z_ik/∂θ. */
  outputJacobian(params: Float64Array, X: Float64Array, b: number, out?: Float64Array): Float64Array;
  /** Per-sample loss gradients ∇ℓ_i (not divided by b): b × N row-major. */
  perSampleGrads(params: Float64Array, X: Float64Array, y: Targets, b: number, loss: LossKind, out?: Float64Array): Float64Array;
  /**
   * Per dense layer (input to output), its inputs and the sensitivities of R = b·m output seed
   * rows to its pre-activations: row r of `sensitivities` is ∂(seeds_r · z_⌊r/m⌋)/∂s. What
   * Kronecker-factored curvature (K-FAC) needs. Optional: models with other layers may omit it;
   * this one throws a RangeError when it has conv layers.
   */
  denseLayerTrace?(params: Float64Array, X: Float64Array, b: number, seeds: Float64Array, m: number): DenseLayerTrace[];
  /**
   * J of R = b·m seed rows (row r: ∂(seeds_r · z_⌊r/m⌋)/∂θ) per layer, in parameter order, from
   * one forward and one reverse pass: dense layers as their inputs A (b × nIn) and sensitivities
   * D (R × nOut), conv layers as explicit R × cols blocks. Never writes the R × N Jacobian; all
   * arrays come from `pool` (overwritten by the next call with the same pool and prefix).
   * `reuseForward`: the caller promises params and X were not changed since the model's last
   * forward pass on these very arrays (same objects, same b), which is then reused.
   * Optional: models without this layer structure omit it.
   */
  layerBlocks?(params: Float64Array, X: Float64Array, b: number, seeds: Float64Array, m: number, pool: BufferPool, prefix: string, reuseForward?: boolean): LayerBlock[];
  /**
   * Forward-mode product with the per-sample output Jacobian: out (b·dz, row i·dz + k) =
   * Σ_p ∂z_ik/∂θ_p v_p, one tangent pass through the same layers (never a Jacobian block).
   * `reuseForward` as for layerBlocks. Optional, like layerBlocks.
   */
  jvp?(params: Float64Array, X: Float64Array, b: number, v: Float64Array, out?: Float64Array, reuseForward?: boolean): Float64Array;
  /** Reverse-mode product out (length N) = Jᵀ w for w of length b·dz: one backward pass seeded with w. */
  vjp?(params: Float64Array, X: Float64Array, b: number, w: Float64Array, out?: Float64Array, reuseForward?: boolean): Float64Array;
}

export interface DenseLayerTrace {
  nIn: number;
  nOut: number;
  /** offsets of W (nOut × nIn, row-major) and of the bias (nOut) in the parameter vector */
  wOff: number;
  bOff: number;
  /** b × nIn */
  inputs: Float64Array;
  /** R × nOut */
  sensitivities: Float64Array;
}

type Act = Activation | 'linear';

interface LayerBase {
  act: Act;
  nIn: number;
  nOut: number;
  wOff: number;
  bOff: number;
  fanIn: number;
}
interface DenseLayer extends LayerBase {
  kind: 'dense';
}
interface ConvLayer extends LayerBase {
  kind: 'conv';
  outC: number;
  /** output positions (outH·outW) and patch length (k·k·inC) */
  P: number;
  Q: number;
  /** P × Q input index of each patch element, −1 for padding */
  colIdx: Int32Array;
}
type Layer = DenseLayer | ConvLayer;

export function createModel(spec: string | ModelSpec): Model {
  return new SequentialModel(typeof spec === 'string' ? parseModelSpec(spec) : spec);
}

class SequentialModel implements Model {
  readonly name: string;
  readonly numParams: number;
  readonly inputDim: number;
  readonly outputDim: number;
  private readonly layers: Layer[];
  private cap = 0;
  private rowCap = 0;
  /** per layer: pre-activation and post-activation, cap × nOut (post === pre for linear) */
  private pre: Float64Array[] = [];
  private post: Float64Array[] = [];
  /** per conv layer: gathered patches cap × P × Q */
  private patches: (Float64Array | null)[] = [];
  private dA = new Float64Array(0);
  private dB = new Float64Array(0);
  /** tangent of one sample's conv patches (P × Q), for jvp */
  private tPatch = new Float64Array(0);
  private readonly maxWidth: number;
  /** the arrays of the last forward pass (the activations in pre/post are theirs) */
  private lastRun: { params: Float64Array; X: Float64Array; b: number } | null = null;

  constructor(readonly spec: ModelSpec) {
    this.name = formatModelSpec(spec);
    this.numParams = countParams(spec);
    const [h0, w0, c0] = spec.input;
    this.inputDim = h0 * w0 * c0;
    const layers: Layer[] = [];
    let off = 0;
    let [h, w, c] = spec.input;
    for (const cv of spec.convs) {
      const oh = convOutSize(h, cv);
      const ow = convOutSize(w, cv);
      const Q = cv.kernel * cv.kernel * c;
      const P = oh * ow;
      const colIdx = new Int32Array(P * Q);
      for (let oy = 0; oy < oh; oy++) {
        for (let ox = 0; ox < ow; ox++) {
          const p = oy * ow + ox;
          let q = 0;
          for (let ky = 0; ky < cv.kernel; ky++) {
            for (let kx = 0; kx < cv.kernel; kx++) {
              const iy = oy * cv.stride - cv.pad + ky;
              const ix = ox * cv.stride - cv.pad + kx;
              const inside = iy >= 0 && iy < h && ix >= 0 && ix < w;
              for (let ci = 0; ci < c; ci++) colIdx[p * Q + q++] = inside ? (iy * w + ix) * c + ci : -1;
            }
          }
        }
      }
      const wOff = off;
      off += cv.channels * Q;
      const bOff = off;
      off += cv.channels;
      layers.push({ kind: 'conv', act: spec.activation, nIn: h * w * c, nOut: P * cv.channels, wOff, bOff, fanIn: Q, outC: cv.channels, P, Q, colIdx });
      h = oh;
      w = ow;
      c = cv.channels;
    }
    let d = h * w * c;
    spec.dense.forEach((width, i) => {
      const wOff = off;
      off += width * d;
      const bOff = off;
      off += width;
      const act: Act = i === spec.dense.length - 1 ? 'linear' : spec.activation;
      layers.push({ kind: 'dense', act, nIn: d, nOut: width, wOff, bOff, fanIn: d });
      d = width;
    });
    if (off !== this.numParams) throw new Error(`internal: parameter layout ${off} ≠ ${this.numParams}`);
    this.layers = layers;
    this.outputDim = d;
    this.maxWidth = Math.max(this.inputDim, ...layers.map((l) => l.nOut));
  }

  init(seed: number): Float64Array {
    const rng = new Rng(seed, 0x6d6f64);
    const p = new Float64Array(this.numParams);
    for (const l of this.layers) {
      // He for relu, LeCun for tanh and the linear output layer; biases start at zero.
      const std = Math.sqrt((l.act === 'relu' ? 2 : 1) / l.fanIn);
      for (let i = l.wOff; i < l.bOff; i++) p[i] = std * rng.normal();
    }
    return p;
  }

  private ensure(b: number, rows: number): void {
    if (b > this.cap) {
      this.cap = b;
      this.pre = [];
      this.post = [];
      this.patches = [];
      for (const l of this.layers) {
        const z = new Float64Array(b * l.nOut);
        this.pre.push(z);
        this.post.push(l.act === 'linear' ? z : new Float64Array(b * l.nOut));
        this.patches.push(l.kind === 'conv' ? new Float64Array(b * l.P * l.Q) : null);
      }
    }
    if (rows > this.rowCap) {
      this.rowCap = rows;
      this.dA = new Float64Array(rows * this.maxWidth);
      this.dB = new Float64Array(rows * this.maxWidth);
    }
  }

  private check(params: Float64Array, X: Float64Array, b: number): void {
    if (!(params instanceof Float64Array) || params.length !== this.numParams) {
      throw new RangeError(`${this.name}: params must be a Float64Array of length ${this.numParams}, got ${params?.length}`);
    }
    if (!Number.isInteger(b) || b < 1) throw new RangeError(`${this.name}: batch size must be a positive integer, got ${b}`);
    if (!(X instanceof Float64Array) || X.length < b * this.inputDim) {
      throw new RangeError(`${this.name}: inputs must be a Float64Array of at least ${b}×${this.inputDim}, got ${X?.length}`);
    }
  }

  /** Runs the layers; returns the output buffer (scratch, b × dz). */
  private run(params: Float64Array, X: Float64Array, b: number): Float64Array {
    this.lastRun = { params, X, b };
    let A = X;
    for (let li = 0; li < this.layers.length; li++) {
      const l = this.layers[li];
      const Z = this.pre[li];
      const { nIn, nOut, wOff, bOff } = l;
      if (l.kind === 'dense') {
        for (let s = 0; s < b; s++) {
          const ao = s * nIn;
          const zo = s * nOut;
          for (let o = 0; o < nOut; o++) {
            const wo = wOff + o * nIn;
            let acc = params[bOff + o];
            for (let j = 0; j < nIn; j++) acc += params[wo + j] * A[ao + j];
            Z[zo + o] = acc;
          }
        }
      } else {
        const { P, Q, outC, colIdx } = l;
        const pt = this.patches[li] as Float64Array;
        for (let s = 0; s < b; s++) {
          const ao = s * nIn;
          const po = s * P * Q;
          for (let e = 0; e < P * Q; e++) {
            const idx = colIdx[e];
            pt[po + e] = idx < 0 ? 0 : A[ao + idx];
          }
          for (let p = 0; p < P; p++) {
            const pr = po + p * Q;
            const zo = s * nOut + p * outC;
            for (let co = 0; co < outC; co++) {
              const wo = wOff + co * Q;
              let acc = params[bOff + co];
              for (let q = 0; q < Q; q++) acc += params[wo + q] * pt[pr + q];
              Z[zo + co] = acc;
            }
          }
        }
      }
      const Y = this.post[li];
      const m = b * nOut;
      if (l.act === 'relu') for (let i = 0; i < m; i++) Y[i] = Z[i] > 0 ? Z[i] : 0;
      else if (l.act === 'tanh') for (let i = 0; i < m; i++) Y[i] = Math.tanh(Z[i]);
      A = Y;
    }
    return this.post[this.layers.length - 1];
  }

  /**
   * Reverse pass from R seed rows (in this.dA, R × dz); row r belongs to sample ⌊r/m⌋.
   * Parameter gradients of row r go to out[r·stride …]: stride 0 accumulates all rows into one
   * vector (out must start zeroed), stride N stores one row per seed (out need not be zeroed:
   * every entry of every row is written).
   */
  private backward(
    params: Float64Array,
    X: Float64Array,
    R: number,
    m: number,
    out: Float64Array,
    stride: number,
    onSensitivity?: (li: number, D: Float64Array) => void,
    perLayer?: readonly (Float64Array | null)[],
  ): void {
    let D = this.dA;
    let Dp = this.dB;
    for (let li = this.layers.length - 1; li >= 0; li--) {
      const l = this.layers[li];
      const { nIn, nOut, wOff, bOff } = l;
      // perLayer: this layer's rows go to their own r × cols block (or nowhere when null)
      let dst = out;
      let rowStride = stride;
      let shift = 0;
      const target = perLayer ? perLayer[li] : out;
      if (perLayer && target) {
        dst = target;
        rowStride = bOff + (l.kind === 'conv' ? l.outC : nOut) - wOff;
        shift = -wOff;
      }
      const skip = target === null;
      const rows = rowStride !== 0;
      const A = li === 0 ? X : this.post[li - 1];
      if (l.act !== 'linear') {
        const Y = this.post[li];
        const relu = l.act === 'relu';
        for (let r = 0; r < R; r++) {
          const dr = r * nOut;
          const yr = ((r / m) | 0) * nOut;
          if (relu) {
            for (let o = 0; o < nOut; o++) if (Y[yr + o] <= 0) D[dr + o] = 0;
          } else {
            for (let o = 0; o < nOut; o++) {
              const t = Y[yr + o];
              D[dr + o] *= 1 - t * t;
            }
          }
        }
      }
      onSensitivity?.(li, D);
      const needInputGrad = li > 0;
      if (needInputGrad) Dp.fill(0, 0, R * nIn);
      if (l.kind === 'dense') {
        for (let r = 0; r < R; r++) {
          const base = r * rowStride + shift;
          const ao = ((r / m) | 0) * nIn;
          const dr = r * nOut;
          const pr = r * nIn;
          for (let o = 0; o < nOut; o++) {
            const d = D[dr + o];
            const go = base + wOff + o * nIn;
            if (skip) {
              // parameter rows not wanted: only propagate
            } else if (rows) {
              // each (row, unit) segment is written exactly once: store, don't accumulate
              dst[base + bOff + o] = d;
              if (d === 0) {
                dst.fill(0, go, go + nIn);
                continue;
              }
              for (let j = 0; j < nIn; j++) dst[go + j] = d * A[ao + j];
            } else {
              if (d === 0) continue;
              dst[base + bOff + o] += d;
              for (let j = 0; j < nIn; j++) dst[go + j] += d * A[ao + j];
            }
            if (needInputGrad && d !== 0) {
              const wo = wOff + o * nIn;
              for (let j = 0; j < nIn; j++) Dp[pr + j] += d * params[wo + j];
            }
          }
        }
      } else {
        const { P, Q, outC, colIdx } = l;
        const pt = this.patches[li] as Float64Array;
        for (let r = 0; r < R; r++) {
          const base = r * rowStride + shift;
          if (rows && !skip) dst.fill(0, base + wOff, base + bOff + outC);
          const po = ((r / m) | 0) * P * Q;
          const pr = r * nIn;
          for (let p = 0; p < P; p++) {
            const dr = r * nOut + p * outC;
            const prow = po + p * Q;
            for (let co = 0; co < outC; co++) {
              const d = D[dr + co];
              if (d === 0) continue;
              if (!skip) {
                dst[base + bOff + co] += d;
                const go = base + wOff + co * Q;
                for (let q = 0; q < Q; q++) dst[go + q] += d * pt[prow + q];
              }
              if (needInputGrad) {
                const wo = wOff + co * Q;
                const ci = p * Q;
                for (let q = 0; q < Q; q++) {
                  const idx = colIdx[ci + q];
                  if (idx >= 0) Dp[pr + idx] += d * params[wo + q];
                }
              }
            }
          }
        }
      }
      const t = D;
      D = Dp;
      Dp = t;
    }
  }

  forward(params: Float64Array, X: Float64Array, b: number): Float64Array {
    this.check(params, X, b);
    this.ensure(b, 0);
    return this.run(params, X, b).slice(0, b * this.outputDim);
  }

  lossAndGrad(params: Float64Array, X: Float64Array, y: Targets, b: number, loss: LossKind): LossAndGrad {
    this.check(params, X, b);
    this.ensure(b, b);
    const dz = this.outputDim;
    const z = this.run(params, X, b);
    const value = lossForward(loss, z, y, b, dz, this.dA, 1 / b);
    const outputs = z.slice(0, b * dz);
    const grad = new Float64Array(this.numParams);
    this.backward(params, X, b, 1, grad, 0);
    return { loss: value, grad, outputs };
  }

  outputJacobian(params: Float64Array, X: Float64Array, b: number, out?: Float64Array): Float64Array {
    this.check(params, X, b);
    const dz = this.outputDim;
    const R = b * dz;
    this.ensure(b, R);
    const J = this.outBuffer(R, out);
    this.run(params, X, b);
    const D = this.dA;
    D.fill(0, 0, R * dz);
    for (let r = 0; r < R; r++) D[r * dz + (r % dz)] = 1;
    this.backward(params, X, R, dz, J, this.numParams);
    return J;
  }

  perSampleGrads(params: Float64Array, X: Float64Array, y: Targets, b: number, loss: LossKind, out?: Float64Array): Float64Array {
    this.check(params, X, b);
    this.ensure(b, b);
    const G = this.outBuffer(b, out);
    const z = this.run(params, X, b);
    lossForward(loss, z, y, b, this.outputDim, this.dA, 1);
    this.backward(params, X, b, 1, G, this.numParams);
    return G;
  }

  denseLayerTrace(params: Float64Array, X: Float64Array, b: number, seeds: Float64Array, m: number): DenseLayerTrace[] {
    this.check(params, X, b);
    if (this.layers.some((l) => l.kind === 'conv')) throw new RangeError(`${this.name}: denseLayerTrace needs a model of dense layers only (this one has conv layers)`);
    const dz = this.outputDim;
    const R = b * m;
    if (!Number.isInteger(m) || m < 1 || !(seeds instanceof Float64Array) || seeds.length < R * dz)
      throw new RangeError(`${this.name}: seeds must be a Float64Array of ${b}·${m} rows × ${dz}, got ${seeds?.length} values`);
    this.ensure(b, R);
    this.run(params, X, b);
    const traces: DenseLayerTrace[] = this.layers.map((l, li) => ({
      nIn: l.nIn,
      nOut: l.nOut,
      wOff: l.wOff,
      bOff: l.bOff,
      inputs: (li === 0 ? X : this.post[li - 1]).slice(0, b * l.nIn),
      sensitivities: new Float64Array(0),
    }));
    this.dA.set(seeds.subarray(0, R * dz));
    // only the per-layer sensitivities are kept: no parameter rows (they would cost R·N)
    this.backward(
      params,
      X,
      R,
      m,
      this.dB,
      0,
      (li, D) => {
        traces[li].sensitivities = D.slice(0, R * this.layers[li].nOut);
      },
      this.layers.map(() => null),
    );
    return traces;
  }

  layerBlocks(params: Float64Array, X: Float64Array, b: number, seeds: Float64Array, m: number, pool: BufferPool, prefix: string, reuseForward = false): LayerBlock[] {
    this.check(params, X, b);
    const dz = this.outputDim;
    const R = b * m;
    if (!Number.isInteger(m) || m < 1 || !(seeds instanceof Float64Array) || seeds.length < R * dz)
      throw new RangeError(`${this.name}: seeds must be a Float64Array of ${b}·${m} rows × ${dz}, got ${seeds?.length} values`);
    const last = this.lastRun;
    const fresh = reuseForward && last !== null && last.params === params && last.X === X && last.b === b && b <= this.cap;
    this.ensure(b, R);
    if (!fresh) this.run(params, X, b);
    const blocks: LayerBlock[] = this.layers.map((l, li) => {
      if (l.kind === 'conv') {
        const cols = l.bOff + l.outC - l.wOff;
        return { kind: 'explicit', cols, J: pool.take(`${prefix}:J${li}`, R * cols) };
      }
      // the inputs are scratch (or the caller's X): copied so the factors outlive the next call
      const A = pool.take(`${prefix}:A${li}`, b * l.nIn);
      A.set((li === 0 ? X : this.post[li - 1]).subarray(0, b * l.nIn));
      return { kind: 'dense', nIn: l.nIn, nOut: l.nOut, bias: true, A, D: pool.take(`${prefix}:D${li}`, R * l.nOut) };
    });
    this.dA.set(seeds.subarray(0, R * dz));
    const perLayer = blocks.map((blk) => (blk.kind === 'explicit' ? blk.J : null));
    this.backward(
      params,
      X,
      R,
      m,
      this.dB, // unused: every layer has a perLayer target (a block or nothing)
      0,
      (li, D) => {
        const blk = blocks[li];
        if (blk.kind === 'dense') blk.D.set(D.subarray(0, R * blk.nOut));
      },
      perLayer,
    );
    return blocks;
  }

  /** Runs the forward pass unless `reuse` and it already ran on these very arrays (see layerBlocks). */
  private forwardFor(params: Float64Array, X: Float64Array, b: number, rows: number, reuse: boolean): void {
    const last = this.lastRun;
    const fresh = reuse && last !== null && last.params === params && last.X === X && last.b === b && b <= this.cap;
    this.ensure(b, rows);
    if (!fresh) this.run(params, X, b);
  }

  jvp(params: Float64Array, X: Float64Array, b: number, v: Float64Array, out?: Float64Array, reuseForward = false): Float64Array {
    this.check(params, X, b);
    const dz = this.outputDim;
    if (!(v instanceof Float64Array) || v.length !== this.numParams) throw new RangeError(`${this.name}: jvp tangent must be a Float64Array of length ${this.numParams}, got ${v?.length}`);
    if (out !== undefined && (!(out instanceof Float64Array) || out.length < b * dz)) throw new RangeError(`${this.name}: jvp out needs ${b}×${dz} values, got ${out?.length}`);
    this.forwardFor(params, X, b, b, reuseForward);
    // tangent of the layer input in T (b × nIn; zero for the data), of its pre-activation in U
    let T = this.dA;
    let U = this.dB;
    for (let li = 0; li < this.layers.length; li++) {
      const l = this.layers[li];
      const { nIn, nOut, wOff, bOff } = l;
      const A = li === 0 ? X : this.post[li - 1];
      const tin = li > 0; // the inputs X carry no tangent
      if (l.kind === 'dense') {
        // dZ = V_W A + v_b + W dA
        for (let s = 0; s < b; s++) {
          const ao = s * nIn;
          for (let o = 0; o < nOut; o++) {
            const wo = wOff + o * nIn;
            let acc = v[bOff + o];
            for (let j = 0; j < nIn; j++) acc += v[wo + j] * A[ao + j];
            if (tin) for (let j = 0; j < nIn; j++) acc += params[wo + j] * T[ao + j];
            U[s * nOut + o] = acc;
          }
        }
      } else {
        // the same patches as forward; the tangent's patches gathered through the same colIdx
        const { P, Q, outC, colIdx } = l;
        const pt = this.patches[li] as Float64Array;
        if (this.tPatch.length < P * Q) this.tPatch = new Float64Array(P * Q);
        const tp = this.tPatch;
        for (let s = 0; s < b; s++) {
          const ao = s * nIn;
          if (tin)
            for (let e = 0; e < P * Q; e++) {
              const idx = colIdx[e];
              tp[e] = idx < 0 ? 0 : T[ao + idx];
            }
          const po = s * P * Q;
          for (let p = 0; p < P; p++) {
            const pr = po + p * Q;
            const tr = p * Q;
            const zo = s * nOut + p * outC;
            for (let co = 0; co < outC; co++) {
              const wo = wOff + co * Q;
              let acc = v[bOff + co];
              for (let q = 0; q < Q; q++) acc += v[wo + q] * pt[pr + q];
              if (tin) for (let q = 0; q < Q; q++) acc += params[wo + q] * tp[tr + q];
              U[zo + co] = acc;
            }
          }
        }
      }
      // activation tangent in place, with the same derivative convention as backward
      const Y = this.post[li];
      const m = b * nOut;
      if (l.act === 'relu') for (let i = 0; i < m; i++) { if (Y[i] <= 0) U[i] = 0; }
      else if (l.act === 'tanh') for (let i = 0; i < m; i++) U[i] *= 1 - Y[i] * Y[i];
      const t = T;
      T = U;
      U = t;
    }
    const res = out ?? new Float64Array(b * dz);
    res.set(T.subarray(0, b * dz));
    return res;
  }

  vjp(params: Float64Array, X: Float64Array, b: number, w: Float64Array, out?: Float64Array, reuseForward = false): Float64Array {
    this.check(params, X, b);
    const dz = this.outputDim;
    if (!(w instanceof Float64Array) || w.length < b * dz) throw new RangeError(`${this.name}: vjp cotangent must be a Float64Array of ${b}×${dz} values, got ${w?.length}`);
    if (out !== undefined && (!(out instanceof Float64Array) || out.length < this.numParams)) throw new RangeError(`${this.name}: vjp out needs ${this.numParams} values, got ${out?.length}`);
    this.forwardFor(params, X, b, b, reuseForward);
    // as lossAndGrad: b seed rows (one per sample) accumulated into one N-vector
    this.dA.set(w.subarray(0, b * dz));
    const res = out ?? new Float64Array(this.numParams);
    res.fill(0, 0, this.numParams);
    this.backward(params, X, b, 1, res, 0);
    return res;
  }

  private outBuffer(rows: number, out?: Float64Array): Float64Array {
    const len = rows * this.numParams;
    if (!out) return new Float64Array(len);
    if (!(out instanceof Float64Array) || out.length < len) {
      throw new RangeError(`${this.name}: out buffer needs ${rows}×${this.numParams} = ${len} values, got ${out?.length}`);
    }
    return out;
  }
}
