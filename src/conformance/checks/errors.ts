// PROTOCOL.md §9.3: the SCPI-style error queue; §9.2: bad arguments answered with range errors.
import { ErrorCode, OPERATIONS, tensorFromFloat64 } from '../../protocol/index.ts';
import type { OpName, ReplyBody, RequestBody } from '../../protocol/index.ts';
import { bulkUpload } from '../../driver/bulk-upload.ts';
import { DeviceError } from '../../driver/errors.ts';
import type { CheckContext } from '../context.ts';
import { f64, rawF64 } from '../context.ts';
import type { CheckDef } from '../types.ts';
import { CheckFailure } from '../types.ts';

/** Sends a request that fails; returns the id it travelled with. */
async function failing<K extends OpName>(ctx: CheckContext, op: K, body: RequestBody<K>): Promise<number> {
  let id = 0;
  try {
    await ctx.dev.request(op, body, { retries: 0, onAttempt: (i) => (id = i) });
  } catch (e) {
    if (e instanceof DeviceError) return id;
    throw e;
  }
  throw new CheckFailure(`${op} was expected to fail but succeeded`);
}

const badKappa = (ctx: CheckContext): RequestBody<'Configure'> => ctx.configureBody({ kappa0: ctx.caps.kappa0Max * 2 + 1 });

/** The cheapest dtype the device takes (for deliberately oversized uploads). */
function smallDtype(ctx: CheckContext): 'i16' | 'f32' | 'f64' {
  for (const d of ['i16', 'f32', 'f64'] as const) if (ctx.caps.dtypes.includes(d)) return d;
  return 'f64';
}

async function staged(ctx: CheckContext, values: Float64Array, shape: number[]): Promise<{ ref: number }> {
  const t = tensorFromFloat64(values, shape, smallDtype(ctx));
  const r = await bulkUpload(ctx.dev.channel, t, { deviceMaxFrameBytes: ctx.caps.maxFrameBytes, log: ctx.log });
  return { ref: r.transferId };
}

export const errorQueueChecks: CheckDef[] = [
  {
    id: 'errors.queue',
    title: 'Failed requests are queued FIFO with code, requestId and type; Status shows length and last error',
    async run(ctx) {
      await ctx.fresh();
      const id1 = await failing(ctx, 'Gradient', { g: f64([1], [1]) });
      const id2 = await failing(ctx, 'Configure', badKappa(ctx));
      const s = await ctx.status();
      ctx.expect(s.errorQueueLength === 2, `errorQueueLength ${s.errorQueueLength}, expected 2`);
      ctx.expect(s.lastError?.code === ErrorCode.KAPPA_OUT_OF_RANGE, `lastError ${JSON.stringify(s.lastError)}, expected KAPPA_OUT_OF_RANGE`);
      const a = await ctx.request('ErrorsRead', { max: 1 });
      const b = await ctx.request('ErrorsRead', { max: 5 });
      const e1 = a.entries[0];
      const e2 = b.entries[0];
      ctx.expect(a.entries.length === 1 && a.remaining === 1, `first ErrorsRead gave ${a.entries.length} entries, remaining ${a.remaining}`);
      ctx.expect(e1?.code === ErrorCode.NOT_CONFIGURED && e1.requestId === id1 && e1.type === OPERATIONS.Gradient.type, `first entry ${JSON.stringify(e1)}, expected NOT_CONFIGURED for Gradient id ${id1}`);
      ctx.expect(e2?.code === ErrorCode.KAPPA_OUT_OF_RANGE && e2.requestId === id2 && e2.type === OPERATIONS.Configure.type, `second entry ${JSON.stringify(e2)}`);
      ctx.expect(b.entries.length === 1 && b.remaining === 0, `second ErrorsRead gave ${b.entries.length} entries, remaining ${b.remaining}`);
      return { entries: [e1, e2] };
    },
  },
  {
    id: 'errors.overflow',
    title: 'Error queue overflow: depth − 1 entries then QUEUE_OVERFLOW; later errors dropped until read',
    async run(ctx) {
      await ctx.fresh();
      const depth = ctx.caps.errorQueueDepth;
      for (let i = 0; i < depth + 3; i++) await failing(ctx, 'Configure', badKappa(ctx));
      const s = await ctx.status();
      const all = await ctx.readAllErrors();
      ctx.expect(s.errorQueueLength === depth, `errorQueueLength ${s.errorQueueLength} after ${depth + 3} errors, expected depth ${depth}`);
      ctx.expect(all.length === depth, `read ${all.length} entries, expected ${depth}`);
      ctx.expect(all.slice(0, -1).every((e) => e.code === ErrorCode.KAPPA_OUT_OF_RANGE), 'the first depth − 1 entries should be the first errors');
      ctx.expect(all[all.length - 1]?.code === ErrorCode.QUEUE_OVERFLOW, `last entry ${JSON.stringify(all[all.length - 1])}, expected QUEUE_OVERFLOW`);
      await failing(ctx, 'Configure', badKappa(ctx));
      const again = await ctx.readAllErrors();
      ctx.expect(again.length === 1 && again[0].code === ErrorCode.KAPPA_OUT_OF_RANGE, `after reading, a new error should queue normally; got ${JSON.stringify(again)}`);
      return { depth };
    },
  },
  {
    id: 'errors.clear',
    title: 'ErrorsClear empties the queue and reports how many entries it held',
    async run(ctx) {
      await ctx.fresh();
      for (let i = 0; i < 3; i++) await failing(ctx, 'Configure', badKappa(ctx));
      const r = await ctx.request('ErrorsClear', {});
      const s = await ctx.status();
      ctx.expect(r.cleared === 3, `cleared ${r.cleared}, expected 3`);
      ctx.expect(s.errorQueueLength === 0, `errorQueueLength ${s.errorQueueLength} after clear`);
    },
  },
];

