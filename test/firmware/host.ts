// A minimal host for firmware tests: speaks protocol v1 at the message level over a device Duplex
// with the production codec (encodeFrame / FrameDecoder). Deliberately not the driver: these
// tests pin the device's behaviour on the wire.
import type { Duplex } from 'node:stream';
import {
  FrameDecoder,
  PROTOCOL_VERSION,
  SCHEMA_FINGERPRINT,
  crc32c,
  encodeFrame,
  planChunks,
  tensorFromFloat64,
} from '../../src/protocol/index.ts';
import type { DecodedFrame, Dtype, ErrorMessage, Message, OpName, ReplyBody, RequestBody, WireTensor } from '../../src/protocol/index.ts';

export type Answer<K extends OpName> = { ok: true; body: ReplyBody<K>; frame: DecodedFrame } | { ok: false; error: ErrorMessage; code: number; frame: DecodedFrame };

export class TestHost {
  readonly decoder = new FrameDecoder({ maxFrameBytes: 65535 });
  readonly frames: DecodedFrame[] = [];
  /** raw bytes received, for bit-exact comparisons */
  readonly raw: Buffer[] = [];
  private nextId = 1;
  private waiters: { id: number; resolve: (f: DecodedFrame) => void; reject: (e: Error) => void; timer: NodeJS.Timeout }[] = [];
  /** how outgoing frames are cut before writing (default: whole) */
  split: (frame: Buffer) => Buffer[] = (f) => [f];

  constructor(readonly device: Duplex) {
    device.on('data', (c: Buffer) => {
      this.raw.push(c);
      for (const f of this.decoder.push(c)) {
        this.frames.push(f);
        if (f.message.kind === 'SampleBlockEvent') continue;
        const i = this.waiters.findIndex((w) => w.id === f.header.requestId);
        if (i >= 0) {
          const [w] = this.waiters.splice(i, 1);
          clearTimeout(w.timer);
          w.resolve(f);
        }
      }
    });
    device.on('error', () => {});
  }

  allocId(): number {
    return this.nextId++;
  }

  writeRaw(b: Buffer): void {
    this.device.write(b);
  }

  /** Writes a hand-made frame and waits for the answer carrying `id` (registered before writing). */
  rawRequest(frame: Buffer, id: number): Promise<DecodedFrame> {
    const p = this.waitFor(id);
    this.device.write(frame);
    return p;
  }

  /** Waits for the reply or error carrying request id `id`. */
  waitFor(id: number, ms = 10_000): Promise<DecodedFrame> {
    return new Promise((resolve, reject) => {
      const timer = setTimeout(() => {
        this.waiters = this.waiters.filter((w) => w.id !== id);
        reject(new Error(`no answer to request ${id} within ${ms} ms`));
      }, ms);
      this.waiters.push({ id, resolve, reject, timer });
    });
  }

  send<K extends OpName>(op: K, body: RequestBody<K>, id = this.allocId()): { id: number; answer: Promise<Answer<K>> } {
    const frame = encodeFrame({ kind: `${op}Request`, body } as Message, id);
    const answer = this.waitFor(id).then((f): Answer<K> => {
      if (f.message.kind === 'Error') return { ok: false, error: f.message, code: f.message.body.code, frame: f };
      if (f.message.kind !== `${op}Reply`) throw new Error(`request ${id} (${op}) answered by ${f.message.kind}`);
      return { ok: true, body: f.message.body as ReplyBody<K>, frame: f };
    });
    for (const part of this.split(frame)) this.device.write(part);
    return { id, answer };
  }

  request<K extends OpName>(op: K, body: RequestBody<K>): Promise<Answer<K>> {
    return this.send(op, body).answer;
  }

  /** Like request, but throws on an Error reply. */
  async ok<K extends OpName>(op: K, body: RequestBody<K>): Promise<ReplyBody<K>> {
    const a = await this.request(op, body);
    if (!a.ok) throw new Error(`${op} failed: ${a.error.body.message}`);
    return a.body;
  }

  /** Error code of a request that must fail. */
  async code<K extends OpName>(op: K, body: RequestBody<K>): Promise<number> {
    const a = await this.request(op, body);
    if (a.ok) throw new Error(`${op} unexpectedly succeeded: ${JSON.stringify(a.body)}`);
    return a.code;
  }

  hello(maxFrameBytes = 65535): Promise<ReplyBody<'Hello'>> {
    return this.ok('Hello', { major: PROTOCOL_VERSION.major, minor: PROTOCOL_VERSION.minor, host: 'firmware-test', maxFrameBytes, schemaFingerprint: SCHEMA_FINGERPRINT });
  }

  /** Uploads a tensor by BulkBegin/Chunk/Commit (all chunks in one window); returns the transferId. */
  async bulk(values: ArrayLike<number>, shape: number[], dtype: Dtype = 'f64', opts: { corruptCrc?: boolean; stopAfterChunks?: number } = {}): Promise<number> {
    const t = tensorFromFloat64(values, shape, dtype);
    const begin: RequestBody<'BulkBegin'> = { dtype, shape, totalBytes: t.data.length, crc32c: (crc32c(t.data) ^ (opts.corruptCrc ? 1 : 0)) >>> 0 };
    if (t.scale !== undefined) begin.scale = t.scale;
    const b = await this.ok('BulkBegin', begin);
    const plan = planChunks(t.data.length, b.chunkBytes).slice(0, opts.stopAfterChunks);
    for (let i = 0; i < plan.length; i += b.window) {
      const batch = plan.slice(i, i + b.window).map((c) => this.ok('BulkChunk', { transferId: b.transferId, seq: c.seq, offset: c.offset, data: t.data.subarray(c.offset, c.offset + c.length) }));
      await Promise.all(batch);
    }
    if (opts.stopAfterChunks === undefined) await this.ok('BulkCommit', { transferId: b.transferId });
    return b.transferId;
  }

  close(): void {
    for (const w of this.waiters) clearTimeout(w.timer);
    this.waiters = [];
    this.device.destroy();
  }
}

export const f64 = (values: ArrayLike<number>, shape: number[] = [values.length]): WireTensor => tensorFromFloat64(values, shape, 'f64');

export const CONFIG: RequestBody<'Configure'> = {
  kappa0: 0,
  readout: 'both',
  samplePeriodTau: 0.5,
  windowTau: 0,
  burnInTau: 0,
  integrator: { kind: 'euler', dtTau: 0.05 },
};
