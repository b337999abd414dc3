// Large frames over a real pty: 8 chunks of 64 KiB in flight. Before the transports' poller fix,
// node-serialport dropped a pending write's 'writable' wait when a read re-armed its poll, and
// about one upload in eight stalled for good; three uploads here would catch that most of the time.
import { execFileSync } from 'node:child_process';
import { describe, expect, it } from 'vitest';
import { connect } from '../../src/connect.ts';
import { emulatorFactory, startPty } from '../../src/emulator/index.ts';
import { bitEqual, configureOptions, factoredSystem, reference } from './helpers.ts';

const socat = (() => {
  try {
    execFileSync('socat', ['-V'], { stdio: 'ignore' });
    return true;
  } catch {
    return false;
  }
})();

describe.skipIf(!socat)('driver over a pty (socat)', () => {
  it('uploads 2 MiB in 64 KiB frames three times and returns the same bits as the core', async () => {
    const pty = await startPty({ factory: emulatorFactory({ seed: 31, maxFrameBytes: 65535 }) });
    const dev = await connect(pty.path, { heartbeatIntervalMs: 0, timeoutMs: 5000 });
    try {
      const sys = factoredSystem(4096, 64, 12); // J = 2 MiB
      await dev.configure(configureOptions);
      for (let k = 0; k < 3; k++) expect((await dev.uploadCurvature({ form: 'factored', ...sys })).bulkTransfers).toBe(1);
      await dev.uploadGradient(sys.g);
      const res = await dev.run({ durationTau: 2, start: 'reset' }).result;
      const [ref] = reference(sys, 31, [{ durationTau: 2, start: 'reset' }]);
      expect(bitEqual(res.mean, ref.mean)).toBe(true);
      expect(dev.metrics().latency.BulkChunk.count).toBe(3 * Math.ceil((4096 * 64 * 8) / 65404));
    } finally {
      await dev.close();
      await pty.close();
    }
  });
});
