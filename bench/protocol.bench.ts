// Wire protocol throughput: a 1 MiB tensor upload chunked as the protocol sends it (BulkChunk
// frames at two frame limits), the same for a real J of the shipped model (mlp:196-16-10, b = 16:
// zero-dense, 60 %+ zero bytes, the COBS worst case), CRC-32C native and portable, and a stream of
// small control frames, each against a plain Buffer copy of the same bytes measured in the same
// run. ratio = value / baseline (higher is better).
import { timeIt } from './harness.ts';
import type { BenchRow, BenchSuite } from './harness.ts';
import { FrameDecoder, nativeCrc32c, crc32c, crc32cPortable, encodeBulkChunkFrame, maxChunkBytes, planChunks, tensorFromFloat64, encodeFrame } from '../src/protocol/index.ts';
import { loadDataset } from '../src/host-loop/data/load.ts';
import { Batcher, gatherBatch } from '../src/host-loop/data/dataset.ts';
import { createModel } from '../src/host-loop/models/model.ts';
import type { Message } from '../src/protocol/index.ts';

const MiB = 1 << 20;
const READ_SIZE = 65536; // bytes per read() delivered by a serial/TCP stream

/** The frames a host sends for an upload, built as the driver builds them (encodeBulkChunkFrame). */
function encodeUpload(data: Uint8Array, chunkBytes: number): Buffer[] {
  return planChunks(data.length, chunkBytes).map((c) => encodeBulkChunkFrame({ transferId: 1, seq: c.seq, offset: c.offset, data: data.subarray(c.offset, c.offset + c.length) }, 1000 + c.seq));
}

/** J (r × N, f64 bytes) of mlp:196-16-10 on a batch of 16 shipped Fashion-MNIST images. */
function realJ(): Uint8Array {
  const { train } = loadDataset();
  const model = createModel('mlp:196-16-10');
  const params = model.init(1);
  const { x } = gatherBatch(train, new Batcher(train.n, 16, 1).next().idx);
  const J = model.outputJacobian(params, x, 16);
  return tensorFromFloat64(J, [J.length], 'f64').data;
}

function decodeUpload(wire: Buffer, maxFrameBytes: number, staging: Buffer): number {
  const dec = new FrameDecoder({ maxFrameBytes });
  let frames = 0;
  for (let i = 0; i < wire.length; i += READ_SIZE)
    for (const f of dec.push(wire.subarray(i, i + READ_SIZE))) {
      if (f.message.kind !== 'BulkChunkRequest') throw new Error('unexpected frame');
      staging.set(f.message.body.data, f.message.body.offset);
      // as the emulator's BulkChunk handler does: the frame's memory serves the next large frame
      dec.recycle(f.message.body.data);
      frames++;
    }
  return frames;
}

function copyInPieces(src: Buffer, dst: Buffer, piece: number): void {
  for (let i = 0; i < src.length; i += piece) src.copy(dst, i, i, Math.min(i + piece, src.length));
}

const CONTROL: Message[] = [
  { kind: 'HeartbeatRequest', body: { nonce: 7 } },
  { kind: 'StatusRequest', body: {} },
  { kind: 'RunRequest', body: { durationTau: 50, start: 'carry', delayTau: 0 } },
  { kind: 'RunReply', body: { runId: 12, analogTimeTau: 50, sampleCount: 100, flags: [] } },
  { kind: 'HeartbeatReply', body: { nonce: 7, uptimeMs: 123456, state: 'READY' } },
  { kind: 'ResultsRequest', body: { vectors: 'none', dtype: 'f64' } },
];

