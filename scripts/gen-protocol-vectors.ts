// Golden vectors for firmware authors: one canonical frame per message kind with its decoded
// message, and malformed frames with the fault each must produce. Written to
// firmware-spec/vectors/protocol/ by `npm run gen:protocol`; tests regenerate them in memory
// and fail when the checked-in copy is stale.
//
// JSON form of a message: MessagePack bin values (every field named "data" whose value is a
// string) are lowercase hex; everything else is the MessagePack value as JSON.
import { mkdirSync, readdirSync, rmSync, writeFileSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { fileURLToPath, pathToFileURL } from 'node:url';
import {
  CRC_BYTES,
  ErrorCode,
  FLAG_ERROR,
  FLAG_EVENT,
  FLAG_MORE,
  FLAG_REPLY,
  FLAG_RESERVED_MUST,
  FrameDecoder,
  HEADER_BYTES,
  MESSAGE_KINDS,
  PROTOCOL_MAJOR,
  PROTOCOL_VERSION,
  SCHEMA_FINGERPRINT,
  cobsDecode,
  encodeFrame,
  encodeMessage,
  encodeRawFrame,
  kindInfo,
  packPlain,
  tensorCrc32c,
  tensorFromFloat64,
} from '../src/protocol/index.ts';
import type { DecoderCounters, FEATURES, FaultKind, Message, MessageKind } from '../src/protocol/index.ts';

export const VECTOR_DIR = join(dirname(fileURLToPath(import.meta.url)), '..', 'firmware-spec', 'vectors', 'protocol');

/** Bins → hex strings, recursively (JSON form of a message body). */
export function toJsonForm(v: unknown): unknown {
  if (v instanceof Uint8Array) return Buffer.from(v.buffer, v.byteOffset, v.byteLength).toString('hex');
  if (Array.isArray(v)) return v.map(toJsonForm);
  if (v !== null && typeof v === 'object') {
    const out: Record<string, unknown> = {};
    for (const [k, x] of Object.entries(v)) if (x !== undefined) out[k] = toJsonForm(x);
    return out;
  }
  return v;
}

/** Inverse of toJsonForm: string values under the key "data" are hex bins. */
export function fromJsonForm(v: unknown, key = ''): unknown {
  if (key === 'data' && typeof v === 'string') return Buffer.from(v, 'hex');
  if (Array.isArray(v)) return v.map((x) => fromJsonForm(x));
  if (v !== null && typeof v === 'object') {
    const out: Record<string, unknown> = {};
    for (const [k, x] of Object.entries(v)) out[k] = fromJsonForm(x, k);
    return out;
  }
  return v;
}

const f64 = (vals: number[], shape = [vals.length]) => tensorFromFloat64(vals, shape, 'f64');
const f32 = (vals: number[], shape = [vals.length]) => tensorFromFloat64(vals, shape, 'f32');

/** One representative message per kind (deterministic). */
export function exampleMessages(): Message[] {
  const J = f32([0.5, -0.25, 1, 0, 0.125, -1, 2, 0.75], [2, 4]);
  const counters = { framesOk: 120, badCrc: 1, oversize: 0, undecodable: 2, unknownType: 0, unsupported: 0, bytesDiscarded: 37 };
  const caps = {
    maxCells: 4096,
    maxRank: 256,
    dtypes: ['f64', 'f32', 'i16'] as ('f64' | 'f32' | 'i16')[],
    dacBits: 16,
    adcBits: 16,
    fullScale: 8,
    tauSeconds: 0.000001,
    kappa0Min: 0,
    kappa0Max: 0.5,
    maxFrameBytes: 4096,
    linkBytesPerSecond: 1152000,
    maxOpenTransfers: 4,
    bulkWindow: 8,
    sampleRingBlocks: 64,
    errorQueueDepth: 16,
    features: ['emulator', 'exact-integrator', 'sample-stream', 'delay', 'dense-curvature', 'factored-curvature', 'i16-dac', 'layered-curvature'] as (typeof FEATURES)[number][],
  };
  const bulkTensor = tensorFromFloat64([1, -2, 3, -4], [4], 'i16', { fullScale: 8 });
  return [
    { kind: 'HelloRequest', body: { major: 1, minor: PROTOCOL_VERSION.minor, host: 'tngd-host/0.1', maxFrameBytes: 65535, schemaFingerprint: SCHEMA_FINGERPRINT } },
    {
      kind: 'HelloReply',
      body: {
        major: 1,
        minor: PROTOCOL_VERSION.minor,
        identity: { vendor: 'tngd', model: 'spu-emulator', serial: 'EMU-0001', firmware: '0.1.0' },
        schemaFingerprint: SCHEMA_FINGERPRINT,
        capabilities: caps,
        sessionId: 1,
      },
    },
    { kind: 'StatusRequest', body: {} },
    {
      kind: 'StatusReply',
      body: { state: 'READY', uptimeMs: 123456, counters, errorQueueLength: 1, lastError: { code: ErrorCode.BAD_CRC, message: 'CRC-32C mismatch' }, n: 4, hasCurvature: true, hasGradient: true, openTransfers: 0, runId: 3, runIndex: 4 },
    },
    { kind: 'HeartbeatRequest', body: { nonce: 42 } },
    { kind: 'HeartbeatReply', body: { nonce: 42, uptimeMs: 123500, state: 'READY' } },
    { kind: 'DeviceResetRequest', body: { hard: false } },
    { kind: 'DeviceResetReply', body: {} },
    { kind: 'ErrorsReadRequest', body: { max: 8 } },
    {
      kind: 'ErrorsReadReply',
      body: {
        entries: [
          { code: ErrorCode.BAD_CRC, message: 'CRC-32C mismatch', requestId: 0, type: 0, uptimeMs: 1000 },
          { code: ErrorCode.QUEUE_OVERFLOW, message: 'error queue overflow', requestId: 0, type: 0, uptimeMs: 1200 },
        ],
        remaining: 0,
      },
    },
    { kind: 'ErrorsClearRequest', body: {} },
    { kind: 'ErrorsClearReply', body: { cleared: 2 } },
    {
      kind: 'ConfigureRequest',
      body: { kappa0: 0.001, readout: 'mean', samplePeriodTau: 0.5, windowTau: 40, burnInTau: 10, integrator: { kind: 'euler', dtTau: 0.1 }, seed: 12345, profile: 'ideal', runIndex: 200 },
    },
    { kind: 'ConfigureReply', body: { state: 'READY', runIndex: 200 } },
    { kind: 'CurvatureRequest', body: { form: 'factored', j: J, core: { kind: 'diagonal', d: f32([0.25, 0.5]) }, scale: 0.5, lambda: 0.01 } },
    { kind: 'CurvatureReply', body: { n: 4, r: 2, curvatureId: 7 } },
    { kind: 'GradientRequest', body: { g: f32([0.5, -1, 2]) } },
    { kind: 'GradientReply', body: { n: 3 } },
    { kind: 'StateSetRequest', body: { x: { ref: 5 } } },
    { kind: 'StateSetReply', body: { n: 4 } },
    { kind: 'StateResetRequest', body: {} },
    { kind: 'StateResetReply', body: {} },
    { kind: 'BulkBeginRequest', body: { dtype: 'i16', shape: [4], scale: bulkTensor.scale, totalBytes: 8, crc32c: tensorCrc32c(bulkTensor) } },
    { kind: 'BulkBeginReply', body: { transferId: 5, chunkBytes: 4, window: 8 } },
    { kind: 'BulkChunkRequest', body: { transferId: 5, seq: 1, offset: 4, data: bulkTensor.data.subarray(4, 8) } },
    { kind: 'BulkChunkReply', body: { transferId: 5, seq: 1, received: 8 } },
    { kind: 'BulkCommitRequest', body: { transferId: 5 } },
    { kind: 'BulkCommitReply', body: { transferId: 5, bytes: 8, crc32c: tensorCrc32c(bulkTensor) } },
    { kind: 'BulkAbortRequest', body: { transferId: 6 } },
    { kind: 'BulkAbortReply', body: { transferId: 6, discarded: true } },
    { kind: 'RunRequest', body: { durationTau: 50, start: 'carry', delayTau: 2.5, streamSamples: false } },
    { kind: 'RunReply', body: { runId: 3, analogTimeTau: 52.5, sampleCount: 80, flags: [], runIndex: 4 } },
    { kind: 'AbortRequest', body: {} },
    { kind: 'AbortReply', body: { aborted: false, runId: 3 } },
    { kind: 'ResultsRequest', body: { vectors: 'both', dtype: 'f64' } },
    {
      kind: 'ResultsReply',
      body: { runId: 3, n: 2, sampleCount: 80, analogTimeTau: 52.5, saturationCount: 0, clipCount: 1, flags: ['clipped'], mean: f64([0.1, -0.2]), final: f64([0.15, -0.25]) },
    },
    { kind: 'ResultsReadRequest', body: { field: 'mean', dtype: 'f32', offset: 2, count: 2 } },
    { kind: 'ResultsReadReply', body: { runId: 3, field: 'mean', offset: 2, n: 4, data: f32([0.75, -0.5]) } },
    { kind: 'SamplesReadRequest', body: { fromSeq: 10, maxBlocks: 1 } },
    {
      kind: 'SamplesReadReply',
      body: { blocks: [{ runId: 3, seq: 10, firstSample: 20, cellOffset: 0, data: f32([0.5, 0.25, 0.625, 0.375], [2, 2]) }], nextSeq: 11, oldestSeq: 4 },
    },
    { kind: 'SampleBlockEvent', body: { runId: 3, seq: 11, firstSample: 22, cellOffset: 0, data: f32([0.5, 0.125], [1, 2]) } },
    { kind: 'Error', requestType: 0x0030, body: { code: ErrorCode.NO_CURVATURE, class: 'state', message: 'Run needs a committed curvature', detail: { state: 'READY' } } },
  ];
}

/**
 * Further examples of a kind whose body has several forms worth a vector of their own; written as
 * messages/<Kind>.<variant>.json (PROTOCOL.md §14).
 */
export function variantMessages(): { variant: string; note: string; message: Message }[] {
  // n = 2·3 + 2 (dense 3→2 with bias) + 3 (explicit) = 11; b = 2 samples, m = 2 rows each, r = 4
  const layered: Message = {
    kind: 'CurvatureRequest',
    body: {
      form: 'layered',
      n: 11,
      r: 4,
      b: 2,
      layers: [
        { kind: 'dense', bias: true, a: f32([1, 0.5, -2, 0.25, 0, 1], [2, 3]), d: f32([0.5, -1, 0.25, 0, 1, 2, -0.5, 0.125], [4, 2]) },
        { kind: 'explicit', j: f32([1, 0, -1, 0.5, 0.5, 0, 0, 2, 0.25, -0.25, 1, 0], [4, 3]) },
      ],
      core: { kind: 'block', dz: 2, blocks: f32([0.25, -0.25, -0.25, 0.25, 0.5, 0, 0, 0.5], [2, 2, 2]) },
      scale: 0.5,
      lambda: 0.01,
    },
  };
  return [
    {
      variant: 'layered',
      note: 'form "layered" (v1.3, §7.4.2): a dense layer 3→2 with bias (columns 0–7: J[ρ, 3j + t] = d[ρ, j]·a[⌊ρ/2⌋, t], J[ρ, 6 + j] = d[ρ, j]) then an explicit block of 3 columns (8–10)',
      message: layered,
    },
  ];
}

/** What a reader could otherwise mistake in a vector (PROTOCOL.md §14). */
const NOTES: Partial<Record<MessageKind, string>> = {
  HelloReply:
    'illustrative capabilities, not the emulated device defaults (EMULATED-DEVICE.md §1): serial, dacBits/adcBits 16 (a prototype profile), kappa0Max 0.5, maxFrameBytes 4096 (the emulated device advertises 65535) and linkBytesPerSecond 1152000 are chosen to exercise the encoding',
  SampleBlockEvent: "the last block of a run: flags EVENT only; every earlier block of the run has EVENT|MORE (0x14) (§7.8)",
  StatusReply: 'illustrative counters and state, not a particular device session',
};

export interface MessageVector {
  kind: MessageKind;
  /** a further example of the kind (file messages/<kind>.<variant>.json); absent on the one per kind */
  variant?: string;
  /** a remark for readers; absent on most vectors */
  note?: string;
  name: string;
  direction: string;
  type: number;
  flags: number;
  requestId: number;
  message: unknown;
  headerHex: string;
  payloadHex: string;
  crc32c: string;
  innerHex: string;
  frameHex: string;
}

export function messageVectors(): MessageVector[] {
  const variants = variantMessages();
  return [...exampleMessages(), ...variants.map((v) => v.message)].map((m, i, all) => {
    const requestId = m.kind === 'HelloRequest' || m.kind === 'HelloReply' ? 1 : 0x100 + i;
    const variant = i >= all.length - variants.length ? variants[i - (all.length - variants.length)] : null;
    const frame = encodeFrame(m, requestId);
    const inner = cobsDecode(frame.subarray(0, frame.length - 1)) as Buffer;
    const enc = encodeMessage(m);
    const info = kindInfo(m.kind);
    return {
      kind: m.kind,
      ...(variant ? { variant: variant.variant, note: variant.note } : NOTES[m.kind] !== undefined ? { note: NOTES[m.kind] } : {}),
      name: info.name,
      direction: info.direction,
      type: enc.type,
      flags: enc.flags,
      requestId,
      message: toJsonForm(m.kind === 'Error' ? { requestType: m.requestType, body: m.body } : { body: m.body }),
      headerHex: inner.subarray(0, HEADER_BYTES).toString('hex'),
      payloadHex: enc.payload.toString('hex'),
      crc32c: inner.subarray(inner.length - CRC_BYTES).toString('hex'),
      innerHex: inner.toString('hex'),
      frameHex: frame.toString('hex'),
    };
  });
}

export interface MalformedVector {
  name: string;
  description: string;
  /** receive limit the decoder is configured with for this vector */
  maxFrameBytes: number;
  /** bytes fed to a fresh decoder */
  streamHex: string;
  expect: {
    /** frames decoded successfully (their kinds, in order) */
    frames: MessageKind[];
    /** one entry per fault, in order */
    faults: { kind: FaultKind; code: number; codeName: string; requestId?: number }[];
    counters: Omit<DecoderCounters, 'emptyFrames'>;
  };
}

const hb = (nonce: number, id: number) => encodeFrame({ kind: 'HeartbeatRequest', body: { nonce } }, id);
function rawFrame(opts: { version?: number; flags?: number; type?: number; requestId?: number; payload?: Uint8Array }): Buffer {
  return encodeRawFrame(
    { version: opts.version ?? PROTOCOL_MAJOR, flags: opts.flags ?? 0, type: opts.type ?? 0x0003, requestId: opts.requestId ?? 9 },
    opts.payload ?? packPlain({ nonce: 1 }),
  );
}

/** Builds the malformed-input vectors; expectations are computed and must match the table in the spec. */
export function malformedVectors(): MalformedVector[] {
  const cases: { name: string; description: string; maxFrameBytes?: number; bytes: Buffer }[] = [];
  const add = (name: string, description: string, bytes: Buffer, maxFrameBytes?: number) => cases.push({ name, description, bytes, maxFrameBytes });

  const good = hb(7, 1);
  const flipped = Buffer.from(good);
  flipped[5] ^= 0x04; // a payload byte inside the COBS data: CRC no longer matches
  add('bad-crc', 'one bit flipped inside a Heartbeat frame; the next frame decodes', Buffer.concat([flipped, hb(8, 2)]));
  add('cobs-invalid', 'block code 0x09 promises 8 bytes but the delimiter comes after 3', Buffer.concat([Buffer.from([0x09, 0x01, 0x02, 0x03, 0x00]), hb(8, 2)]));
  add('too-short', 'valid COBS of 5 bytes: shorter than header + CRC', Buffer.concat([Buffer.from([0x06, 0x01, 0x01, 0x01, 0x01, 0x01, 0x00]), hb(8, 2)]));
  add(
    'oversize',
    'a 1100-byte frame to a decoder limited to 1024 encoded bytes; dropped without buffering, the next frame decodes',
    Buffer.concat([encodeFrame({ kind: 'BulkChunkRequest', body: { transferId: 1, seq: 0, offset: 0, data: Buffer.alloc(1040, 0x5a) } }, 3), hb(8, 2)]),
    1024,
  );
  add('version-2', 'intact frame with major version 2: error reply VERSION_UNSUPPORTED echoing request id 9', rawFrame({ version: 2 }));
  add('must-flag', 'reserved must-understand flag bit 3 set', rawFrame({ flags: FLAG_RESERVED_MUST }));
  add('may-ignore-flags', 'all may-ignore bits set (0xF0, includes MORE): the frame decodes normally', rawFrame({ flags: 0xf0 | FLAG_MORE }));
  add('error-without-reply', 'ERROR flag without REPLY', rawFrame({ flags: FLAG_ERROR }));
  add('event-unknown', 'EVENT flag on a type that is not an event', rawFrame({ flags: FLAG_EVENT }));
  add('unknown-type', 'request type 0x7777', rawFrame({ type: 0x7777 }));
  add('msgpack-truncated', 'payload 0x81 0xa5 is a truncated map', rawFrame({ payload: Buffer.from([0x81, 0xa5]) }));
  add('msgpack-trailing', 'payload holds two MessagePack values', rawFrame({ payload: Buffer.concat([packPlain({ nonce: 1 }), Buffer.from([0xc0])]) }));
  add('empty-payload', 'header + CRC with no payload', rawFrame({ payload: Buffer.alloc(0) }));
  add('schema-invalid', 'Heartbeat nonce is a string', rawFrame({ payload: packPlain({ nonce: 'x' }) }));
  add(
    'tensor-length',
    'Gradient tensor f32 shape [3] with 8 data bytes',
    rawFrame({ type: 0x0012, payload: packPlain({ g: { dtype: 'f32', shape: [3], order: 'le', data: Buffer.alloc(8) } }) }),
  );
  // §5: the MessagePack rules beyond "one value"
  const nonceIs = (valueHex: string) => Buffer.concat([Buffer.from('81a56e6f6e6365', 'hex'), Buffer.from(valueHex, 'hex')]); // {"nonce": …}
  add('integral-float-in-int-field', 'Heartbeat nonce sent as float64 5.0: an integral float is accepted in an integer field (decodes as 5)', rawFrame({ payload: nonceIs('cb4014000000000000') }));
  add('fraction-in-int-field', 'Heartbeat nonce sent as float64 5.5: not an integer', rawFrame({ payload: nonceIs('cb4016000000000000') }));
  add('c1-type-byte', 'Heartbeat nonce whose value is the type byte 0xC1', rawFrame({ payload: nonceIs('c1') }));
  add(
    'c1-in-tensor-data',
    'Gradient whose f64 tensor data contains 0xC1 and extension-type bytes: bin contents are data, the frame decodes',
    rawFrame({ type: 0x0012, payload: packPlain({ g: { dtype: 'f64', shape: [1], order: 'le', data: Buffer.from('c1c7d4d8c1c1f03f', 'hex') } }) }),
  );
  add('int-map-key', 'Heartbeat body {1: 7, "nonce": 1}: a map key that is not a str', rawFrame({ payload: Buffer.from('820107a56e6f6e636501', 'hex') }));
  add('bin-map-key', 'Heartbeat body whose only key is the bin "nonce" (not a str)', rawFrame({ payload: Buffer.from('81c4056e6f6e636501', 'hex') }));
  add('invalid-utf8-key', 'Heartbeat body {"nonce": 1, "n\\xff": 2}: a key that is not valid UTF-8', rawFrame({ payload: Buffer.from('82a56e6f6e636501a26eff02', 'hex') }));
  add('duplicate-key', 'Heartbeat body with the key "nonce" twice', rawFrame({ payload: Buffer.from('82a56e6f6e636501a56e6f6e636502', 'hex') }));
  // §5.1: SCHEMA_INVALID wins over TENSOR_INVALID
  add(
    'schema-and-tensor-invalid',
    'dense Curvature with a tensor 8 bytes short and lambda −1: SCHEMA_INVALID, not TENSOR_INVALID',
    rawFrame({ type: 0x0011, payload: packPlain({ form: 'dense', a: { dtype: 'f64', shape: [2, 2], order: 'le', data: Buffer.alloc(24) }, lambda: -1 }) }),
  );
  // §10.1: a frame with REPLY passes the decoder when its body is a valid reply body
  add('reply-flag-body-invalid', 'Heartbeat frame with flag REPLY whose body is a request body: checked against the reply schema, SCHEMA_INVALID', rawFrame({ flags: FLAG_REPLY }));
  add(
    'reply-flag-body-valid',
    'Heartbeat frame with flag REPLY and a valid reply body: decodes (a device then answers BAD_FLAGS, device-checks.json)',
    rawFrame({ flags: FLAG_REPLY, payload: packPlain({ nonce: 1, uptimeMs: 5, state: 'IDLE' }) }),
  );
  add(
    'garbage-between-frames',
    'random bytes and stray delimiters between two good frames; empty frames are not faults',
    Buffer.concat([Buffer.from([0x00, 0x00]), hb(1, 1), Buffer.from([0x13, 0x37, 0xff, 0x02, 0x00, 0x00]), hb(2, 2)]),
  );
  add('truncated-then-good', 'a frame cut after 6 bytes, then a complete frame with a leading delimiter', Buffer.concat([hb(1, 1).subarray(0, 6), Buffer.from([0]), hb(2, 2)]));

  return cases.map((c) => {
    const maxFrameBytes = c.maxFrameBytes ?? 4096;
    const faults: MalformedVector['expect']['faults'] = [];
    const dec = new FrameDecoder({
      maxFrameBytes,
      onFault: (f) => faults.push({ kind: f.kind, code: f.error.code, codeName: Object.entries(ErrorCode).find(([, v]) => v === f.error.code)?.[0] ?? '?', ...(f.header ? { requestId: f.header.requestId } : {}) }),
    });
    const frames = dec.push(c.bytes).map((f) => f.message.kind);
    const { emptyFrames: _e, ...counters } = dec.counters;
    return { name: c.name, description: c.description, maxFrameBytes, streamHex: c.bytes.toString('hex'), expect: { frames, faults, counters } };
  });
}

/** File name (relative to VECTOR_DIR) → exact content. */
export function vectorFiles(): Map<string, string> {
  const files = new Map<string, string>();
  const msgs = messageVectors();
  const covered = new Set(msgs.filter((v) => !v.variant).map((v) => v.kind));
  const missing = MESSAGE_KINDS.filter((k) => !covered.has(k));
  if (missing.length) throw new Error(`no example message for ${missing.join(', ')}`);
  for (const v of msgs) files.set(`messages/${v.kind}${v.variant ? `.${v.variant}` : ''}.json`, `${JSON.stringify(v, null, 2)}\n`);
  files.set('malformed.json', `${JSON.stringify(malformedVectors(), null, 2)}\n`);
  return files;
}

if (process.argv[1] && import.meta.url === pathToFileURL(process.argv[1]).href) {
  rmSync(join(VECTOR_DIR, 'messages'), { recursive: true, force: true });
  mkdirSync(join(VECTOR_DIR, 'messages'), { recursive: true });
  for (const [name, text] of vectorFiles()) writeFileSync(join(VECTOR_DIR, name), text);
  console.log(`wrote ${readdirSync(join(VECTOR_DIR, 'messages')).length} message vectors and malformed.json to ${VECTOR_DIR}`);
}
