import { describe, it, expect } from 'vitest';
import { createBenchDevice } from '../../src/emulator/transports/loopback.ts';
import { measureRawLink } from '../../src/driver/transports/measure.ts';
import { openLink } from '../../src/driver/transports/open-link.ts';
import { collect } from './devices.ts';

describe('bench device and raw link measurement', () => {
  it('bench device: acknowledges frames with one 0x00, answers "D<n>" with n bytes + 0x00, across chunk splits', async () => {
    const d = createBenchDevice();
    const out = collect(d, 1 + 1 + (6 + 1) + 1);
    d.write(Buffer.from('abc\0'));
    d.write(Buffer.from('\0')); // empty frame
    d.write(Buffer.from('D'));
    d.write(Buffer.from('6\0x'));
    d.write(Buffer.from('yz\0'));
    expect((await out).toString('hex')).toBe('00' + '00' + '555555555555' + '00' + '00');
  });

  it('measureRawLink over the in-process transport returns its sample count and positive figures', async () => {
    const link = await openLink('emu:measure', { emuFactory: createBenchDevice });
    const f = await measureRawLink(link.stream, { rttSamples: 50, bulkBytes: 64 * 1024, timeoutMs: 5000 });
    await link.close();
    expect(f.rttUs.samples).toBe(50);
    expect(f.rttUs.p10).toBeLessThanOrEqual(f.rttUs.median);
    expect(f.rttUs.median).toBeLessThanOrEqual(f.rttUs.p90);
    expect(f.rttUs.median).toBeGreaterThan(0);
    expect(f.uploadMBps).toBeGreaterThan(0);
    expect(f.downloadMBps).toBeGreaterThan(0);
    expect(f.bulkBytes).toBe(64 * 1024);
  });

  it('fails instead of hanging when the far end is silent', async () => {
    const link = await openLink('emu:silent', {
      emuFactory: () => {
        const d = createBenchDevice();
        d.pause();
        d.push = () => true; // swallows every answer
        return d;
      },
    });
    await expect(measureRawLink(link.stream, { rttSamples: 1, timeoutMs: 100 })).rejects.toThrow(/missing after 100 ms/);
    await link.close();
  });
});
