// PROTOCOL.md §7.4, §7.5, §8: an upload that is aborted, fails its commit CRC or fails
// validation leaves the committed tensor in force — shown by the results of the next run.
// With κ₀ = 0 an emulator's runs are deterministic, so "in force" means bit-identical results;
// a device with analog noise must land near the old solution and far from the new one.
import { ErrorCode, OPERATIONS, maxChunkBytes, packPlain } from '../../protocol/index.ts';
import type { RunResult } from '../../driver/types.ts';
import type { CheckContext } from '../context.ts';
import { f64, rawF64 } from '../context.ts';
import type { CheckDef } from '../types.ts';
import { chunk, open, sendAll } from './bulk.ts';

async function runOnce(ctx: CheckContext): Promise<RunResult> {
  await ctx.request('Run', { durationTau: 20, start: 'reset' });
  return ctx.dev.results();
}

const same = (a?: Float64Array, b?: Float64Array): boolean => !!a && !!b && a.length === b.length && a.every((v, i) => Object.is(v, b[i]));
const maxDiff = (a: ArrayLike<number>, b: ArrayLike<number>): number => {
  let m = 0;
  for (let i = 0; i < a.length; i++) m = Math.max(m, Math.abs(a[i] - b[i]));
  return m;
};

/** Deterministic when the device allows κ₀ = 0 and is an emulator (no physical noise). */
function deterministic(ctx: CheckContext): boolean {
  return ctx.isEmulator && ctx.caps.kappa0Min === 0;
}

function compare(ctx: CheckContext, r1: RunResult, r2: RunResult, xOld: Float64Array, xNew: Float64Array): Record<string, unknown> {
  if (deterministic(ctx)) {
    ctx.expect(same(r1.mean, r2.mean) && same(r1.final, r2.final), 'results after the failed uploads differ from before: the previous tensor was not kept', {
      maxMeanDiff: maxDiff(r1.mean!, r2.mean!),
    });
    return { bitIdentical: true };
  }
  const toOld = maxDiff(r2.mean!, xOld);
  const gap = maxDiff(xNew, xOld);
  ctx.expect(toOld < 0.25 * gap, `mean after the failed uploads is ${toOld} from the old solution; the new one is ${gap} away`, { toOld, gap });
  return { distanceToOld: toOld, gapOldNew: gap };
}

