// Host arrays → validated, converted Curvature / Gradient / StateSet requests, and the transfer
// strategy: inline tensors when the whole request fits one device frame, bulk transfers (by
// {ref}) for the largest tensors otherwise. Shapes, finiteness and device limits are checked on
// the host first, so a bad call fails with a clear error and sends nothing.
import type { Logger } from 'pino';
import { CRC_BYTES, ErrorCode, HEADER_BYTES, encodeMessage, maxInnerBytes, packedSizeBound } from '../protocol/index.ts';
import type { Capabilities, Dtype, RequestBody, RequestMessage, TensorOrRef, WireTensor } from '../protocol/index.ts';
import { bulkUpload } from './bulk-upload.ts';
import type { Channel } from './channel.ts';
import { checkVector, pow2Normalise, toWire } from './convert.ts';
import type { NumericArray } from './convert.ts';
import { ArgumentError, CapabilityError, DeviceError } from './errors.ts';
import { checkLayered, expandLayeredJ } from './layered.ts';
import type { CoreInput, CurvatureInput, UploadReport } from './types.ts';

type TensorOp = 'Curvature' | 'Gradient' | 'StateSet';
type CoreBody = Extract<RequestBody<'Curvature'>, { form: 'factored' }>['core'];

export interface TensorSlot {
  name: string;
  tensor: WireTensor;
  saturated: number;
}

/**
 * The upload with every tensor in memory of its own: what the driver keeps to restore a device,
 * safe from a caller that reuses its arrays (f64 tensors are views of the caller's arrays).
 */
export function retainedCopy<K extends TensorOp>(up: PreparedUpload<K>): PreparedUpload<K> {
  return { ...up, slots: up.slots.map((s) => ({ ...s, tensor: { ...s.tensor, data: s.tensor.data.slice() } })) };
}

export interface PreparedUpload<K extends TensorOp> {
  op: K;
  n: number;
  r?: number;
  dtype: Dtype;
  slots: TensorSlot[];
  build(parts: TensorOrRef[]): RequestBody<K>;
}

export function checkCount(name: string, v: number, min = 1): void {
  if (!Number.isInteger(v) || v < min) throw new ArgumentError(`${name} must be an integer ≥ ${min}, got ${String(v)}`);
}

export function checkCells(caps: Capabilities, n: number): void {
  checkCount('n', n);
  if (n > caps.maxCells) throw new CapabilityError('maxCells', caps.maxCells, n, `N = ${n} exceeds the device's ${caps.maxCells} cells`);
}

export function checkFeature(caps: Capabilities, feature: Capabilities['features'][number], what: string): void {
  if (!caps.features.includes(feature)) throw new CapabilityError('features', caps.features, feature, `${what} needs the device feature '${feature}', which it does not declare`);
}

export function nonNegative(name: string, v: number): number {
  if (typeof v !== 'number' || !Number.isFinite(v) || v < 0) throw new ArgumentError(`${name} must be a finite number ≥ 0, got ${String(v)}`);
  return v;
}

export function prepareCurvature(input: CurvatureInput, caps: Capabilities, dtype: Dtype): PreparedUpload<'Curvature'> {
  if (!input || typeof input !== 'object') throw new ArgumentError('curvature must be an object');
  const fs = caps.fullScale;
  const lambda = nonNegative('lambda', input.lambda ?? 0);
  if (input.form === 'dense') {
    checkFeature(caps, 'dense-curvature', 'a dense curvature');
    const n = input.n;
    checkCells(caps, n);
    checkVector('A', input.A, n * n);
    const a = toWire(input.A, [n, n], dtype, fs);
    return {
      op: 'Curvature',
      n,
      dtype,
      slots: [{ name: 'A', ...a }],
      build: ([A]) => ({ form: 'dense', a: A, lambda }),
    };
  }
  if (input.form === 'layered') {
    // Devices without the layered form get the explicit J it stands for (the same A, exactly).
    checkLayered(input);
    const { layers: _layers, b: _b, form: _form, ...rest } = input;
    return prepareCurvature({ ...rest, form: 'factored', J: expandLayeredJ(input) }, caps, dtype);
  }
  if (input.form !== 'factored') throw new ArgumentError(`curvature.form must be 'dense', 'factored' or 'layered', got ${String((input as { form: unknown }).form)}`);
  checkFeature(caps, 'factored-curvature', 'a factored curvature');
  const { n, r } = input;
  checkCells(caps, n);
  checkCount('r', r);
  if (r > caps.maxRank) throw new CapabilityError('maxRank', caps.maxRank, r, `rank r = ${r} exceeds the device's maximum rank ${caps.maxRank}`);
  let scale = input.scale ?? 1;
  if (typeof scale !== 'number' || !Number.isFinite(scale) || scale <= 0) throw new ArgumentError(`scale must be a finite number > 0, got ${String(scale)}`);
  checkVector('J', input.J, r * n);
  // i16 codes saturate beyond full scale: move powers of two from J and H into `scale` (exact).
  let J: NumericArray = input.J;
  if (dtype === 'i16') {
    const nj = pow2Normalise(J, fs);
    J = nj.values;
    scale *= 4 ** nj.shift;
  }
  const cs = coreSlotOf(input.core, r, dtype, fs);
  scale *= 2 ** cs.shift;
  const { slot: coreSlot, build: buildCore } = cs;
  const slots: TensorSlot[] = [{ name: 'J', ...toWire(J, [r, n], dtype, fs) }];
  if (coreSlot) slots.push({ name: coreSlot.name, ...toWire(coreSlot.values, coreSlot.shape, dtype, fs) });
  const finalScale = scale;
  return {
    op: 'Curvature',
    n,
    r,
    dtype,
    slots,
    build: ([j, c]) => ({ form: 'factored', j, core: buildCore(c), scale: finalScale, lambda }),
  };
}

