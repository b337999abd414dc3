// Driver overhead per transport: Heartbeat round trip and bulk upload throughput of a J tensor
// through the full stack (driver → codec → transport → emulated firmware), each against the
// raw-bytes baseline on the same transport measured in the same run (the frame-level bench
// device: a 16-byte frame and its 1-byte ack; one bulk frame until acked). The in-process message
// link (no bytes at all) is measured against a Buffer copy of the same bytes; TCP and pty also with
// the emulator in another process (`tngd emulate`), as hardware is, against raw bytes to the bench
// device in another process too (bench/bench-device-process.ts).
// On a shared machine timings drift by factors within seconds, so the upload rows alternate
// baseline and upload rep by rep and compare medians, after a warm-up of both (steady state). The in-process message rows also give the
// ratio of CPU time (process.cpuUsage; one thread does all the work there), which a busy machine
// disturbs far less than wall time. Last, the peak RSS of an N = 1e5, r = 640 upload
// (bench/upload-memory-probe.ts), and the page faults of an emulator process per upload with and
// without its glibc heap tuning.
import { spawn, spawnSync } from 'node:child_process';
import { readFileSync } from 'node:fs';
import type { ChildProcess } from 'node:child_process';
import { createInterface } from 'node:readline';
import type { Duplex } from 'node:stream';
import { pino } from 'pino';
import type { BenchRow, BenchSuite } from './harness.ts';
import { connect } from '../src/connect.ts';
import { bulkUpload } from '../src/driver/bulk-upload.ts';
import type { SpuDriver } from '../src/driver/index.ts';
import { measureRawLink, rawUploader } from '../src/driver/transports/measure.ts';
import { openLink } from '../src/driver/transports/open-link.ts';
import { emulatorFactory } from '../src/emulator/index.ts';
import { createBenchDevice } from '../src/emulator/transports/loopback.ts';
import { startPty } from '../src/emulator/transports/pty.ts';
import { serveTcp } from '../src/emulator/transports/tcp-server.ts';
import { maxChunkBytes, tensorFromFloat64 } from '../src/protocol/index.ts';

const median = (xs: number[]): number => [...xs].sort((a, b) => a - b)[Math.floor(xs.length / 2)];
const cpuMs = (): number => {
  const u = process.cpuUsage();
  return (u.user + u.system) / 1000;
};

interface RawLink {
  stream: Duplex;
  close: () => Promise<void>;
}

interface Transport {
  name: string;
  /** a link to the bench device (raw baseline); null: the baseline is a Buffer copy */
  raw: (() => Promise<RawLink>) | null;
  /** driver on an emulator with the given frame limit */
  driver(maxFrameBytes: number): Promise<{ dev: SpuDriver; done: () => Promise<void> }>;
}

const DRIVER = { heartbeatIntervalMs: 0, timeoutMs: 10_000 };

/** `node ARGS` in a child process; resolves with the first line it prints (an address). */
async function childServing(args: string[], what: string, env: NodeJS.ProcessEnv = process.env): Promise<{ address: string; pid: number; stop: () => Promise<void> }> {
  const child: ChildProcess = spawn(process.execPath, args, { stdio: ['pipe', 'pipe', 'ignore'], env });
  const address = await new Promise<string>((resolve, reject) => {
    const rl = createInterface({ input: child.stdout! });
    rl.once('line', (l) => resolve(l.trim()));
    child.once('exit', (c) => reject(new Error(`${what} exited (${c})`)));
  });
  return {
    address,
    pid: child.pid!,
    stop: () =>
      new Promise<void>((resolve) => {
        if (child.exitCode !== null) return resolve();
        child.once('exit', () => resolve());
        child.kill('SIGINT');
      }),
  };
}

const emulatorProcess = (args: string[], env?: NodeJS.ProcessEnv) => childServing(['bin/tngd.js', 'emulate', ...args], `tngd emulate ${args.join(' ')}`, env);
const benchDeviceProcess = (kind: 'tcp' | 'pty') => childServing(['--import', 'tsx', 'bench/bench-device-process.ts', kind], `bench device (${kind})`);

async function rawVia(open: () => Promise<{ address: string; stop: () => Promise<void> }>): Promise<RawLink> {
  const p = await open();
  const l = await openLink(p.address);
  return {
    stream: l.stream,
    close: async () => {
      await l.close();
      await p.stop();
    },
  };
}

