// Raw-bytes baseline of a link: frame round-trip time and bulk throughput with no codec, no
// protocol, no driver. Driver benchmarks run the same exchanges through the full stack on the
// same transport and report the ratio. The far end must be the bench device
// (src/emulator/transports/loopback.ts: createBenchDevice): frames end in 0x00; a frame "D<n>"
// (ASCII decimal) is answered with n bytes + 0x00, any other frame with one 0x00.
import type { Duplex } from 'node:stream';

export interface RawLinkFigures {
  /** Round trip of a small frame (rttPayload bytes + delimiter) and its 1-byte acknowledgement. */
  rttUs: { median: number; p10: number; p90: number; samples: number };
  /** Host→device payload bytes per second (one frame of bulkBytes, until acknowledged), in MB/s (1e6). */
  uploadMBps: number;
  /** Device→host payload bytes per second (request of bulkBytes, until the last byte), in MB/s. */
  downloadMBps: number;
  bulkBytes: number;
}

export interface MeasureOptions {
  rttSamples?: number;
  rttPayload?: number;
  bulkBytes?: number;
  chunkBytes?: number;
  /** Per exchange; a stuck link fails the measurement instead of hanging it. */
  timeoutMs?: number;
}

/** Waits until `n` bytes have arrived on the stream (consuming exactly those exchanges' bytes). */
class Inbox {
  private got = 0;
  private want = 0;
  private wake: (() => void) | null = null;
  constructor(stream: Duplex) {
    stream.on('data', (b: Buffer) => {
      this.got += b.length;
      if (this.wake && this.got >= this.want) {
        const w = this.wake;
        this.wake = null;
        w();
      }
    });
  }
  expect(n: number, timeoutMs: number): Promise<void> {
    this.want += n;
    if (this.got >= this.want) return Promise.resolve();
    return new Promise((resolve, reject) => {
      const t = setTimeout(() => reject(new Error(`link measurement: ${this.want - this.got} bytes missing after ${timeoutMs} ms`)), timeoutMs);
      this.wake = () => {
        clearTimeout(t);
        resolve();
      };
    });
  }
}

function writeAll(stream: Duplex, data: Buffer, chunk: number): Promise<void> {
  return new Promise((resolve, reject) => {
    let i = 0;
    const done = (e?: Error): void => {
      stream.off('error', done);
      if (e) reject(e);
      else resolve();
    };
    const pump = (): void => {
      while (i < data.length) {
        const part = data.subarray(i, i + chunk);
        i += part.length;
        if (!stream.write(part)) {
          stream.once('drain', pump);
          return;
        }
      }
      done();
    };
    stream.once('error', done);
    pump();
  });
}

/**
 * Raw uploads only: each call sends one frame of `bytes` (written in `chunkBytes` pieces) and
 * resolves with its MB/s (1e6) once the bench device acknowledges it. For benchmarks that
 * interleave raw and protocol uploads on a busy machine, so both meet the same moments.
 */
export function rawUploader(stream: Duplex, bytes: number, opts: { chunkBytes?: number; timeoutMs?: number } = {}): () => Promise<number> {
  const { chunkBytes = 16384, timeoutMs = 10_000 } = opts;
  const inbox = new Inbox(stream);
  const bulk = Buffer.alloc(bytes + 1, 0x5a);
  bulk[bytes] = 0;
  return async () => {
    const t0 = performance.now();
    const acked = inbox.expect(1, timeoutMs);
    await writeAll(stream, bulk, chunkBytes);
    await acked;
    return bytes / ((performance.now() - t0) / 1000) / 1e6;
  };
}

const quantile = (sorted: number[], q: number): number => sorted[Math.min(sorted.length - 1, Math.floor(q * sorted.length))];

export async function measureRawLink(stream: Duplex, opts: MeasureOptions = {}): Promise<RawLinkFigures> {
  const { rttSamples = 200, rttPayload = 16, bulkBytes = 1 << 20, chunkBytes = 16384, timeoutMs = 10_000 } = opts;
  const inbox = new Inbox(stream);
  const frame = Buffer.alloc(rttPayload + 1, 0x5a);
  frame[rttPayload] = 0;
  const rtts: number[] = [];
  for (let i = 0; i < rttSamples + 5; i++) {
    const t0 = performance.now();
    stream.write(frame);
    await inbox.expect(1, timeoutMs);
    if (i >= 5) rtts.push((performance.now() - t0) * 1000); // first 5 warm the path up
  }
  rtts.sort((a, b) => a - b);

  const bulk = Buffer.alloc(bulkBytes + 1, 0x5a);
  bulk[bulkBytes] = 0;
  let t0 = performance.now();
  const acked = inbox.expect(1, timeoutMs);
  await writeAll(stream, bulk, chunkBytes);
  await acked;
  const uploadS = (performance.now() - t0) / 1000;

  const n = bulkBytes;
  const req = Buffer.from(`D${n}\0`, 'latin1');
  t0 = performance.now();
  const all = inbox.expect(n + 1, timeoutMs);
  stream.write(req);
  await all;
  const downloadS = (performance.now() - t0) / 1000;

  return {
    rttUs: { median: quantile(rtts, 0.5), p10: quantile(rtts, 0.1), p90: quantile(rtts, 0.9), samples: rtts.length },
    uploadMBps: bulkBytes / uploadS / 1e6,
    downloadMBps: n / downloadS / 1e6,
    bulkBytes,
  };
}
