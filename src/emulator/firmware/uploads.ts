// Wire tensors (inline or {ref}) → validated float64 arrays for the physics core. Shape and limit
// checks happen here, before anything is loaded, so a bad request changes nothing.
import { ErrorCode, SchemaError, ValueRangeError, tensorAsFloat64, tensorElementCount, tensorToFloat64 } from '../../protocol/index.ts';
import type { Capabilities, RequestBody, TensorOrRef, WireTensor } from '../../protocol/index.ts';
import { PhysicsError } from '../physics/index.ts';
import type { CoreSpec, FactoredCurvature, LayerFactors, LayeredCurvature } from '../physics/index.ts';
import { adoptedBy } from '../physics/kernels/store.ts';
import type { FactorStore } from '../physics/kernels/store.ts';
import type { Staging } from './transfers.ts';

export type CurvatureLoad =
  | { form: 'dense'; n: number; r: 0; a: Float64Array; lambda: number; bytes: number }
  | {
      form: 'factored';
      n: number;
      r: number;
      f: FactoredCurvature;
      bytes: number;
      /** the core's store that adopted the staged J (f.J is then empty: read J with committedJ) */
      heldBy?: FactorStore;
    }
  | { form: 'layered'; n: number; r: number; f: LayeredCurvature; bytes: number };

/**
 * After the core has loaded `load`: when it adopted the staged J's memory (rearranging it in
 * place), the load keeps J through that store instead of through a view that no longer reads as J.
 */
export function settleAdoptedJ(load: CurvatureLoad): void {
  if (load.form !== 'factored') return;
  const store = adoptedBy(load.f.J);
  if (!store) return;
  load.heldBy = store;
  load.f = { ...load.f, J: new Float64Array(0) };
}

/** The load with J as uploaded (row-major), to realise again on a new core. */
export function committedJ(load: CurvatureLoad): CurvatureLoad {
  if (load.form !== 'factored' || !load.heldBy) return load;
  return { form: 'factored', n: load.n, r: load.r, bytes: load.bytes, f: { ...load.f, J: load.heldBy.rowMajor() } };
}

export class TensorResolver {
  /** transfer ids named by the request (released once it succeeds) */
  readonly refs: number[] = [];
  /** transfers already handed out as views by values() */
  private readonly viewed = new Set<number>();

  constructor(
    private readonly staging: Staging,
    private readonly caps: Capabilities,
  ) {}

  wire(t: TensorOrRef): WireTensor {
    if ('ref' in t) {
      this.refs.push(t.ref);
      return this.staging.tensor(t.ref);
    }
    return t;
  }

  /**
   * Decodes to f64 after checking dtype support, rank/shape and finiteness. A staged f64 tensor
   * is viewed, not copied: the staging area hands its buffer over when the request succeeds
   * (inline tensors are copied: their bytes belong to the message, on the message link to the host).
   */
  values(t: TensorOrRef, what: string, shape: (number | null)[]): { v: Float64Array; shape: number[] } {
    // a transfer named twice in one request is viewed once: the core may take that view over
    const staged = 'ref' in t && !this.viewed.has(t.ref);
    if (staged) this.viewed.add(t.ref);
    const w = this.wire(t);
    if (!this.caps.dtypes.includes(w.dtype)) throw new ValueRangeError(ErrorCode.DTYPE_UNSUPPORTED, `${what}: dtype ${w.dtype} not supported (device takes ${this.caps.dtypes.join(', ')})`);
    if (w.shape.length !== shape.length || shape.some((d, i) => d !== null && d !== w.shape[i]))
      throw new ValueRangeError(ErrorCode.SHAPE_MISMATCH, `${what} has shape ${JSON.stringify(w.shape)}, expected ${JSON.stringify(shape.map((d) => d ?? '*'))}`);
    let v: Float64Array;
    try {
      v = staged ? tensorAsFloat64(w) : tensorToFloat64(w);
    } catch (e) {
      throw e instanceof SchemaError || e instanceof ValueRangeError ? e : new SchemaError(ErrorCode.TENSOR_INVALID, `${what}: ${(e as Error).message}`);
    }
    // x·0 is 0 for every finite x and NaN otherwise: one pass without a branch per value, then
    // the index is looked for only when something is wrong
    let probe = 0;
    for (let i = 0; i < v.length; i++) probe += v[i] * 0;
    if (probe !== 0)
      for (let i = 0; i < v.length; i++)
        if (!Number.isFinite(v[i])) throw new ValueRangeError(ErrorCode.NON_FINITE_VALUE, `${what}[${i}] is ${v[i]}`, { index: i });
    return { v, shape: w.shape };
  }

