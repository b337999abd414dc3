// Driver overhead per transport: Heartbeat round trip and bulk upload throughput of a J tensor
// through the full stack (driver → codec → transport → emulated firmware), each against the
// raw-bytes baseline on the same transport measured in the same run (measureRawLink with the
// frame-level bench device: a 16-byte frame and its 1-byte ack; one bulk frame until acked).
// The in-process message link (no bytes at all) is measured against a Buffer copy of the same
// bytes; TCP and pty also with the emulator in another process (`tngd emulate`), as hardware is.
// Last, the peak RSS of an N = 1e5, r = 640 upload (bench/upload-memory-probe.ts).
import { spawn, spawnSync } from 'node:child_process';
import type { ChildProcess } from 'node:child_process';
import { createInterface } from 'node:readline';
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

/** `tngd emulate ARGS` in a child process; resolves with the address it prints. */
async function emulatorProcess(args: string[]): Promise<{ address: string; stop: () => Promise<void> }> {
  const child: ChildProcess = spawn(process.execPath, ['bin/tngd.js', 'emulate', ...args], { stdio: ['pipe', 'pipe', 'ignore'] });
  const address = await new Promise<string>((resolve, reject) => {
    const rl = createInterface({ input: child.stdout! });
    rl.once('line', (l) => resolve(l.trim()));
    child.once('exit', (c) => reject(new Error(`tngd emulate ${args.join(' ')} exited (${c})`)));
  });
  return {
    address,
    stop: () =>
      new Promise<void>((resolve) => {
        if (child.exitCode !== null) return resolve();
        child.once('exit', () => resolve());
        child.kill('SIGINT');
      }),
  };
}

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
      name: 'in-process messages',
      raw: async () => ({ figures: bufferCopyFigures(bulkBytes) }),
      driver: async (max) => {
        const dev = await connect(`emu:?maxFrameBytes=${max}&maxCells=8192`, DRIVER);
        return { dev, done: async () => {} };
      },
    },
    {
      name: 'in-process bytes',
      raw: () => measure(() => openLink('emu:bench', { emuFactory: createBenchDevice })),
      driver: async (max) => {
        const dev = await connect(`emu:?maxFrameBytes=${max}&maxCells=8192&link=bytes`, DRIVER);
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
    {
      name: 'tcp loopback, emulator process',
      raw: async () => {
        const srv = await serveTcp(createBenchDevice, { port: 0 });
        try {
          return await measure(() => openLink(srv.url));
        } finally {
          await srv.close();
        }
      },
      driver: async (max) => {
        const emu = await emulatorProcess(['--tcp', '0', '--max-frame-bytes', String(max), '--max-cells', '8192']);
        const dev = await connect(emu.address, DRIVER);
        return { dev, done: emu.stop };
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
  if (spawnSync('socat', ['-V']).status === 0)
    list.push({
      name: 'pty (socat), emulator process',
      raw: async () => {
        const pty = await startPty({ factory: createBenchDevice });
        try {
          return await measure(() => openLink(pty.path));
        } finally {
          await pty.close();
        }
      },
      driver: async (max) => {
        const emu = await emulatorProcess(['--pty', '--max-frame-bytes', String(max), '--max-cells', '8192']);
        const dev = await connect(emu.address, DRIVER);
        return { dev, done: emu.stop };
      },
    });
  return list;
}

/** The in-process message link's baseline: copying the same bytes once (Buffer.copy), MB/s. */
function bufferCopyFigures(bytes: number): RawLinkFigures {
  const src = Buffer.alloc(bytes, 1);
  const dst = Buffer.alloc(bytes);
  const t: number[] = [];
  for (let k = 0; k < 21; k++) {
    const t0 = performance.now();
    src.copy(dst);
    t.push(performance.now() - t0);
  }
  const mbps = bytes / (median(t) / 1000) / 1e6;
  return { rttUs: { median: NaN, p10: NaN, p90: NaN, samples: 0 }, uploadMBps: mbps, downloadMBps: mbps, bulkBytes: bytes };
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

/** The whole uploadCurvature of a factored J (f64, handed over): what a training step pays. */
async function curvatureUploadMBps(dev: SpuDriver, bytes: number, reps: number): Promise<number> {
  const n = 4096;
  const r = bytes / 8 / n;
  await dev.configure({ kappa0: 0.01, integrator: { kind: 'exact' }, samplePeriodTau: 0.1, burnInTau: 0 });
  const J = Float64Array.from({ length: r * n }, (_, i) => Math.sin(i) * 0.1);
  const times: number[] = [];
  for (let k = -1; k < reps * 3; k++) {
    const t0 = performance.now();
    await dev.uploadCurvature({ form: 'factored', n, r, J, core: { kind: 'identity' }, scale: 1, lambda: 0.1 }, { transfer: true });
    if (k >= 0) times.push(performance.now() - t0);
  }
  return bytes / (median(times) / 1000) / 1e6;
}

/** Peak RSS of one N = 1e5, r = 640 upload (J = 512 MB) over the in-process link, in its own process. */
function uploadMemory(): BenchRow[] {
  const r = spawnSync(process.execPath, ['--import', 'tsx', 'bench/upload-memory-probe.ts', '100000', '640', 'messages', 'transfer'], { encoding: 'utf8', timeout: 600_000 });
  if (r.status !== 0) return [{ case: 'peak RSS, J upload N=1e5 r=640', value: NaN, unit: '× J', note: `probe failed: ${r.stderr.slice(0, 200)}` }];
  const m = JSON.parse(r.stdout.trim().split('\n').pop()!) as { jBytes: number; rssBefore: number; peakRss: number; seconds: number };
  return [
    {
      case: 'peak RSS of a J upload, N=1e5 r=640 (J 512 MB), in-process messages',
      value: m.peakRss / m.jBytes,
      unit: '× J',
      baseline: 2.5,
      ratio: m.peakRss / m.jBytes / 2.5,
      peakMB: Math.round(m.peakRss / 1e6),
      beforeMB: Math.round(m.rssBefore / 1e6),
      uploadS: m.seconds,
      note: 'baseline: the issue target 2.5 × J (ratio ≤ 1 meets it); whole-process peak (getrusage maxrss)',
    },
  ];
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
      for (const max of quick ? [65535] : [4096, 65535]) {
        const { dev, done } = await t.driver(max);
        try {
          if (max === 65535 && Number.isFinite(raw.rttUs.median)) {
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
            note: `baseline: ${t.name.startsWith('in-process messages') ? `a Buffer copy of ${mib}` : `one raw ${mib} frame until acked`}; ≤ ${Math.min(dev.capabilities.bulkWindow, Math.floor(dev.maxInFlightBytes / maxChunkBytes(max)))} chunks in flight; ratio higher is better`,
          });
          if (t.name === 'in-process messages' && max === 65535) {
            const full = await curvatureUploadMBps(dev, bulkBytes, reps);
            rows.push({
              case: `curvature upload ${mib} J (uploadCurvature, all checks), ${t.name}`,
              value: full,
              unit: 'MB/s',
              baseline: raw.uploadMBps,
              ratio: full / raw.uploadMBps,
              note: `baseline: a Buffer copy of ${mib}; includes host/device finiteness checks, 2 CRC passes, staging, the core's load`,
            });
          }
        } finally {
          await dev.close();
          await done();
        }
      }
    }
    if (!quick) rows.push(...uploadMemory());
    return rows;
  },
};

export default suite;
