// PROTOCOL.md §7.6–§7.8, §7.2: runs, abort, results (inline and sliced), sample stream, reset.
import { ErrorCode, FLAG_EVENT, FLAG_MORE, MAX_MAX_FRAME_BYTES, tensorElementCount, tensorToFloat64 } from '../../protocol/index.ts';
import type { DecodedFrame, ReplyBody } from '../../protocol/index.ts';
import { DeviceError } from '../../driver/errors.ts';
import type { CheckContext } from '../context.ts';
import { f64 } from '../context.ts';
import type { CheckDef } from '../types.ts';
import { hello } from './handshake.ts';

const RESULT_FLAGS = new Set(['not-positive-definite', 'diverged', 'aborted', 'saturated', 'clipped']);

/** Loads a diagonal system of size n with a factored (rank-1) or dense form; g = 0.5. */
async function loadDiagonal(ctx: CheckContext, n: number): Promise<void> {
  if (ctx.has('factored-curvature'))
    await ctx.dev.uploadCurvature({ form: 'factored', n, r: 1, J: new Float64Array(n).fill(0.1), core: { kind: 'identity' }, scale: 1, lambda: 1 });
  else {
    const A = new Float64Array(n * n);
    for (let i = 0; i < n; i++) A[i * n + i] = 2;
    await ctx.dev.uploadCurvature({ form: 'dense', n, A, lambda: 0 });
  }
  await ctx.dev.uploadGradient(new Float64Array(n).fill(0.5));
}