export const argumentChecks: CheckDef[] = [
  {
    id: 'args.kappa',
    title: 'κ₀ outside [kappa0Min, kappa0Max] → KAPPA_OUT_OF_RANGE',
    async run(ctx) {
      await ctx.fresh();
      await ctx.expectError(ctx.request('Configure', badKappa(ctx)), ErrorCode.KAPPA_OUT_OF_RANGE, 'κ₀ above kappa0Max');
      if (ctx.caps.kappa0Min > 0)
        await ctx.expectError(ctx.request('Configure', ctx.configureBody({ kappa0: ctx.caps.kappa0Min / 2 })), ErrorCode.KAPPA_OUT_OF_RANGE, 'κ₀ below kappa0Min');
      ctx.expect((await ctx.status()).state === 'IDLE', 'a refused Configure must not configure the device');
    },
  },
  {
    id: 'limits.cells',
    title: 'N = maxCells + 1 → TOO_MANY_CELLS, previous curvature kept',
    skip: (ctx) => (!ctx.has('factored-curvature') && (ctx.caps.maxCells + 1) ** 2 * 2 > 64 * 2 ** 20 ? 'dense-only device with more cells than a test upload can cover' : null),
    async run(ctx) {
      await ctx.fresh();
      await ctx.loadSmall(2);
      const n = ctx.caps.maxCells + 1;
      const body: RequestBody<'Curvature'> = ctx.has('factored-curvature')
        ? { form: 'factored', j: await staged(ctx, new Float64Array(n).fill(0.5), [1, n]), core: { kind: 'identity' }, scale: 1, lambda: 1 }
        : { form: 'dense', a: await staged(ctx, new Float64Array(n * n), [n, n]), lambda: 1 };
      await ctx.expectError(ctx.request('Curvature', body), ErrorCode.TOO_MANY_CELLS, `N = ${n}`);
      const s = await ctx.status();
      ctx.expect(s.n === 2 && s.hasCurvature, `after the refused upload Status says n = ${s.n}, hasCurvature ${s.hasCurvature}`);
      return { n };
    },
  },
  {
    id: 'limits.rank',
    title: 'r = maxRank + 1 → RANK_TOO_LARGE',
    skip: (ctx) => (ctx.has('factored-curvature') ? null : 'device has no factored curvature'),
    async run(ctx) {
      await ctx.fresh();
      await ctx.configure();
      const r = ctx.caps.maxRank + 1;
      const j = await staged(ctx, new Float64Array(r).fill(0.25), [r, 1]);
      await ctx.expectError(ctx.request('Curvature', { form: 'factored', j, core: { kind: 'identity' }, scale: 1, lambda: 1 }), ErrorCode.RANK_TOO_LARGE, `r = ${r}`);
      return { r };
    },
  },
  {
    id: 'args.shape',
    title: 'Inconsistent shapes → SHAPE_MISMATCH (g, x vs N; d vs r; dense A not square)',
    async run(ctx) {
      await ctx.fresh();
      await ctx.loadSmall(2);
      await ctx.expectError(ctx.request('Gradient', { g: f64([1, 2, 3], [3]) }), ErrorCode.SHAPE_MISMATCH, 'g of length 3 for N = 2');
      await ctx.expectError(ctx.request('StateSet', { x: f64([1, 2, 3], [3]) }), ErrorCode.SHAPE_MISMATCH, 'x of length 3 for N = 2');
      if (ctx.has('factored-curvature')) {
        const j = f64([1, 0, 0, 1], [2, 2]);
        await ctx.expectError(ctx.request('Curvature', { form: 'factored', j, core: { kind: 'diagonal', d: f64([1, 1, 1], [3]) }, scale: 1, lambda: 1 }), ErrorCode.SHAPE_MISMATCH, 'd of length 3 for r = 2');
        await ctx.expectError(ctx.request('Curvature', { form: 'factored', j, core: { kind: 'dense', h: f64([1, 0, 0], [1, 3]) }, scale: 1, lambda: 1 }), ErrorCode.SHAPE_MISMATCH, 'h of shape [1, 3] for r = 2');
      }
      if (ctx.has('dense-curvature'))
        await ctx.expectError(ctx.request('Curvature', { form: 'dense', a: f64([1, 0, 0, 1, 0, 0], [2, 3]), lambda: 0 }), ErrorCode.SHAPE_MISMATCH, 'dense A of shape [2, 3]');
    },
  },
  {
    id: 'args.non-finite',
    title: 'NaN or ±∞ in a tensor → NON_FINITE_VALUE, nothing replaced',
    async run(ctx) {
      await ctx.fresh();
      await ctx.loadSmall(2);
      await ctx.expectError(ctx.request('Gradient', { g: rawF64([NaN, 1], [2]) }), ErrorCode.NON_FINITE_VALUE, 'g with NaN');
      await ctx.expectError(ctx.request('StateSet', { x: rawF64([Infinity, 1], [2]) }), ErrorCode.NON_FINITE_VALUE, 'x with +∞');
      const bad = ctx.curvatureBody([2, 0, 0, 2], 2);
      if (bad.form === 'dense') bad.a = rawF64([2, 0, 0, -Infinity], [2, 2]);
      else bad.j = rawF64([1, 0, 0, NaN], [2, 2]);
      await ctx.expectError(ctx.request('Curvature', bad), ErrorCode.NON_FINITE_VALUE, 'A with a non-finite entry');
    },
  },
  {
    id: 'args.dtype',
    title: 'A dtype the device does not declare → DTYPE_UNSUPPORTED',
    skip: (ctx) => (ctx.caps.dtypes.length === 3 ? 'the device accepts every dtype (f64, f32, i16)' : null),
    async run(ctx) {
      await ctx.fresh();
      await ctx.loadSmall(2);
      for (const d of (['f64', 'f32', 'i16'] as const).filter((x) => !ctx.caps.dtypes.includes(x)))
        await ctx.expectError(ctx.request('Gradient', { g: tensorFromFloat64([1, 1], [2], d) }), ErrorCode.DTYPE_UNSUPPORTED, `g as ${d}`);
    },
  },
  {
    id: 'args.profile',
    title: 'Emulator: an unknown profile name → OUT_OF_RANGE',
    skip: (ctx) => (ctx.isEmulator ? null : "only devices declaring the 'emulator' feature take profiles"),
    async run(ctx) {
      await ctx.fresh();
      await ctx.expectError(ctx.request('Configure', ctx.configureBody({ profile: 'no-such-profile' })), ErrorCode.OUT_OF_RANGE, 'profile no-such-profile');
    },
  },
  {
    id: 'args.results-range',
    title: 'ResultsRead beyond n → OUT_OF_RANGE',
    async run(ctx) {
      await ctx.fresh();
      await ctx.loadSmall(2);
      await ctx.request('Run', { durationTau: 1, start: 'reset' });
      const r: ReplyBody<'ResultsRead'> = await ctx.request('ResultsRead', { field: 'mean', dtype: 'f64', offset: 1, count: 1 });
      ctx.expect(r.n === 2 && r.offset === 1, `ResultsRead reply ${JSON.stringify({ n: r.n, offset: r.offset })}`);
      await ctx.expectError(ctx.request('ResultsRead', { field: 'mean', dtype: 'f64', offset: 2, count: 1 }), ErrorCode.OUT_OF_RANGE, 'offset 2 of n = 2');
      await ctx.expectError(ctx.request('ResultsRead', { field: 'final', dtype: 'f64', offset: 1, count: 5 }), ErrorCode.OUT_OF_RANGE, 'offset 1 + count 5 of n = 2');
    },
  },
];
