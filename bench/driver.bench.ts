// Driver overhead per transport: Heartbeat round trip and bulk upload throughput of a J tensor
// through the full stack (driver → codec → transport → emulated firmware), each against the
// raw-bytes baseline on the same transport measured in the same run (measureRawLink with the
// frame-level bench device: a 16-byte frame and its 1-byte ack; one bulk frame until acked).
import { spawnSync } from 'node:child_process';
import type { Duplex } from 'node:stream';
import { pino } from 'pino';
import type { BenchRow, BenchSuite } from './harness.ts';
import { connect } from '../src/connect.ts';
import { bulkUpload } from '../src/driver/bulk-upload.ts';
import type { SpuDriver } from '../src/driver/index.ts';
import { measureRawLink } from '../src/driver/transports/measure.ts';
import type { RawLinkFigures } from '../src/driver/transports/measure.ts';
import { openLink } from '../src/driver/transports/open-link.ts';
import { emulatorFactory } from '../src/emulator/index.ts';
import { createBenchDevice } from '../src/emulator/transports/loopback.ts';
import { startPty } from '../src/emulator/transports/pty.ts';
import { serveTcp } from '../src/emulator/transports/tcp-server.ts';
import { maxChunkBytes, tensorFromFloat64 } from '../src/protocol/index.ts';

const median = (xs: number[]): number => [...xs].sort((a, b) => a - b)[Math.floor(xs.length / 2)];

interface Transport {
  name: string;
  /** raw link to the frame-level bench device */
  raw(): Promise<{ figures: RawLinkFigures }>;
  /** driver on an emulator with the given frame limit */
  driver(maxFrameBytes: number): Promise<{ dev: SpuDriver; done: () => Promise<void> }>;
}

const DRIVER = { heartbeatIntervalMs: 0, timeoutMs: 10_000 };

function transports(bulkBytes: number, rttSamples: number): Transport[] {
  const measure = async (open: () => Promise<{ stream: Duplex; close: () => Promise<void> }>) => {
    const l = await open();
    try {
      return { figures: await measureRawLink(l.stream, { rttSamples, bulkBytes }) };
    } finally {
      await l.close();
    }
  };
  const list: Transport[] = [
    {
      name: 'in-process',
      raw: () => measure(() => openLink('emu:bench', { emuFactory: createBenchDevice })),
      driver: async (max) => {
        const dev = await connect(`emu:?maxFrameBytes=${max}&maxCells=8192`, DRIVER);
        return { dev, done: async () => {} };
      },
    },
    {
      name: 'tcp loopback',
      raw: async () => {
        const srv = await serveTcp(createBenchDevice, { port: 0 });
        try {
          return await measure(() => openLink(srv.url));
        } finally {
          await srv.close();
        }
      },
      driver: async (max) => {
        const srv = await serveTcp(emulatorFactory({ maxFrameBytes: max, maxCells: 8192 }), { port: 0 });
        const dev = await connect(srv.url, DRIVER);
        return { dev, done: () => srv.close() };
      },
    },
  ];
  if (spawnSync('socat', ['-V']).status === 0)
    list.push({
      name: 'pty (socat)',
      raw: async () => {
        const pty = await startPty({ factory: createBenchDevice });
        try {
          return await measure(() => openLink(pty.path));
        } finally {
          await pty.close();
        }
      },
      driver: async (max) => {
        const pty = await startPty({ factory: emulatorFactory({ maxFrameBytes: max, maxCells: 8192 }) });
        const dev = await connect(pty.path, DRIVER);
        return { dev, done: () => pty.close() };
      },
    });
  return list;
}

async function heartbeatRttUs(dev: SpuDriver, n: number): Promise<number> {
  for (let i = 0; i < 20; i++) await dev.heartbeat();
  const t: number[] = [];
  for (let i = 0; i < n; i++) t.push((await dev.heartbeat()).rttMs * 1000);
  return median(t);
}

/** Transfer only: BulkBegin, windowed chunks, commit (the device verifies the CRC), abort. */
async function uploadMBps(dev: SpuDriver, bytes: number, reps: number): Promise<number> {
  const n = 4096;
  const r = bytes / 8 / n;
  const J = tensorFromFloat64(Float64Array.from({ length: r * n }, (_, i) => Math.sin(i)), [r, n], 'f64');
  const times: number[] = [];
  // the first upload warms the JIT on both ends and is not timed
  for (let k = -1; k < reps; k++) {
    const t0 = performance.now();
    const up = await bulkUpload(dev.channel, J, { deviceMaxFrameBytes: dev.capabilities.maxFrameBytes, maxInFlightBytes: dev.maxInFlightBytes, log: silentLog });
    if (k >= 0) times.push(performance.now() - t0);
    await dev.request('BulkAbort', { transferId: up.transferId });
  }
  return bytes / (median(times) / 1000) / 1e6;
}

const silentLog = pino({ level: 'silent' });

const suite: BenchSuite = {
  name: 'driver',
  async run({ quick }) {
    const bulkBytes = quick ? 1 << 20 : 4 << 20;
    const rttSamples = quick ? 200 : 1000;
    const reps = quick ? 2 : 3;
    const rows: BenchRow[] = [];
    const mib = `${bulkBytes >> 20} MiB`;
    for (const t of transports(bulkBytes, rttSamples)) {
      const raw = (await t.raw()).figures;
      for (const max of quick ? [4096] : [4096, 65535]) {
        const { dev, done } = await t.driver(max);
        try {
          if (max === 4096) {
            const rtt = await heartbeatRttUs(dev, rttSamples);
            rows.push({
              case: `heartbeat rtt, ${t.name}`,
              value: rtt,
              unit: 'µs (median)',
              baseline: raw.rttUs.median,
              ratio: rtt / raw.rttUs.median,
              note: `baseline: raw 16-byte frame + ack on the same transport; ratio lower is better; n=${rttSamples}`,
            });
          }
          const mbps = await uploadMBps(dev, bulkBytes, reps);
          const m = dev.metrics();
          rows.push({
            case: `bulk upload ${mib} J, ${t.name}, frames ${max} B`,
            value: mbps,
            unit: 'MB/s',
            baseline: raw.uploadMBps,
            ratio: mbps / raw.uploadMBps,
            chunkRttUs: Math.round((m.latency.BulkChunk?.medianMs ?? 0) * 1000),
            note: `baseline: one raw ${mib} frame until acked; ${Math.min(dev.capabilities.bulkWindow, Math.floor(dev.maxInFlightBytes / maxChunkBytes(max)))} chunks in flight; ratio higher is better`,
          });
        } finally {
          await dev.close();
          await done();
        }
      }
    }
    return rows;
  },
};

export default suite;