/** TNGD_BENCH_LINKS=tcp,pty keeps the transports whose names contain one of the words (all by default). */
function wanted(t: Transport): boolean {
  const words = (process.env.TNGD_BENCH_LINKS ?? '').split(',').filter(Boolean);
  return words.length === 0 || words.some((w) => t.name.includes(w));
}

function transports(): Transport[] {
  const hasSocat = spawnSync('socat', ['-V']).status === 0;
  const list: Transport[] = [
    {
      name: 'in-process messages',
      raw: null,
      driver: async (max) => ({ dev: await connect(`emu:?maxFrameBytes=${max}&maxCells=8192`, DRIVER), done: async () => {} }),
    },
    {
      name: 'in-process bytes',
      raw: async () => {
        const l = await openLink('emu:bench', { emuFactory: createBenchDevice });
        return { stream: l.stream, close: () => l.close() };
      },
      driver: async (max) => ({ dev: await connect(`emu:?maxFrameBytes=${max}&maxCells=8192&link=bytes`, DRIVER), done: async () => {} }),
    },
    {
      name: 'tcp loopback',
      raw: async () => {
        const srv = await serveTcp(createBenchDevice, { port: 0 });
        const l = await openLink(srv.url);
        return {
          stream: l.stream,
          close: async () => {
            await l.close();
            await srv.close();
          },
        };
      },
      driver: async (max) => {
        const srv = await serveTcp(emulatorFactory({ maxFrameBytes: max, maxCells: 8192 }), { port: 0 });
        return { dev: await connect(srv.url, DRIVER), done: () => srv.close() };
      },
    },
    {
      name: 'tcp loopback, emulator process',
      raw: () => rawVia(() => benchDeviceProcess('tcp')),
      driver: async (max) => {
        const emu = await emulatorProcess(['--tcp', '0', '--max-frame-bytes', String(max), '--max-cells', '8192']);
        return { dev: await connect(emu.address, DRIVER), done: emu.stop };
      },
    },
  ];
  if (hasSocat)
    list.push(
      {
        name: 'pty (socat)',
        raw: async () => {
          const pty = await startPty({ factory: createBenchDevice });
          const l = await openLink(pty.path);
          return {
            stream: l.stream,
            close: async () => {
              await l.close();
              await pty.close();
            },
          };
        },
        driver: async (max) => {
          const pty = await startPty({ factory: emulatorFactory({ maxFrameBytes: max, maxCells: 8192 }) });
          return { dev: await connect(pty.path, DRIVER), done: () => pty.close() };
        },
      },
      {
        name: 'pty (socat), emulator process',
        raw: () => rawVia(() => benchDeviceProcess('pty')),
        driver: async (max) => {
          const emu = await emulatorProcess(['--pty', '--max-frame-bytes', String(max), '--max-cells', '8192']);
          return { dev: await connect(emu.address, DRIVER), done: emu.stop };
        },
      },
    );
  return list;
}

/** One Buffer copy of `bytes` (the message link's baseline): wall and CPU ms, a few copies per sample. */
function bufferCopier(bytes: number): () => { ms: number; cpu: number } {
  const src = Buffer.alloc(bytes, 1);
  const dst = Buffer.alloc(bytes);
  return () => {
    const k = 8;
    const c0 = cpuMs();
    const t0 = performance.now();
    for (let i = 0; i < k; i++) src.copy(dst);
    return { ms: (performance.now() - t0) / k, cpu: (cpuMs() - c0) / k };
  };
}

async function heartbeatRttUs(dev: SpuDriver, n: number): Promise<number> {
  for (let i = 0; i < 20; i++) await dev.heartbeat();
  const t: number[] = [];
  for (let i = 0; i < n; i++) t.push((await dev.heartbeat()).rttMs * 1000);
  return median(t);
}

function sineJ(bytes: number, scale = 1): { n: number; r: number; J: Float64Array } {
  const n = 4096;
  const r = bytes / 8 / n;
  return { n, r, J: Float64Array.from({ length: r * n }, (_, i) => Math.sin(i) * scale) };
}