export const runChecks: CheckDef[] = [
  {
    id: 'run.reply',
    title: 'Run reply: runId increments, analogTimeTau = duration, sampleCount plausible; Results summary agrees',
    async run(ctx) {
      await ctx.fresh();
      await ctx.loadSmall(2, { samplePeriodTau: 0.1, burnInTau: 1 });
      const a = await ctx.request('Run', { durationTau: 5, start: 'reset' });
      const b = await ctx.request('Run', { durationTau: 5, start: 'carry' });
      const s = await ctx.status();
      const r = await ctx.request('Results', { vectors: 'none', dtype: 'f64' });
      ctx.expect(b.runId === ((a.runId + 1) >>> 0), `runIds ${a.runId}, ${b.runId}`);
      ctx.expect(Math.abs(a.analogTimeTau - 5) < 1e-9, `analogTimeTau ${a.analogTimeTau} for a 5τ run`);
      ctx.expect(a.sampleCount > 0 && a.sampleCount <= 51, `sampleCount ${a.sampleCount} for 5τ at Δ = 0.1τ`);
      ctx.expect(a.flags.every((f) => RESULT_FLAGS.has(f)), `unknown flags ${a.flags.join(',')}`);
      ctx.expect(s.runId === b.runId && s.state === 'READY', `Status runId ${s.runId}, state ${s.state}`);
      ctx.expect(r.runId === b.runId && r.sampleCount === b.sampleCount && r.n === 2 && r.analogTimeTau === b.analogTimeTau, `Results summary ${JSON.stringify({ runId: r.runId, n: r.n, sampleCount: r.sampleCount })} ≠ Run reply`);
      return { runIds: [a.runId, b.runId], sampleCount: a.sampleCount };
    },
  },
  {
    id: 'run.preconditions',
    title: 'Run without curvature → NO_CURVATURE, without gradient → NO_GRADIENT; Results before any run → NO_RESULTS',
    async run(ctx) {
      await ctx.fresh();
      await ctx.configure();
      await ctx.expectError(ctx.request('Run', { durationTau: 1, start: 'reset' }), ErrorCode.NO_CURVATURE, 'Run with nothing loaded');
      await ctx.expectError(ctx.request('Results', { vectors: 'mean', dtype: 'f64' }), ErrorCode.NO_RESULTS, 'Results before any run');
      await ctx.request('Curvature', ctx.curvatureBody([2, 0, 0, 2], 2));
      await ctx.expectError(ctx.request('Run', { durationTau: 1, start: 'reset' }), ErrorCode.NO_GRADIENT, 'Run without a gradient');
    },
  },
  {
    id: 'run.abort',
    title: 'Abort: Run answered ABORTED, Abort reply names the run, results readable with flag aborted; Abort when idle → aborted false',
    async run(ctx) {
      await ctx.fresh();
      await ctx.loadSmall(2);
      const run = await ctx.startLongRun();
      await ctx.waitRunning();
      const ab = await ctx.request('Abort', {});
      const end = await run.outcome;
      ctx.expect(end.error instanceof DeviceError && end.error.code === ErrorCode.ABORTED, `Run should fail ABORTED, got ${end.error ? (end.error as Error).message : 'a normal reply'}`);
      const s = await ctx.status();
      ctx.expect(ab.aborted && ab.runId === s.runId && s.state === 'READY', `Abort reply ${JSON.stringify(ab)}, Status runId ${s.runId} state ${s.state}`);
      const r = await ctx.request('Results', { vectors: 'mean', dtype: 'f64' });
      ctx.expect(r.flags.includes('aborted') && r.runId === ab.runId, `results of the aborted run: flags ${r.flags.join(',')}, runId ${r.runId}`);
      ctx.expect(r.analogTimeTau < ctx.longRunTau(), `aborted run reports analogTimeTau ${r.analogTimeTau}, the full duration`);
      const idle = await ctx.request('Abort', {});
      ctx.expect(!idle.aborted, 'Abort with no run in progress reported aborted: true');
      return { analogTimeTauAtAbort: r.analogTimeTau };
    },
  },
  {
    id: 'run.results-dtypes',
    title: 'Results in f32 are the f64 results rounded to nearest (Math.fround); readout mode limits the vectors',
    async run(ctx) {
      await ctx.fresh();
      await ctx.loadSmall(2);
      await ctx.request('Run', { durationTau: 3, start: 'reset' });
      const d = await ctx.request('Results', { vectors: 'both', dtype: 'f64' });
      const s = await ctx.request('Results', { vectors: 'both', dtype: 'f32' });
      const m64 = tensorToFloat64(d.mean!);
      const m32 = tensorToFloat64(s.mean!);
      ctx.expect(s.mean!.dtype === 'f32' && m64.every((v, i) => Math.fround(v) === m32[i]), 'f32 mean is not fround(f64 mean)', { f64: Array.from(m64), f32: Array.from(m32) });
      await ctx.configure({ readout: 'mean' });
      await ctx.request('Run', { durationTau: 1, start: 'reset' });
      await ctx.expectError(ctx.request('Results', { vectors: 'final', dtype: 'f64' }), ErrorCode.NO_RESULTS, "'final' with readout 'mean'");
      const ok = await ctx.request('Results', { vectors: 'mean', dtype: 'f64' });
      ctx.expect(ok.mean !== undefined, "readout 'mean' gave no mean");
    },
  },
  {
    id: 'run.results-sliced',
    title: 'Results larger than the host frame → REPLY_TOO_LARGE; ResultsRead slices fit and reassemble bit-exactly',
    async run(ctx) {
      await ctx.fresh();
      const n = 200;
      await ctx.configure();
      await loadDiagonal(ctx, n);
      await ctx.request('Run', { durationTau: 2, start: 'reset' });
      const small = 1024;
      let biggest = 0;
      const untap = ctx.dev.channel.tap((f: DecodedFrame) => void (biggest = Math.max(biggest, f.encodedBytes)));
      const slices: Float64Array = new Float64Array(n);
      try {
        await ctx.request('Hello', hello({ maxFrameBytes: small }));
        await ctx.expectError(ctx.request('Results', { vectors: 'both', dtype: 'f64' }), ErrorCode.REPLY_TOO_LARGE, `Results of N = ${n} in ${small}-byte frames`);
        const per = 100;
        for (let off = 0; off < n; off += per) {
          const r = await ctx.request('ResultsRead', { field: 'mean', dtype: 'f64', offset: off, count: Math.min(per, n - off) });
          ctx.expect(r.offset === off && r.n === n && tensorElementCount(r.data.shape) === Math.min(per, n - off), `ResultsRead slice ${JSON.stringify({ offset: r.offset, n: r.n, shape: r.data.shape })}`);
          slices.set(tensorToFloat64(r.data), off);
        }
      } finally {
        untap();
        await ctx.request('Hello', hello({ maxFrameBytes: MAX_MAX_FRAME_BYTES }));
      }
      ctx.expect(biggest <= small, `the device sent a ${biggest}-byte frame to a host that accepts ${small}`);
      const whole = await ctx.request('Results', { vectors: 'mean', dtype: 'f64' });
      const m = tensorToFloat64(whole.mean!);
      ctx.expect(m.every((v, i) => Object.is(v, slices[i])), 'sliced mean differs from the inline mean');
      return { n, largestFrame: biggest };
    },
  },
  {
    id: 'run.sample-stream',
    title: 'Sample stream: EVENT frames on the Run id with MORE on all but the last, consecutive seq, full cell coverage; SamplesRead returns the same blocks',
    skip: (ctx) => (ctx.has('sample-stream') ? null : "device does not declare 'sample-stream'"),
    async run(ctx) {
      await ctx.fresh();
      await ctx.loadSmall(2, { samplePeriodTau: 0.1 });
      let runId = -1;
      const events: DecodedFrame[] = [];
      const untap = ctx.dev.channel.tap((f) => {
        if (f.header.flags & FLAG_EVENT) events.push(f);
      });
      let reply: ReplyBody<'Run'>;
      try {
        reply = await ctx.dev.request('Run', { durationTau: 3, start: 'reset', streamSamples: true }, { onAttempt: (id) => (runId = id), onEvent: () => {} });
      } finally {
        untap();
      }
      ctx.expect(events.length > 0, 'no SampleBlock events during a streamed run');
      const blocks = events.map((e) => (e.message as { body: ReplyBody<'SamplesRead'>['blocks'][number] }).body);
      ctx.expect(events.every((e) => e.header.requestId === runId && e.message.kind === 'SampleBlockEvent'), 'events must be SampleBlock frames carrying the Run request id');
      // PROTOCOL.md §7.8: MORE on every block but the run's last (since 1.2; a 1.1 session sets it on all)
      ctx.expect(events.slice(0, -1).every((e) => e.header.flags & FLAG_MORE), 'events sent while the run continues must set MORE');
      if (ctx.info.protocol.minor >= 2) ctx.expect((events[events.length - 1].header.flags & FLAG_MORE) === 0, "the event carrying the run's last sample must not set MORE (protocol 1.2)");
      ctx.expect(blocks.every((b, i) => i === 0 || b.seq === ((blocks[i - 1].seq + 1) >>> 0)), `seq not consecutive: ${blocks.map((b) => b.seq).join(',')}`);
      ctx.expect(blocks.every((b) => b.runId === reply.runId), 'events name another run');
      let rows = 0;
      const cover = new Map<number, number>();
      for (const b of blocks) {
        const [count, cells] = b.data.shape;
        for (let k = 0; k < count; k++) cover.set(b.firstSample + k, (cover.get(b.firstSample + k) ?? 0) + cells);
        if (b.cellOffset === 0) rows += count;
      }
      ctx.expect([...cover.values()].every((c) => c === 2), 'every streamed sample must cover all N = 2 cells exactly once');
      const first = blocks[0].seq;
      const rd = await ctx.request('SamplesRead', { fromSeq: first, maxBlocks: 0xffff });
      const start = Math.max(first, rd.oldestSeq);
      const mine = blocks.filter((b) => b.seq >= start);
      const same = mine.every((b, i) => rd.blocks[i] && rd.blocks[i].seq === b.seq && Buffer.compare(Buffer.from(rd.blocks[i].data.data), Buffer.from(b.data.data)) === 0);
      ctx.expect(rd.blocks.length > 0 && same, 'SamplesRead blocks differ from the streamed ones');
      const old = await ctx.request('SamplesRead', { fromSeq: 0, maxBlocks: 1 });
      ctx.expect(old.blocks.length === 0 || old.blocks[0].seq >= old.oldestSeq, 'SamplesRead from before the ring must start at oldestSeq');
      return { blocks: blocks.length, rows, sampleCount: reply.sampleCount };
    },
  },
  {
    id: 'run.delay',
    title: 'delayTau: analogTimeTau includes the delay',
    skip: (ctx) => (ctx.has('delay') ? null : "device does not declare 'delay'"),
    async run(ctx) {
      await ctx.fresh();
      await ctx.loadSmall(2);
      await ctx.request('Run', { durationTau: 2, start: 'reset' });
      await ctx.request('Gradient', { g: f64([-1, 1], [2]) });
      const r = await ctx.request('Run', { durationTau: 2, start: 'carry', delayTau: 0.5 });
      ctx.expect(Math.abs(r.analogTimeTau - 2.5) < 1e-9, `analogTimeTau ${r.analogTimeTau}, expected 2.5`);
      return { analogTimeTau: r.analogTimeTau };
    },
  },
  {
    id: 'reset.soft',
    title: 'DeviceReset: answered, then IDLE with nothing loaded, no results, empty error queue',
    async run(ctx) {
      await ctx.fresh();
      await ctx.loadSmall(2);
      await ctx.request('Run', { durationTau: 1, start: 'reset' });
      await ctx.expectError(ctx.request('Configure', ctx.configureBody({ kappa0: ctx.caps.kappa0Max * 2 + 1 })), ErrorCode.KAPPA_OUT_OF_RANGE, 'bad κ₀');
      await ctx.request('DeviceReset', {});
      const s = await ctx.status();
      ctx.expect(s.state === 'IDLE' && s.n === 0 && !s.hasCurvature && !s.hasGradient && s.openTransfers === 0, `Status after reset: ${JSON.stringify({ state: s.state, n: s.n, hasCurvature: s.hasCurvature, hasGradient: s.hasGradient })}`);
      ctx.expect(s.errorQueueLength === 0, `error queue holds ${s.errorQueueLength} entries after DeviceReset (§7.2: cleared)`);
      await ctx.configure();
      await ctx.expectError(ctx.request('Results', { vectors: 'none', dtype: 'f64' }), ErrorCode.NO_RESULTS, 'Results after reset');
    },
  },
  {
    id: 'reset.during-run',
    title: 'DeviceReset during a run: the Run is answered RESET, the device is IDLE',
    async run(ctx) {
      await ctx.fresh();
      await ctx.loadSmall(2);
      const run = await ctx.startLongRun();
      await ctx.waitRunning();
      await ctx.request('DeviceReset', {});
      const end = await run.outcome;
      ctx.expect(end.error instanceof DeviceError && end.error.code === ErrorCode.RESET, `Run should fail RESET, got ${end.error ? (end.error as Error).message : 'a reply'}`);
      ctx.expect((await ctx.status()).state === 'IDLE', 'not IDLE after DeviceReset');
    },
  },
];