/**
 * The core H of a factored or layered curvature as a slot (none for identity) and its wire body;
 * for i16 the values are scaled by 2^−shift (the caller multiplies `scale` by 2^shift).
 */
export function coreSlotOf(core: CoreInput, r: number, dtype: Dtype, fs: number): {
  slot: { shape: number[]; values: NumericArray; name: string } | null;
  build: (t: TensorOrRef | undefined) => CoreBody;
  shift: number;
} {
  let coreSlot: { shape: number[]; values: NumericArray; name: string } | null = null;
  let buildCore: (t: TensorOrRef | undefined) => CoreBody;
  switch (core?.kind) {
    case 'identity':
      buildCore = () => ({ kind: 'identity' });
      break;
    case 'diagonal':
      checkVector('core.d', core.d, r);
      coreSlot = { name: 'd', shape: [r], values: core.d };
      buildCore = (t) => ({ kind: 'diagonal', d: t as TensorOrRef });
      break;
    case 'block': {
      checkCount('core.dz', core.dz);
      if (r % core.dz !== 0) throw new ArgumentError(`core.dz = ${core.dz} must divide r = ${r}`);
      checkVector('core.blocks', core.blocks, r * core.dz);
      coreSlot = { name: 'blocks', shape: [r / core.dz, core.dz, core.dz], values: core.blocks };
      const dz = core.dz;
      buildCore = (t) => ({ kind: 'block', dz, blocks: t as TensorOrRef });
      break;
    }
    case 'dense':
      checkVector('core.h', core.h, r * r);
      coreSlot = { name: 'h', shape: [r, r], values: core.h };
      buildCore = (t) => ({ kind: 'dense', h: t as TensorOrRef });
      break;
    default:
      throw new ArgumentError(`core.kind must be identity, diagonal, block or dense, got ${String((core as CoreInput | undefined)?.kind)}`);
  }
  let shift = 0;
  if (coreSlot && dtype === 'i16') {
    const nc = pow2Normalise(coreSlot.values, fs);
    coreSlot.values = nc.values;
    shift = nc.shift;
  }
  return { slot: coreSlot, build: buildCore, shift };
}

export function prepareVector<K extends 'Gradient' | 'StateSet'>(op: K, v: NumericArray, n: number, caps: Capabilities, dtype: Dtype): PreparedUpload<K> {
  const name = op === 'Gradient' ? 'g' : 'x';
  checkCells(caps, n);
  checkVector(name, v, n);
  const w = toWire(v, [n], dtype, caps.fullScale);
  return {
    op,
    n,
    dtype,
    slots: [{ name, ...w }],
    build: ([t]) => (op === 'Gradient' ? { g: t } : { x: t }) as RequestBody<K>,
  };
}

/**
 * Whether the request fits one frame of `limit` inner bytes. Settled from bounds when they
 * decide (a multi-megabyte J is never encoded just to learn that it does not fit).
 */