/** Transfer only: BulkBegin, windowed chunks, commit (the device verifies the CRC); then abort. */
function bulkUploader(dev: SpuDriver, bytes: number): () => Promise<{ ms: number; cpu: number }> {
  const { n, r, J } = sineJ(bytes);
  const t = tensorFromFloat64(J, [r, n], 'f64');
  return async () => {
    const c0 = cpuMs();
    const t0 = performance.now();
    const up = await bulkUpload(dev.channel, t, { deviceMaxFrameBytes: dev.capabilities.maxFrameBytes, maxInFlightBytes: dev.maxInFlightBytes, log: silentLog });
    const out = { ms: performance.now() - t0, cpu: cpuMs() - c0 };
    await dev.request('BulkAbort', { transferId: up.transferId });
    return out;
  };
}

/** The whole uploadCurvature of a factored J (f64, handed over): what a training step pays. */
async function curvatureUploader(dev: SpuDriver, bytes: number): Promise<() => Promise<{ ms: number; cpu: number }>> {
  const { n, r, J } = sineJ(bytes, 0.1);
  await dev.configure({ kappa0: 0.01, integrator: { kind: 'exact' }, samplePeriodTau: 0.1, burnInTau: 0 });
  return async () => {
    const c0 = cpuMs();
    const t0 = performance.now();
    await dev.uploadCurvature({ form: 'factored', n, r, J, core: { kind: 'identity' }, scale: 1, lambda: 0.1 }, { transfer: true });
    return { ms: performance.now() - t0, cpu: cpuMs() - c0 };
  };
}

/**
 * Runs baseline and measured alternately for `warmMs` (steady state: an emulator process needs
 * ~100 MB of uploads before V8 has optimised its receive path and sized its heap, and a training
 * run pays that once), then rep by rep and keeps those.
 */
