// The bulk window follows the link the driver measured: bandwidth × (round trip + a queueing
// allowance), within the device's window.
import { afterEach, describe, expect, it } from 'vitest';
import { connect } from '../../src/connect.ts';
import type { SpuDriver } from '../../src/driver/index.ts';
import { LinkEstimate, QUEUE_ALLOWANCE_MS } from '../../src/driver/link-estimate.ts';
import { configureOptions, factoredSystem } from './helpers.ts';

describe('LinkEstimate', () => {
  it('keeps the device window until it has measured, then covers bandwidth × (round trip + allowance) + 1', () => {
    expect(QUEUE_ALLOWANCE_MS).toBe(10);
    const e = new LinkEstimate();
    expect(e.window(4000, 8)).toBe(8);
    e.rtt(30);
    e.rtt(20); // the smallest round trip counts (the rest is queueing)
    e.rtt(25);
    e.delivered(2_000_000, 10_000); // 200 B/ms × (20 + 10) ms = 6000 B = 1.5 chunks → 2 (+1)
    expect(e.window(4000, 8)).toBe(3);
    e.delivered(64_000_000, 1_000); // 64 kB/ms → 1.92 MB = 480 chunks: the device's 8 bound it
    expect(e.window(4000, 8)).toBe(8);
    e.delivered(400_000, 1_000); // 400 B/ms × 30 ms = 12 kB = 3 chunks (+1)
    expect(e.window(4000, 8)).toBe(4);
    e.delivered(1_000, 1_000); // 1 B/ms: never below 2
    expect(e.window(4000, 8)).toBe(2);
  });

  it('does not talk itself down: a fast link measured through a small window keeps the device window', () => {
    // TCP to an emulator in another process: 0.2 ms smallest round trip, 64 kB chunks. An upload
    // that ran with 2 chunks in flight delivered 30 MB/s; bandwidth × round trip alone would keep
    // the window at 2 for good (30 kB/ms × 0.2 ms = 6 kB < 1 chunk), however fast the link is.
    const e = new LinkEstimate();
    e.rtt(0.2);
    e.delivered(4_000_000, 133);
    expect(e.window(65_000, 8)).toBe(6);
    e.delivered(4_000_000, 40); // the next upload, with that window: faster, so the window grows
    expect(e.window(65_000, 8)).toBe(8);
  });
});

describe('bulk window on a measured link', () => {
  const open: SpuDriver[] = [];
  afterEach(async () => {
    for (const d of open.splice(0)) await d.close();
  });

  it('a slow paced link (400 kB/s, 4 kB frames) gets a window of a few chunks, not the device\'s 8', async () => {
    const sys = factoredSystem(1250, 8, 2); // J = 80 kB: 20 chunks of ≈ 4 kB
    const windows: number[] = [];
    for (const url of ['emu:?seed=1&rate=400000&maxFrameBytes=4096']) {
      const dev = await connect(url, { heartbeatIntervalMs: 0, timeoutMs: 5000 });
      open.push(dev);
      await dev.configure(configureOptions);
      await dev.uploadCurvature({ form: 'factored', ...sys });
      await dev.uploadCurvature({ form: 'factored', ...sys });
      windows.push(dev.channel.estimate.window(4000, dev.capabilities.bulkWindow));
      expect(dev.channel.estimate.rttMs).toBeGreaterThan(0);
    }
    // paced: a 4 kB chunk takes ≈ 10 ms to cross, and the rate is 400 B/ms: BDP ≈ 1–2 chunks
    expect(windows[0]).toBeGreaterThanOrEqual(2);
    expect(windows[0]).toBeLessThanOrEqual(4);
  });
});
