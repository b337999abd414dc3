// Raw-bytes baseline per transport: small-frame round trip and bulk upload/download through each
// transport to the frame-level bench device, with no codec or driver. The same-run baseline is
// the bench device called directly (no transport at all), so each ratio is the transport's cost.
// Driver benchmarks compare their figures against these rows.
import { spawnSync } from 'node:child_process';
import type { Duplex } from 'node:stream';
import type { BenchRow, BenchSuite } from './harness.ts';
import { measureRawLink, type RawLinkFigures, type MeasureOptions } from '../src/driver/transports/measure.ts';
import { openLink, type ByteLink } from '../src/driver/transports/open-link.ts';
import { createBenchDevice } from '../src/emulator/transports/loopback.ts';
import { serveTcp } from '../src/emulator/transports/tcp-server.ts';
import { startPty } from '../src/emulator/transports/pty.ts';

const median = (xs: number[]): number => [...xs].sort((a, b) => a - b)[Math.floor(xs.length / 2)];

/** Median of each figure over `reps` fresh links (one link's numbers swing with GC and scheduling). */
async function overLink(open: () => Promise<{ link: ByteLink; done: () => Promise<void> }>, m: MeasureOptions, reps: number): Promise<RawLinkFigures> {
  const runs: RawLinkFigures[] = [];
  for (let r = 0; r < reps; r++) {
    const { link, done } = await open();
    try {
      runs.push(await measureRawLink(link.stream, m));
    } finally {
      await link.close();
      await done();
    }
  }
  return {
    rttUs: {
      median: median(runs.map((f) => f.rttUs.median)),
      p10: median(runs.map((f) => f.rttUs.p10)),
      p90: median(runs.map((f) => f.rttUs.p90)),
      samples: runs.reduce((a, f) => a + f.rttUs.samples, 0),
    },
    uploadMBps: median(runs.map((f) => f.uploadMBps)),
    downloadMBps: median(runs.map((f) => f.downloadMBps)),
    bulkBytes: runs[0].bulkBytes,
  };
}

const suite: BenchSuite = {
  name: 'transports',
  async run({ quick }) {
    const m: MeasureOptions = quick ? { rttSamples: 300, bulkBytes: 2 << 20 } : { rttSamples: 2000, bulkBytes: 8 << 20 };
    const reps = quick ? 3 : 5;
    const direct = await overLink(async () => {
      const d = createBenchDevice() as Duplex;
      const link = { stream: d, close: async () => void d.destroy() } as unknown as ByteLink;
      return { link, done: async () => {} };
    }, m, reps);
    const results: [string, RawLinkFigures, string][] = [];
    results.push([
      'in-process (SerialPortStream + virtual binding)',
      await overLink(async () => ({ link: await openLink('emu:bench', { emuFactory: createBenchDevice }), done: async () => {} }), m, reps),
      '',
    ]);
    results.push([
      'tcp loopback (with secret)',
      await overLink(async () => {
        const srv = await serveTcp(createBenchDevice, { port: 0, secret: 'bench' });
        return { link: await openLink(srv.url, { secret: 'bench' }), done: () => srv.close() };
      }, m, reps),
      '',
    ]);
    if (spawnSync('socat', ['-V']).status === 0) {
      results.push([
        'pty via socat (serialport on /dev/pts)',
        await overLink(async () => {
          const pty = await startPty({ factory: createBenchDevice });
          return { link: await openLink(pty.path), done: () => pty.close() };
        }, m, reps),
        'pty ignores the baud rate',
      ]);
    }
    const rows: BenchRow[] = [];
    const base = direct;
    for (const [name, f, note] of results) {
      rows.push({
        case: `rtt ${name}`,
        value: f.rttUs.median,
        unit: 'µs (median)',
        baseline: base.rttUs.median,
        ratio: f.rttUs.median / base.rttUs.median,
        p90: f.rttUs.p90,
        note: `ratio = value/baseline, lower is better; baseline = device called directly; n=${f.rttUs.samples}${note ? `; ${note}` : ''}`,
      });
      rows.push({
        case: `upload ${name}`,
        value: f.uploadMBps,
        unit: 'MB/s',
        baseline: base.uploadMBps,
        ratio: f.uploadMBps / base.uploadMBps,
        note: `${f.bulkBytes} B frame until ack; ratio higher is better`,
      });
      rows.push({
        case: `download ${name}`,
        value: f.downloadMBps,
        unit: 'MB/s',
        baseline: base.downloadMBps,
        ratio: f.downloadMBps / base.downloadMBps,
        note: `${f.bulkBytes} B requested; ratio higher is better`,
      });
    }
    return rows;
  },
};

export default suite;