async function alternate<B, M>(reps: number, base: () => Promise<B> | B, measured: () => Promise<M>, warmMs: number): Promise<{ base: B[]; measured: M[] }> {
  const b: B[] = [];
  const m: M[] = [];
  for (const until = performance.now() + warmMs; performance.now() < until; ) {
    await base();
    await measured();
  }
  for (let k = 0; k < reps; k++) {
    b.push(await base());
    m.push(await measured());
  }
  return { base: b, measured: m };
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

/** Minor page faults of a process so far (Linux /proc), or NaN. */
function minorFaults(pid: number): number {
  try {
    return Number(readFileSync(`/proc/${pid}/stat`, 'utf8').split(') ')[1].split(' ')[7]);
  } catch {
    return Number.NaN;
  }
}

/**
 * Minor page faults of a `tngd emulate --tcp` process per 4 MiB upload (transfer, then abort),
 * after 2 s of uploads, with its glibc heap tuning (heap-trim.ts) and with TNGD_KEEP_FREED_HEAP=0.
 */
async function deviceFaultRows(): Promise<BenchRow[]> {
  const perUpload = async (keep: boolean): Promise<number> => {
    const emu = await emulatorProcess(['--tcp', '0', '--max-frame-bytes', '65535', '--max-cells', '8192'], { ...process.env, TNGD_KEEP_FREED_HEAP: keep ? '1' : '0' });
    const dev = await connect(emu.address, DRIVER);
    try {
      const up = bulkUploader(dev, 4 << 20);
      for (const until = performance.now() + 2000; performance.now() < until; ) await up();
      const before = minorFaults(emu.pid);
      const n = 20;
      for (let k = 0; k < n; k++) await up();
      return (minorFaults(emu.pid) - before) / n;
    } finally {
      await dev.close();
      await emu.stop();
    }
  };
  const off = await perUpload(false);
  const on = await perUpload(true);
  return [
    {
      case: 'emulator process minor page faults per 4 MiB TCP upload (glibc heap tuning on)',
      value: on,
      unit: 'faults',
      baseline: off,
      ratio: on / off,
      note: 'baseline: the same with TNGD_KEEP_FREED_HEAP=0 (4 MiB = 1 024 pages); ratio lower is better; after 2 s of uploads, 20 measured',
    },
  ];
}

const suite: BenchSuite = {
  name: 'driver',
  async run({ quick }) {
    const bulkBytes = quick ? 1 << 20 : 4 << 20;
    const rttSamples = quick ? 200 : 1000;
    const reps = quick ? 5 : 9;
    const warmMs = quick ? 1000 : 3000;
    const rows: BenchRow[] = [];
    const mib = `${bulkBytes >> 20} MiB`;
    for (const t of transports().filter(wanted)) {
      const raw = t.raw ? await t.raw() : null;
      try {
        // round trip first, then an uploader whose byte count starts after it
        const rtt = raw ? await measureRawLink(raw.stream, { rttSamples, bulkBytes: 1 << 16 }) : null;
        const rawUpload = raw ? rawUploader(raw.stream, bulkBytes) : null;
        const copy = bufferCopier(bulkBytes);
        for (const max of quick ? [65535] : [4096, 65535]) {
          const { dev, done } = await t.driver(max);
          try {
            if (max === 65535 && rtt) {
              const us = await heartbeatRttUs(dev, rttSamples);
              rows.push({
                case: `heartbeat rtt, ${t.name}`,
                value: us,
                unit: 'µs (median)',
                baseline: rtt.rttUs.median,
                ratio: us / rtt.rttUs.median,
                note: `baseline: raw 16-byte frame + ack on the same transport; ratio lower is better; n=${rttSamples}`,
              });
            }
            const up = bulkUploader(dev, bulkBytes);
            const window = Math.min(dev.capabilities.bulkWindow, Math.floor(dev.maxInFlightBytes / maxChunkBytes(max)));
            if (rawUpload) {
              const a = await alternate(reps, rawUpload, up, warmMs);
              const mbps = bulkBytes / (median(a.measured.map((x) => x.ms)) / 1000) / 1e6;
              const base = median(a.base);
              rows.push({
                case: `bulk upload ${mib} J, ${t.name}, frames ${max} B`,
                value: mbps,
                unit: 'MB/s',
                baseline: base,
                ratio: mbps / base,
                chunkRttUs: Math.round((dev.metrics().latency.BulkChunk?.medianMs ?? 0) * 1000),
                note: `baseline: one raw ${mib} frame until acked (alternating with the uploads after ${warmMs / 1000} s of both, medians of ${reps}); ≤ ${window} chunks in flight; ratio higher is better`,
              });
            } else {
              const a = await alternate(reps, copy, up, warmMs);
              rows.push(copyRow(`bulk upload ${mib} J, ${t.name}, frames ${max} B`, bulkBytes, a, `≤ ${window} chunks in flight; transfer only (BulkBegin, chunks, BulkCommit with the device's CRC)`));
              if (max === 65535) {
                const a2 = await alternate(reps, copy, await curvatureUploader(dev, bulkBytes), warmMs);
                rows.push(
                  copyRow(
                    `curvature upload ${mib} J (uploadCurvature, all checks), ${t.name}`,
                    bulkBytes,
                    a2,
                    "includes host and device finiteness checks, the CRC on each side, staging, the core's adoption of J (pair-interleaved in place)",
                  ),
                );
              }
            }
          } finally {
            await dev.close();
            await done();
          }
        }
      } finally {
        await raw?.close();
      }
    }
    if (!quick && wanted({ name: 'in-process messages' } as Transport)) rows.push(...uploadMemory());
    if (!quick && process.platform === 'linux' && wanted({ name: 'tcp loopback, emulator process' } as Transport)) rows.push(...(await deviceFaultRows()));
    return rows;
  },
};

/** A row against a Buffer copy of the same bytes: wall-time ratio, and CPU-time ratio beside it. */
function copyRow(name: string, bytes: number, a: { base: { ms: number; cpu: number }[]; measured: { ms: number; cpu: number }[] }, what: string): BenchRow {
  const mbps = bytes / (median(a.measured.map((x) => x.ms)) / 1000) / 1e6;
  const base = bytes / (median(a.base.map((x) => x.ms)) / 1000) / 1e6;
  const cpuRatio = median(a.base.map((x) => x.cpu)) / median(a.measured.map((x) => x.cpu));
  return {
    case: name,
    value: mbps,
    unit: 'MB/s',
    baseline: base,
    ratio: mbps / base,
    cpuRatio,
    note: `baseline: a Buffer copy of the same bytes (alternating with the uploads after a warm-up of both, medians); cpuRatio: the same in CPU time; ${what}; ratio higher is better`,
  };
}

export default suite;