const suite: BenchSuite = {
  name: 'protocol',
  async run({ quick }) {
    const reps = quick ? 9 : 25;
    const rows: BenchRow[] = [];
    const values = Float64Array.from({ length: MiB / 8 }, (_, i) => Math.sin(i * 0.001) * 3);
    const tensor = tensorFromFloat64(values, [values.length], 'f64');
    const data = tensor.data;
    const jBytes = realJ();

    const cases = [
      { name: '1 MiB sine', data, limit: 4096 },
      { name: '1 MiB sine', data, limit: 65535 },
      { name: `real J ${(jBytes.length / 1e6).toFixed(2)} MB`, data: jBytes, limit: 65535 },
    ];
    for (const { name, data, limit } of cases) {
      const mb = data.length / 1e6;
      const chunk = maxChunkBytes(limit);
      const frames = encodeUpload(data, chunk);
      const wire = Buffer.concat(frames);
      const staging = Buffer.alloc(data.length);
      const copyDst = Buffer.alloc(wire.length);
      const tCopy = timeIt(() => copyInPieces(wire, copyDst, READ_SIZE), reps * 4, 2);
      const tEnc = timeIt(() => void encodeUpload(data, chunk), reps, 3);
      const tDec = timeIt(() => void decodeUpload(wire, limit, staging), reps, 3);
      if (!staging.equals(Buffer.from(data)) || crc32c(staging) !== crc32c(data)) throw new Error('reassembly mismatch');
      const base = mb / tCopy;
      let zeros = 0;
      for (const b of data) if (b === 0) zeros++;
      const common = { frames: frames.length, wireBytes: wire.length, overheadPct: (wire.length / data.length - 1) * 100, zeroBytesPct: (100 * zeros) / data.length };
      rows.push({ case: `${name} upload encode, ${limit} B frames`, value: mb / tEnc, unit: 'MB/s', baseline: base, ratio: mb / tEnc / base, ...common, note: 'baseline: Buffer copy of the wire bytes in 64 KiB pieces' });
      rows.push({ case: `${name} upload decode, ${limit} B frames`, value: mb / tDec, unit: 'MB/s', baseline: base, ratio: mb / tDec / base, ...common, note: 'decode = COBS + CRC + msgpack + zod + reassembly' });
      rows.push({ case: `${name} upload encode+decode, ${limit} B frames`, value: mb / (tEnc + tDec), unit: 'MB/s', baseline: base, ratio: mb / (tEnc + tDec) / base, ...common });
    }
    const mb = data.length / 1e6;

    const tCrc = timeIt(() => void crc32c(data), reps * 4, 2);
    const crcDst = Buffer.alloc(data.length);
    const tCrcCopy = timeIt(() => void Buffer.from(data.buffer, data.byteOffset, data.byteLength).copy(crcDst), reps * 4, 2);
    const tCrcJs = timeIt(() => void crc32cPortable(data), reps * 4, 2);
    rows.push({ case: `CRC-32C (${nativeCrc32c() ? 'native @node-rs/crc32' : 'portable JS: no native binary'}) over 1 MiB`, value: mb / tCrc, unit: 'MB/s', baseline: mb / tCrcCopy, ratio: tCrcCopy / tCrc, note: 'baseline: one 1 MiB Buffer copy' });
    rows.push({ case: 'CRC-32C (portable JS, slicing-by-8) over 1 MiB', value: mb / tCrcJs, unit: 'MB/s', baseline: mb / tCrcCopy, ratio: tCrcCopy / tCrcJs, note: 'the fallback when the native binary is missing' });

    const nCtl = quick ? 20_000 : 100_000;
    const msgs = Array.from({ length: nCtl }, (_, i) => CONTROL[i % CONTROL.length]);
    const encodeCtl = () => msgs.map((m, i) => encodeFrame(m, i));
    const ctlFrames = encodeCtl();
    const ctlWire = Buffer.concat(ctlFrames);
    const ctlDst = Buffer.alloc(ctlWire.length);
    const tCtlCopy = timeIt(() => {
      let o = 0;
      for (const f of ctlFrames) o += f.copy(ctlDst, o);
    }, reps, 1);
    const tCtlEnc = timeIt(() => void encodeCtl(), reps, 1);
    let ctlOk = 0;
    const tCtlDec = timeIt(() => {
      const dec = new FrameDecoder();
      ctlOk = 0;
      for (let i = 0; i < ctlWire.length; i += 4095) ctlOk += dec.push(ctlWire.subarray(i, i + 4095)).length;
    }, reps, 1);
    if (ctlOk !== nCtl) throw new Error(`decoded ${ctlOk} of ${nCtl} control frames`);
    const ctlBase = nCtl / tCtlCopy;
    const avg = ctlWire.length / nCtl;
    rows.push({ case: 'control frames encode', value: nCtl / tCtlEnc, unit: 'frames/s', baseline: ctlBase, ratio: nCtl / tCtlEnc / ctlBase, avgFrameBytes: avg, note: 'baseline: per-frame Buffer copy of the same bytes' });
    rows.push({ case: 'control frames decode', value: nCtl / tCtlDec, unit: 'frames/s', baseline: ctlBase, ratio: nCtl / tCtlDec / ctlBase, avgFrameBytes: avg, note: 'stream delivered in 4095-byte reads (pty chunk size)' });
    return rows;
  },
};

export default suite;