export const atomicChecks: CheckDef[] = [
  {
    id: 'atomic.curvature',
    title: 'Curvature upload aborted mid-transfer, bad CRC at commit, invalid request → previous A still in force',
    async run(ctx) {
      await ctx.fresh();
      await ctx.configure({ kappa0: ctx.kappa(0), burnInTau: 5 });
      // N so that A spans ≥ 2.6 chunks of the largest chunk the device can take.
      const n = Math.ceil(Math.sqrt((2.6 * maxChunkBytes(ctx.caps.maxFrameBytes)) / 8));
      const A1 = new Float64Array(n * n);
      const A2 = new Float64Array(n * n);
      for (let i = 0; i < n; i++) {
        A1[i * n + i] = 2 + i / n;
        A2[i * n + i] = 1;
      }
      const g = new Float64Array(n).fill(1);
      await ctx.dev.uploadCurvature(ctx.system(A1, n));
      await ctx.request('Gradient', { g: f64(g, [n]) });
      const r1 = await runOnce(ctx);
      const before = await ctx.status();
      // The tensor that would put A2 in place: dense A, or (factored) J with A2 = JᵀJ + ½I.
      const dense = ctx.has('dense-curvature');
      const tensor2 = dense ? A2 : A2.map((v, k) => (k % (n + 1) === 0 ? Math.sqrt(v - 0.5) : 0));
      const refBody = (ref: number) =>
        dense
          ? { form: 'dense' as const, a: { ref }, lambda: 0 }
          : { form: 'factored' as const, j: { ref }, core: { kind: 'identity' as const }, scale: 1, lambda: 0.5 };
      // (a) aborted after one chunk
      const a = await open(ctx, tensor2, [n, n]);
      ctx.expect(a.chunks >= 2, `A spans ${a.chunks} chunk(s); the check needs ≥ 2`);
      await chunk(ctx, a, 0);
      await ctx.request('BulkAbort', { transferId: a.transferId });
      await ctx.expectError(ctx.request('Curvature', refBody(a.transferId)), ErrorCode.NO_SUCH_TRANSFER, 'Curvature naming an aborted transfer');
      // (b) every chunk sent, wrong whole-tensor CRC
      const b = await open(ctx, tensor2, [n, n], { crc: 0x12345678 });
      await sendAll(ctx, b);
      await ctx.expectError(ctx.request('BulkCommit', { transferId: b.transferId }), ErrorCode.TENSOR_CRC_MISMATCH, 'commit with a wrong CRC');
      await ctx.expectError(ctx.request('Curvature', refBody(b.transferId)), ErrorCode.NO_SUCH_TRANSFER, 'Curvature naming a discarded transfer');
      // (c) committed, but the request naming it is invalid (λ < 0): refs stay committed
      const c = await open(ctx, tensor2, [n, n]);
      await sendAll(ctx, c);
      await ctx.request('BulkCommit', { transferId: c.transferId });
      await ctx.rawExpectError(OPERATIONS.Curvature.type, packPlain({ ...refBody(c.transferId), lambda: -1 }), ErrorCode.SCHEMA_INVALID, 'Curvature with λ = −1');
      const kept = await ctx.request('BulkAbort', { transferId: c.transferId });
      ctx.expect(kept.discarded, 'a transfer named by a failed Curvature request must stay committed');
      // (d) inline tensor with a non-finite entry (small system so it fits one frame)
      const bad = ctx.curvatureBody([2, 0, 0, 2], 2);
      if (bad.form === 'dense') bad.a = rawF64([2, 0, 0, NaN], [2, 2]);
      else bad.j = rawF64([1, 0, 0, NaN], [2, 2]);
      await ctx.expectError(ctx.request('Curvature', bad), ErrorCode.NON_FINITE_VALUE, 'Curvature with NaN');
      const after = await ctx.status();
      ctx.expect(after.n === before.n && after.hasCurvature && after.hasGradient, `Status after the failures: n ${after.n}, hasCurvature ${after.hasCurvature}, hasGradient ${after.hasGradient}`);
      const r2 = await runOnce(ctx);
      const xOld = Float64Array.from({ length: n }, (_, i) => 1 / (2 + i / n));
      return { n, chunks: a.chunks, ...compare(ctx, r1, r2, xOld, new Float64Array(n).fill(1)) };
    },
  },
  {
    id: 'atomic.gradient',
    title: 'Gradient upload with bad CRC, NaN, wrong length or a dead ref → previous g still in force',
    async run(ctx) {
      await ctx.fresh();
      await ctx.loadSmall(2, { kappa0: ctx.kappa(0), burnInTau: 5 });
      const r1 = await runOnce(ctx);
      const g2 = [-3, 5];
      const b = await open(ctx, g2, [2], { crc: 1 });
      await sendAll(ctx, b);
      await ctx.expectError(ctx.request('BulkCommit', { transferId: b.transferId }), ErrorCode.TENSOR_CRC_MISMATCH, 'commit with a wrong CRC');
      await ctx.expectError(ctx.request('Gradient', { g: { ref: b.transferId } }), ErrorCode.NO_SUCH_TRANSFER, 'Gradient naming the discarded transfer');
      await ctx.expectError(ctx.request('Gradient', { g: rawF64([-3, NaN], [2]) }), ErrorCode.NON_FINITE_VALUE, 'g with NaN');
      await ctx.expectError(ctx.request('Gradient', { g: f64([-3, 5, 1], [3]) }), ErrorCode.SHAPE_MISMATCH, 'g of length 3');
      const r2 = await runOnce(ctx);
      return compare(ctx, r1, r2, Float64Array.of(0.5, 0.5), Float64Array.of(-1.5, 2.5));
    },
  },
  {
    id: 'atomic.n-change',
    title: 'A curvature of another N discards the gradient (Run → NO_GRADIENT)',
    async run(ctx) {
      await ctx.fresh();
      await ctx.loadSmall(2);
      await ctx.request('Curvature', ctx.curvatureBody([2, 0, 0, 0, 2, 0, 0, 0, 2], 3));
      const s = await ctx.status();
      ctx.expect(s.n === 3 && !s.hasGradient, `after N 2 → 3: n = ${s.n}, hasGradient ${s.hasGradient}`);
      await ctx.expectError(ctx.request('Run', { durationTau: 1, start: 'reset' }), ErrorCode.NO_GRADIENT, 'Run after the gradient was discarded');
    },
  },
];