  shapeOf(t: TensorOrRef): number[] {
    return this.wire(t).shape;
  }
}

function checkCells(n: number, caps: Capabilities, what: string): void {
  if (n < 1) throw new ValueRangeError(ErrorCode.SHAPE_MISMATCH, `${what}: N must be ≥ 1`);
  if (n > caps.maxCells) throw new ValueRangeError(ErrorCode.TOO_MANY_CELLS, `${what}: N = ${n} exceeds maxCells ${caps.maxCells}`, { n, maxCells: caps.maxCells });
}

/** Resolves and checks a Curvature request; returns what the core will load. */
export function curvatureLoad(req: RequestBody<'Curvature'>, res: TensorResolver, caps: Capabilities): CurvatureLoad {
  if (req.form === 'dense') {
    const shape = res.shapeOf(req.a);
    if (shape.length !== 2 || shape[0] !== shape[1]) throw new ValueRangeError(ErrorCode.SHAPE_MISMATCH, `A must be square [N, N], got ${JSON.stringify(shape)}`);
    const n = shape[0];
    checkCells(n, caps, 'A');
    const { v } = res.values(req.a, 'A', [n, n]);
    return { form: 'dense', n, r: 0, a: v, lambda: req.lambda, bytes: 8 * n * n };
  }
  if (req.form === 'layered') return layeredLoad(req, res, caps);
  const js = res.shapeOf(req.j);
  if (js.length !== 2) throw new ValueRangeError(ErrorCode.SHAPE_MISMATCH, `J must be [r, N], got ${JSON.stringify(js)}`);
  const [r, n] = js;
  checkCells(n, caps, 'J');
  checkRank(r, caps, 'J');
  const J = res.values(req.j, 'J', [r, n]).v;
  const { core, coreBytes } = coreLoad(req.core, r, res);
  return { form: 'factored', n, r, f: { n, r, J, core, scale: req.scale, lambda: req.lambda }, bytes: 8 * r * n + coreBytes };
}

function checkRank(r: number, caps: Capabilities, what: string): void {
  if (r < 1) throw new ValueRangeError(ErrorCode.SHAPE_MISMATCH, `${what}: r must be ≥ 1`);
  if (r > caps.maxRank) throw new ValueRangeError(ErrorCode.RANK_TOO_LARGE, `${what}: r = ${r} exceeds maxRank ${caps.maxRank}`, { r, maxRank: caps.maxRank });
}

type LayeredBody = Extract<RequestBody<'Curvature'>, { form: 'layered' }>;

/**
 * A layered curvature (PROTOCOL.md §7.4.2): N, r and b as declared, every tensor's shape
 * consistent with them (SHAPE_MISMATCH, detail.reason 'layer-shape', 'rows-per-sample' or
 * 'columns'), then values as for every tensor (dtype, finiteness).
 */
