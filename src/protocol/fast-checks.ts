// Hand-written checks of the bodies sent by the hundred: a BulkChunk and its reply per 64 KiB of
// an upload, and the requests and replies of every training step (Gradient, Curvature, Run,
// Results). Each returns the body zod's parse returns (known keys in schema order, optional keys
// only when present, arrays copied) when the body is valid, and null to let the schema decide
// and word the error. zod needs hundreds of calls per schema before its parse is fast (a layered
// Curvature took ~140 µs a call over a 200-step run); these need none. Pinned against the
// schemas by a property test (test/protocol/fast-checks.test.ts).
import type { Message } from './registry.ts';
import { MAX_CURVATURE_LAYERS, RESULT_FLAGS } from './schemas.ts';
import { DTYPES, MAX_TENSOR_RANK, tensorByteLength } from './tensor.ts';
import type { Dtype } from './tensor.ts';

type Body = Record<string, unknown>;
type Check = (b: Body) => unknown;

const isObj = (v: unknown): v is Body => typeof v === 'object' && v !== null && !Array.isArray(v);
const isU32 = (v: unknown): v is number => typeof v === 'number' && Number.isInteger(v) && v >= 0 && v <= 0xffffffff;
const isU32Min1 = (v: unknown): v is number => isU32(v) && v >= 1;
const isPosFinite = (v: unknown): v is number => typeof v === 'number' && v > 0 && Number.isFinite(v);
const isNonNeg = (v: unknown): v is number => typeof v === 'number' && v >= 0 && Number.isFinite(v);
const isDtype = (v: unknown): v is Dtype => (DTYPES as readonly unknown[]).includes(v);

/** An inline tensor (TensorSchema, its byte-length and i16-scale rules included), or null. */
function tensor(t: unknown): Body | null {
  if (!isObj(t)) return null;
  const { dtype, shape, order, data, scale } = t;
  if (!isDtype(dtype) || order !== 'le' || !(data instanceof Uint8Array)) return null;
  if (!Array.isArray(shape) || shape.length < 1 || shape.length > MAX_TENSOR_RANK) return null;
  for (const d of shape) if (!isU32(d)) return null;
  const hasScale = 'scale' in t;
  if (hasScale ? !isPosFinite(scale) : dtype === 'i16') return null;
  if (data.length !== tensorByteLength(dtype, shape as number[])) return null;
  const out: Body = { dtype, shape: shape.slice(), order, data };
  if (hasScale) out.scale = scale;
  return out;
}

/** TensorOrRefSchema (a union: the tensor first); null unless one of them plainly matches. */
function tensorOrRef(t: unknown): Body | null {
  const x = tensor(t);
  if (x) return x;
  if (!isObj(t) || !isU32(t.ref)) return null;
  // anything tensor-like beside the ref: the schema's union decides
  return t.dtype === undefined && t.shape === undefined && t.order === undefined && t.data === undefined ? { ref: t.ref } : null;
}

function core(c: unknown): Body | null {
  if (!isObj(c)) return null;
  switch (c.kind) {
    case 'identity':
      return { kind: 'identity' };
    case 'diagonal': {
      const d = tensorOrRef(c.d);
      return d ? { kind: 'diagonal', d } : null;
    }
    case 'block': {
      const blocks = tensorOrRef(c.blocks);
      return isU32Min1(c.dz) && blocks ? { kind: 'block', dz: c.dz, blocks } : null;
    }
    case 'dense': {
      const h = tensorOrRef(c.h);
      return h ? { kind: 'dense', h } : null;
    }
    default:
      return null;
  }
}

function layer(l: unknown): Body | null {
  if (!isObj(l)) return null;
  if (l.kind === 'explicit') {
    const j = tensorOrRef(l.j);
    return j ? { kind: 'explicit', j } : null;
  }
  if (l.kind === 'dense') {
    const a = tensorOrRef(l.a);
    const d = tensorOrRef(l.d);
    return typeof l.bias === 'boolean' && a && d ? { kind: 'dense', bias: l.bias, a, d } : null;
  }
  return null;
}

function curvature(b: Body): Body | null {
  switch (b.form) {
    case 'dense': {
      const a = tensorOrRef(b.a);
      return a && isNonNeg(b.lambda) ? { form: 'dense', a, lambda: b.lambda } : null;
    }
    case 'factored': {
      const j = tensorOrRef(b.j);
      const c = j && core(b.core);
      return c && isPosFinite(b.scale) && isNonNeg(b.lambda) ? { form: 'factored', j, core: c, scale: b.scale, lambda: b.lambda } : null;
    }
    case 'layered': {
      if (!isU32Min1(b.n) || !isU32Min1(b.r) || !isU32Min1(b.b) || !isPosFinite(b.scale) || !isNonNeg(b.lambda)) return null;
      if (!Array.isArray(b.layers) || b.layers.length < 1 || b.layers.length > MAX_CURVATURE_LAYERS) return null;
      const layers: Body[] = [];
      for (const l of b.layers) {
        const x = layer(l);
        if (!x) return null;
        layers.push(x);
      }
      const c = core(b.core);
      return c ? { form: 'layered', n: b.n, r: b.r, b: b.b, layers, core: c, scale: b.scale, lambda: b.lambda } : null;
    }
    default:
      return null;
  }
}

