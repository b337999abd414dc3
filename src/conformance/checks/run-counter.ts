// PROTOCOL.md §7.3.1 (protocol 1.1): an emulator's run counter — set by Configure.runIndex,
// reported by the Configure, Status and Run replies; a device set to k gives the bytes of one that
// ran k times. Devices without the 'emulator' feature must ignore the field (not checkable here
// beyond what the other checks do), so the check is skipped on them.
import { ErrorCode } from '../../protocol/index.ts';
import type { ReplyBody, RequestBody } from '../../protocol/index.ts';
import type { CheckContext } from '../context.ts';
import { f64 } from '../context.ts';
import type { CheckDef } from '../types.ts';

const RUN: RequestBody<'Run'> = { durationTau: 3, start: 'reset' };

/** mean ‖ final of the last run as the f64 bytes the device sent. */
async function resultBytes(ctx: CheckContext): Promise<string> {
  const r = await ctx.request('Results', { vectors: 'both', dtype: 'f64' });
  return Buffer.concat([Buffer.from(r.mean!.data), Buffer.from(r.final!.data)]).toString('hex');
}

export const runCounterChecks: CheckDef[] = [
  {
    id: 'run.counter',
    title: 'Emulators (1.1): Configure.runIndex sets the run counter — run k after setting k = run k of a device that ran k times; Configure, Status and Run replies report it',
    skip: (ctx) =>
      !ctx.isEmulator ? "the run counter applies to devices declaring the 'emulator' feature"
      : ctx.info.protocol.major === 1 && ctx.info.protocol.minor < 1 ? `the session speaks protocol ${ctx.info.protocol.major}.${ctx.info.protocol.minor}; runIndex is 1.1`
      : null,
    async run(ctx) {
      await ctx.fresh();
      const cfg = ctx.configureBody({ kappa0: ctx.kappa(0.05) });
      const c0 = await ctx.request('Configure', cfg);
      ctx.expect(c0.runIndex === 0, `after DeviceReset the Configure reply must report runIndex 0, got ${String(c0.runIndex)}`);
      await ctx.request('Curvature', ctx.curvatureBody([2, 0.5, 0.5, 1.5], 2));
      await ctx.request('Gradient', { g: f64([1, -0.5], [2]) });
      // three runs from x = 0: the counter steps 1, 2, 3 and the bytes depend only on the index
      const replies: ReplyBody<'Run'>[] = [];
      const bytes: string[] = [];
      for (let k = 0; k < 3; k++) {
        replies.push(await ctx.request('Run', RUN));
        bytes.push(await resultBytes(ctx));
      }
      const s = await ctx.status();
      ctx.expect(replies.map((r) => r.runIndex).join() === '1,2,3' && s.runIndex === 3, `run counter after three runs: Run replies ${replies.map((r) => r.runIndex).join(', ')}, Status ${String(s.runIndex)} (expected 1, 2, 3 and 3)`);
      ctx.expect(new Set(bytes).size === 3, 'three runs with noise at three run indices gave identical results: the noise does not depend on the run index');
      // set the counter back to 2: the next run repeats the third run bit for bit
      const c2 = await ctx.request('Configure', { ...cfg, runIndex: 2 });
      ctx.expect(c2.runIndex === 2, `Configure{runIndex: 2} answered runIndex ${String(c2.runIndex)}`);
      const again = await ctx.request('Run', RUN);
      const same = (await resultBytes(ctx)) === bytes[2];
      ctx.expect(again.runIndex === 3, `the run after runIndex 2 must leave the counter at 3, got ${String(again.runIndex)}`);
      ctx.expect(same, 'a run at run index 2 (set by Configure) differs from the third run of the device (index 2)');
      // a new seed restarts the counter at 0, and runIndex applies after it
      const fresh = await ctx.request('Configure', { ...cfg, seed: 1001 });
      const seeded = await ctx.request('Configure', { ...cfg, seed: 1002, runIndex: 7 });
      ctx.expect(fresh.runIndex === 0 && seeded.runIndex === 7, `new seed: runIndex ${String(fresh.runIndex)} (expected 0); new seed with runIndex 7: ${String(seeded.runIndex)}`);
      // the last value: no run can start, nothing changes
      await ctx.request('Configure', { ...cfg, runIndex: 0xffffffff });
      await ctx.expectError(ctx.request('Run', RUN), ErrorCode.OUT_OF_RANGE, 'Run with the run counter at 2^32 − 1');
      const last = await ctx.status();
      ctx.expect(last.runIndex === 0xffffffff && last.state === 'READY', `after the refused Run: runIndex ${String(last.runIndex)}, state ${last.state}`);
      return { counters: replies.map((r) => r.runIndex), repeatedBitExact: same };
    },
  },
];