function layeredLoad(req: LayeredBody, res: TensorResolver, caps: Capabilities): CurvatureLoad {
  const { n, r, b } = req;
  checkCells(n, caps, 'layered curvature');
  checkRank(r, caps, 'layered curvature');
  if (r % b !== 0) throw new ValueRangeError(ErrorCode.SHAPE_MISMATCH, `r = ${r} is not a multiple of b = ${b}`, { reason: 'rows-per-sample', r, b });
  const mismatch = (i: number, what: string, got: number[], want: string) =>
    new ValueRangeError(ErrorCode.SHAPE_MISMATCH, `layers[${i}].${what} has shape ${JSON.stringify(got)}, expected ${want}`, { reason: 'layer-shape', layer: i });
  // shapes first (cheap), so a wrong Σ cols is refused before any value is decoded
  let cols = 0;
  req.layers.forEach((l, i) => {
    if (l.kind === 'explicit') {
      const s = res.shapeOf(l.j);
      if (s.length !== 2 || s[0] !== r || s[1] < 1) throw mismatch(i, 'j', s, `[${r}, cols]`);
      cols += s[1];
    } else {
      const a = res.shapeOf(l.a);
      const d = res.shapeOf(l.d);
      if (a.length !== 2 || a[0] !== b || a[1] < 1) throw mismatch(i, 'a', a, `[${b}, nIn]`);
      if (d.length !== 2 || d[0] !== r || d[1] < 1) throw mismatch(i, 'd', d, `[${r}, nOut]`);
      cols += d[1] * a[1] + (l.bias ? d[1] : 0);
    }
  });
  if (cols !== n) throw new ValueRangeError(ErrorCode.SHAPE_MISMATCH, `the layers cover ${cols} columns, n = ${n}`, { reason: 'columns', columns: cols, n });
  let bytes = 0;
  const layers: LayerFactors[] = req.layers.map((l, i) => {
    if (l.kind === 'explicit') {
      const { v, shape } = res.values(l.j, `layers[${i}].j`, [r, null]);
      bytes += 8 * v.length;
      return { kind: 'explicit', cols: shape[1], J: v };
    }
    const a = res.values(l.a, `layers[${i}].a`, [b, null]);
    const d = res.values(l.d, `layers[${i}].d`, [r, null]);
    bytes += 8 * (a.v.length + d.v.length);
    return { kind: 'dense', nIn: a.shape[1], nOut: d.shape[1], bias: l.bias, A: a.v, D: d.v };
  });
  const { core, coreBytes } = coreLoad(req.core, r, res);
  // the core's own copy of the factors plus its r×r Gram (exact integrator) are what it holds
  return { form: 'layered', n, r, f: { n, r, b, layers, core, scale: req.scale, lambda: req.lambda }, bytes: bytes + coreBytes + 8 * r * r };
}

function coreLoad(c: LayeredBody['core'], r: number, res: TensorResolver): { core: CoreSpec; coreBytes: number } {
  let core: CoreSpec;
  let coreBytes = 0;
  switch (c.kind) {
    case 'identity':
      core = { kind: 'identity' };
      break;
    case 'diagonal':
      core = { kind: 'diagonal', d: res.values(c.d, 'core.d', [r]).v };
      coreBytes = 8 * r;
      break;
    case 'block':
      if (r % c.dz !== 0) throw new ValueRangeError(ErrorCode.SHAPE_MISMATCH, `block size dz = ${c.dz} does not divide r = ${r}`);
      core = { kind: 'block', dz: c.dz, blocks: res.values(c.blocks, 'core.blocks', [r / c.dz, c.dz, c.dz]).v };
      coreBytes = 8 * r * c.dz;
      break;
    case 'dense':
      core = { kind: 'dense', h: res.values(c.h, 'core.h', [r, r]).v };
      coreBytes = 8 * r * r;
      break;
  }
  return { core, coreBytes };
}

/** A vector of N cells (gradient or state). */
export function vectorLoad(t: TensorOrRef, what: string, res: TensorResolver, caps: Capabilities): Float64Array {
  const shape = res.shapeOf(t);
  if (shape.length !== 1) throw new ValueRangeError(ErrorCode.SHAPE_MISMATCH, `${what} must be a vector [N], got ${JSON.stringify(shape)}`);
  checkCells(tensorElementCount(shape), caps, what);
  return res.values(t, what, [shape[0]]).v;
}

/**
 * Maps a physics-core failure to the wire error a host sees. An unstable Euler step
 * ('unstable-step') is OUT_OF_RANGE with detail {reason, lambdaMax, maxStableDtTau, dtTau, segment}
 * (PROTOCOL.md §7.6).
 */
export function wireErrorOfPhysics(e: PhysicsError): ValueRangeError | SchemaError {
  const detail = { reason: e.code, ...e.detail };
  switch (e.code) {
    case 'shape':
      return new ValueRangeError(ErrorCode.SHAPE_MISMATCH, e.message, detail);
    case 'non-finite':
      return new ValueRangeError(ErrorCode.NON_FINITE_VALUE, e.message, detail);
    default:
      return new ValueRangeError(ErrorCode.OUT_OF_RANGE, e.message, detail);
  }
}

export { PhysicsError };
