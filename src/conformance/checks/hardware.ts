// Checks that mean something only on a physical device (real link rate, analog time, a hard
// reset that may drop the link). Skipped unless the suite runs with `hardware: true`
// (the vitest file sets it when TNGD_DEVICE names a device).
import { crc32c, maxChunkBytes } from '../../protocol/index.ts';
import { bulkUpload } from '../../driver/bulk-upload.ts';
import { tensorFromFloat64 } from '../../protocol/index.ts';
import type { CheckContext } from '../context.ts';
import type { CheckDef } from '../types.ts';

const hwOnly = (ctx: CheckContext): string | null => (ctx.hardware ? null : 'hardware-only: set TNGD_DEVICE (or --hardware) to run it against a physical device');

export const hardwareChecks: CheckDef[] = [
  {
    id: 'hardware.link-rate',
    title: 'Bulk upload reaches at least half the advertised linkBytesPerSecond',
    skip: (ctx) => hwOnly(ctx) ?? (ctx.caps.linkBytesPerSecond > 0 ? null : 'the device advertises no link rate (0)'),
    async run(ctx) {
      await ctx.fresh();
      const bytes = Math.max(64 * 1024, Math.min(4 * 2 ** 20, ctx.caps.linkBytesPerSecond * 2));
      const t = tensorFromFloat64(new Float64Array(bytes / 8).map((_, i) => i % 7), [bytes / 8], 'f64');
      const t0 = performance.now();
      const r = await bulkUpload(ctx.dev.channel, t, { deviceMaxFrameBytes: ctx.caps.maxFrameBytes, maxInFlightBytes: ctx.dev.maxInFlightBytes, log: ctx.log, timeoutMs: 10_000 });
      const s = (performance.now() - t0) / 1000;
      await ctx.request('BulkAbort', { transferId: r.transferId });
      const rate = bytes / s;
      ctx.expect(rate >= 0.5 * ctx.caps.linkBytesPerSecond, `${(rate / 1e3).toFixed(1)} kB/s < half of ${(ctx.caps.linkBytesPerSecond / 1e3).toFixed(1)} kB/s`, { rate });
      return { bytesPerSecond: Math.round(rate), advertised: ctx.caps.linkBytesPerSecond, chunkBytes: maxChunkBytes(ctx.caps.maxFrameBytes), crc: crc32c(t.data) };
    },
  },
  {
    id: 'hardware.analog-time',
    title: 'A run of D τ takes at least D·τ seconds of wall time (analog time is physical)',
    skip: hwOnly,
    async run(ctx) {
      await ctx.fresh();
      await ctx.loadSmall(2);
      const d = Math.max(1, 0.2 / ctx.caps.tauSeconds);
      const t0 = performance.now();
      await ctx.dev.request('Run', { durationTau: d, start: 'reset' }, { timeoutMs: 60_000 });
      const wall = (performance.now() - t0) / 1000;
      ctx.expect(wall >= 0.9 * d * ctx.caps.tauSeconds, `a ${d}τ run took ${wall.toFixed(3)} s, less than ${(d * ctx.caps.tauSeconds).toFixed(3)} s of analog time`);
      return { durationTau: d, wallSeconds: wall };
    },
  },
  {
    id: 'hardware.hard-reset',
    title: 'DeviceReset { hard: true } re-initialises the device (the link may drop); it comes back IDLE',
    skip: hwOnly,
    async run(ctx) {
      await ctx.fresh();
      await ctx.loadSmall(2);
      try {
        await ctx.request('DeviceReset', { hard: true });
      } catch {
        // allowed: a hard reset may drop the link before the reply is read
      }
      if (!ctx.dev.isOpen) ctx.dev = await ctx.reconnect();
      let state = '';
      for (let i = 0; i < 50 && state !== 'IDLE'; i++) {
        try {
          state = (await ctx.status()).state;
        } catch {
          await new Promise((r) => setTimeout(r, 100));
          ctx.dev = await ctx.reconnect();
        }
      }
      ctx.expect(state === 'IDLE', `state ${state} after a hard reset`);
    },
  },
];