function fitsFrame(op: TensorOp, body: unknown, dataBytes: number, limit: number): boolean {
  if (HEADER_BYTES + dataBytes + CRC_BYTES > limit) return false;
  if (HEADER_BYTES + packedSizeBound(body) + CRC_BYTES <= limit) return true;
  return HEADER_BYTES + encodeMessage({ kind: `${op}Request`, body } as RequestMessage).payload.length + CRC_BYTES <= limit;
}

/** Tensor bytes a request carries inline. */
function inlineBytes(parts: TensorOrRef[]): number {
  let n = 0;
  for (const p of parts) if (!('ref' in p)) n += p.data.length;
  return n;
}

export interface SendOptions {
  deviceMaxFrameBytes: number;
  maxInFlightBytes?: number;
  inline?: boolean;
  timeoutMs?: number;
  /** refuse (CapabilityError 'maxOpenTransfers', nothing sent) a plan needing more bulk transfers */
  maxBulk?: number;
  log: Logger;
}

/** Errors that mean "the staged transfer is gone": redoing the whole upload is safe and correct. */
const REDO_CODES: ReadonlySet<number> = new Set([ErrorCode.NO_SUCH_TRANSFER, ErrorCode.TRANSFER_INCOMPLETE, ErrorCode.TENSOR_CRC_MISMATCH]);

/**
 * Sends a prepared upload. Slots go inline while the request fits one frame; otherwise the
 * largest go by bulk transfer. If a referenced transfer turns out to be gone (a retried request
 * whose first attempt already consumed it, a device reboot), the whole upload is redone once.
 */
export async function sendUpload<K extends TensorOp>(ch: Channel, up: PreparedUpload<K>, opts: SendOptions): Promise<{ reply: unknown; report: UploadReport }> {
  const limit = maxInnerBytes(opts.deviceMaxFrameBytes);
  for (let attempt = 1; ; attempt++) {
    const parts: TensorOrRef[] = up.slots.map((s) => s.tensor);
    const bulk = new Set<number>();
    if (opts.inline === false) up.slots.forEach((_, i) => bulk.add(i));
    else if (opts.inline !== true) {
      const order = up.slots.map((s, i) => [s.tensor.data.length, i] as const).sort((a, b) => b[0] - a[0]);
      for (const [, i] of order) {
        if (fitsFrame(up.op, up.build(parts), inlineBytes(parts), limit)) break;
        bulk.add(i);
        parts[i] = { ref: 0 };
      }
    }
    if (opts.inline === true && !fitsFrame(up.op, up.build(parts), inlineBytes(parts), limit))
      throw new ArgumentError(`${up.op}: the tensors do not fit one ${opts.deviceMaxFrameBytes}-byte frame inline; allow bulk transfer`);
    if (opts.maxBulk !== undefined && bulk.size > opts.maxBulk)
      throw new CapabilityError('maxOpenTransfers', opts.maxBulk, bulk.size, `${up.op}: ${bulk.size} tensors need bulk transfers, the device holds ${opts.maxBulk} at once`);
    const refs: number[] = [];
    try {
      for (const i of bulk) {
        const r = await bulkUpload(ch, up.slots[i].tensor, {
          deviceMaxFrameBytes: opts.deviceMaxFrameBytes,
          ...(opts.maxInFlightBytes ? { maxInFlightBytes: opts.maxInFlightBytes } : {}),
          log: opts.log,
          ...(opts.timeoutMs ? { timeoutMs: opts.timeoutMs } : {}),
        });
        refs.push(r.transferId);
        parts[i] = { ref: r.transferId };
      }
      const reply = await ch.request(up.op, up.build(parts) as never, opts.timeoutMs ? { timeoutMs: opts.timeoutMs } : {});
      let bytes = 0;
      let saturated = 0;
      for (const s of up.slots) {
        bytes += s.tensor.data.length;
        saturated += s.saturated;
      }
      if (saturated > 0) opts.log.warn({ op: up.op, saturated }, 'values beyond the device full scale were clamped');
      const report: UploadReport = { n: up.n, dtype: up.dtype, bytes, bulkTransfers: bulk.size, saturated };
      if (up.r !== undefined) report.r = up.r;
      return { reply, report };
    } catch (e) {
      // Committed transfers are released by a successful request only: free them.
      for (const id of refs) void ch.request('BulkAbort', { transferId: id }, { retries: 0 }).catch(() => {});
      if (attempt === 1 && bulk.size > 0 && e instanceof DeviceError && REDO_CODES.has(e.code)) {
        opts.log.info({ op: up.op, code: e.codeName }, 'staged transfer lost; redoing the upload');
        continue;
      }
      throw e;
    }
  }
}