function resultFlags(f: unknown): string[] | null {
  if (!Array.isArray(f)) return null;
  for (const x of f) if (!(RESULT_FLAGS as readonly unknown[]).includes(x)) return null;
  return f.slice() as string[];
}

const START = ['carry', 'reset', 'gradient'];
const VECTORS = ['none', 'mean', 'final', 'both'];

function runRequest(b: Body): Body | null {
  if (!isPosFinite(b.durationTau) || !START.includes(b.start as string)) return null;
  const out: Body = { durationTau: b.durationTau, start: b.start };
  if ('delayTau' in b) {
    if (b.delayTau !== undefined && !isNonNeg(b.delayTau)) return null;
    out.delayTau = b.delayTau;
  }
  if ('streamSamples' in b) {
    if (b.streamSamples !== undefined && typeof b.streamSamples !== 'boolean') return null;
    out.streamSamples = b.streamSamples;
  }
  return out;
}

function runReply(b: Body): Body | null {
  const flags = resultFlags(b.flags);
  if (!isU32(b.runId) || !isNonNeg(b.analogTimeTau) || !isU32(b.sampleCount) || !flags) return null;
  const out: Body = { runId: b.runId, analogTimeTau: b.analogTimeTau, sampleCount: b.sampleCount, flags };
  if ('runIndex' in b) {
    if (b.runIndex !== undefined && !isU32(b.runIndex)) return null;
    out.runIndex = b.runIndex;
  }
  return out;
}

function resultsReply(b: Body): Body | null {
  const flags = resultFlags(b.flags);
  if (!isU32(b.runId) || !isU32(b.n) || !isU32(b.sampleCount) || !isNonNeg(b.analogTimeTau) || !isU32(b.saturationCount) || !isU32(b.clipCount) || !flags)
    return null;
  const out: Body = { runId: b.runId, n: b.n, sampleCount: b.sampleCount, analogTimeTau: b.analogTimeTau, saturationCount: b.saturationCount, clipCount: b.clipCount, flags };
  for (const k of ['mean', 'final'] as const) {
    if (!(k in b)) continue;
    if (b[k] === undefined) {
      out[k] = undefined;
      continue;
    }
    const t = tensor(b[k]);
    if (!t) return null;
    out[k] = t;
  }
  return out;
}

const vector = (name: 'g' | 'x'): Check => (b) => {
  const t = tensorOrRef(b[name]);
  return t ? { [name]: t } : null;
};
const cells: Check = (b) => (isU32(b.n) ? { n: b.n } : null);

export const FAST_BODY_CHECKS: Partial<Record<Message['kind'], Check>> = {
  BulkChunkRequest: (b) =>
    isU32(b.transferId) && isU32(b.seq) && isU32(b.offset) && b.data instanceof Uint8Array ? { transferId: b.transferId, seq: b.seq, offset: b.offset, data: b.data } : null,
  BulkChunkReply: (b) => (isU32(b.transferId) && isU32(b.seq) && isU32(b.received) ? { transferId: b.transferId, seq: b.seq, received: b.received } : null),
  BulkCommitRequest: (b) => (isU32(b.transferId) ? { transferId: b.transferId } : null),
  BulkCommitReply: (b) => (isU32(b.transferId) && isU32(b.bytes) && isU32(b.crc32c) ? { transferId: b.transferId, bytes: b.bytes, crc32c: b.crc32c } : null),
  BulkAbortRequest: (b) => (isU32(b.transferId) ? { transferId: b.transferId } : null),
  BulkAbortReply: (b) => (isU32(b.transferId) && typeof b.discarded === 'boolean' ? { transferId: b.transferId, discarded: b.discarded } : null),
  CurvatureRequest: curvature,
  CurvatureReply: (b) => (isU32(b.n) && isU32(b.r) && isU32(b.curvatureId) ? { n: b.n, r: b.r, curvatureId: b.curvatureId } : null),
  GradientRequest: vector('g'),
  GradientReply: cells,
  StateSetRequest: vector('x'),
  StateSetReply: cells,
  RunRequest: runRequest,
  RunReply: runReply,
  ResultsRequest: (b) => (VECTORS.includes(b.vectors as string) && (b.dtype === 'f64' || b.dtype === 'f32') ? { vectors: b.vectors, dtype: b.dtype } : null),
  ResultsReply: resultsReply,
};
