// The bulk window follows the link the driver measured: bandwidth × round trip, within the
// device's window.
import { afterEach, describe, expect, it } from 'vitest';
import { connect } from '../../src/connect.ts';
import type { SpuDriver } from '../../src/driver/index.ts';
import { LinkEstimate } from '../../src/driver/link-estimate.ts';
import { configureOptions, factoredSystem } from './helpers.ts';

describe('LinkEstimate', () => {
  it('keeps the device window until it has measured, then covers bandwidth × round trip + 1', () => {
    const e = new LinkEstimate();
    expect(e.window(4000, 8)).toBe(8);
    e.rtt(30);
    e.rtt(20); // the smallest round trip counts (the rest is queueing)
    e.rtt(25);
    e.delivered(2_000_000, 10_000); // 200 B/ms → BDP 4000 B = one chunk
    expect(e.window(4000, 8)).toBe(2);
    e.delivered(64_000_000, 1_000); // 64 kB/ms → BDP 1.28 MB = 320 chunks: the device's 8 bound it
    expect(e.window(4000, 8)).toBe(8);
    e.delivered(800_000, 1_000); // 800 B/ms → BDP 16 kB = 4 chunks (+1)
    expect(e.window(4000, 8)).toBe(5);
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
