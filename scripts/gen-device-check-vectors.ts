// Device-level vectors (firmware-spec/vectors/protocol/device-checks.json): which answer a device
// gives to a request that breaks several rules at once, in a given state — the check order of
// PROTOCOL.md §10.1 and the upload rules of §7.4. Each vector: frames that put a freshly powered
// device into a state (every one answered without error), then the frame under test and the answer
// the device must send. Computed by driving the reference emulated device; `npm run gen:protocol`
// writes the file and test/firmware/device-checks.test.ts replays it and fails when it is stale.
import { writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { pathToFileURL } from 'node:url';
import { createEmulatedDevice } from '../src/emulator/index.ts';
import {
  ErrorCode,
  FLAG_ERROR,
  FLAG_EVENT,
  FLAG_REPLY,
  FLAG_RESERVED_MUST,
  FrameDecoder,
  OPERATIONS,
  PROTOCOL_VERSION,
  SCHEMA_FINGERPRINT,
  encodeFrame,
  encodeRawFrame,
  packPlain,
  tensorFromFloat64,
} from '../src/protocol/index.ts';
import type { DecodedFrame, Message, OpName, RequestBody } from '../src/protocol/index.ts';
import { VECTOR_DIR } from './gen-protocol-vectors.ts';

export const DEVICE_CHECKS_FILE = join(VECTOR_DIR, 'device-checks.json');

type Counters = { framesOk: number; undecodable: number; unknownType: number; unsupported: number };

export interface DeviceCheckVector {
  name: string;
  description: string;
  /** what the vector pins (PROTOCOL.md section) */
  section: string;
  /** frames sent first, one at a time, each after the previous answer; none is answered by an Error */
  setupHex: string[];
  /** the frame under test */
  frameHex: string;
  expect: {
    /** the one answer: its header and, for an Error, the code (and detail.reason when present) */
    answer: { requestId: number; type: number; flags: number; kind: string; code?: number; codeName?: string; reason?: string };
    /** change of the Status counters across the frame under test */
    countersDelta: Counters;
  };
}

const f64 = (v: number[], shape = [v.length]) => tensorFromFloat64(v, shape, 'f64');
const A2 = f64([2, 0.5, 0.5, 1], [2, 2]);
const CONFIG: RequestBody<'Configure'> = { kappa0: 0, readout: 'both', samplePeriodTau: 0.5, windowTau: 0, burnInTau: 0, integrator: { kind: 'exact' } };

let setupId = 0x1000;
const req = <K extends OpName>(op: K, body: RequestBody<K>, id = setupId++): Buffer => encodeFrame({ kind: `${op}Request`, body } as Message, id);
const hello = (maxFrameBytes = 4096) => req('Hello', { major: PROTOCOL_VERSION.major, minor: PROTOCOL_VERSION.minor, host: 'device-checks', maxFrameBytes, schemaFingerprint: SCHEMA_FINGERPRINT });

/** Setups: the states a vector starts from (every request succeeds). */
function idle(): Buffer[] {
  return [hello()];
}
function ready(): Buffer[] {
  return [hello(), req('Configure', CONFIG)];
}
function withResults(maxFrameBytes = 4096, n = 2): Buffer[] {
  // n = 2: dense A2; larger n: A = 0.5·1ᵀ1 + I in factored form (the frame stays small)
  const curvature: RequestBody<'Curvature'> = n === 2 ? { form: 'dense', a: A2, lambda: 0 } : { form: 'factored', j: f64(new Array<number>(n).fill(1), [1, n]), core: { kind: 'identity' }, scale: 0.5, lambda: 1 };
  return [
    hello(maxFrameBytes),
    req('Configure', CONFIG),
    req('Curvature', curvature),
    req('Gradient', { g: f64(Array.from({ length: n }, (_, i) => (i % 2 ? -1 : 1))) }),
    req('Run', { durationTau: 2, start: 'reset' }),
  ];
}

const ID = 0x77;
function raw(o: { version?: number; flags?: number; type: number; payload: Uint8Array }): Buffer {
  return encodeRawFrame({ version: o.version ?? PROTOCOL_VERSION.major, flags: o.flags ?? 0, type: o.type, requestId: ID }, o.payload);
}
const T = (op: OpName) => OPERATIONS[op].type;

interface Case {
  name: string;
  description: string;
  section: string;
  setup: Buffer[];
  frame: Buffer;
}

function cases(): Case[] {
  const shortTensor = { dtype: 'f64', shape: [2, 2], order: 'le', data: Buffer.alloc(24) };
  const denseBad = { form: 'dense', a: shortTensor, lambda: -1 };
  const layered = (over: { n?: number; b?: number }) =>
    req('Curvature', {
      form: 'layered', n: over.n ?? 8, r: 4, b: over.b ?? 2, core: { kind: 'identity' }, scale: 1, lambda: 0.5,
      layers: [{ kind: 'dense', bias: true, a: f64([1, 0.5, -0.5, 0.25, -1, 0.75], [2, 3]), d: f64([0.5, -0.25, 0.25, 0.5, -0.5, 0.25, 0.75, -0.25], [4, 2]) }],
    }, ID);
  const factored = (core: Extract<RequestBody<'Curvature'>, { form: 'factored' }>['core'], lambda = 0.1) =>
    req('Curvature', { form: 'factored', j: f64([1, 0, 0, 1, 1, 1], [2, 3]), core, scale: 1, lambda }, ID);
  const hbReply = packPlain({ nonce: 1, uptimeMs: 5, state: 'IDLE' });
  const block = packPlain({ runId: 1, seq: 0, firstSample: 1, cellOffset: 0, data: f64([0.5]) });
  const c: Case[] = [
    // §10.1 the order of the header checks
    { name: 'version-before-flags', section: '§10.1', description: 'major 2 with the reserved must-understand bit and an unknown type: the version is checked first', setup: idle(), frame: raw({ version: 2, flags: FLAG_RESERVED_MUST, type: 0x7777, payload: Buffer.of(0xc1) }) },
    { name: 'must-flag-before-combination', section: '§10.1', description: 'reserved must-understand bit with ERROR but not REPLY: UNKNOWN_MUST_FLAG before BAD_FLAGS', setup: idle(), frame: raw({ flags: FLAG_RESERVED_MUST | FLAG_ERROR, type: T('Heartbeat'), payload: packPlain({ nonce: 1 }) }) },
    { name: 'combination-before-type', section: '§10.1', description: 'ERROR without REPLY on an unknown type: BAD_FLAGS before UNKNOWN_TYPE', setup: idle(), frame: raw({ flags: FLAG_ERROR, type: 0x7777, payload: packPlain({ nonce: 1 }) }) },
    { name: 'type-before-msgpack', section: '§10.1', description: 'unknown type with a payload that is not MessagePack: UNKNOWN_TYPE', setup: idle(), frame: raw({ type: 0x7777, payload: Buffer.of(0xc1) }) },
    { name: 'msgpack-before-schema', section: '§10.1', description: 'Curvature in IDLE whose payload is a truncated map: MSGPACK_INVALID', setup: idle(), frame: raw({ type: T('Curvature'), payload: Buffer.from([0x83, 0xa4]) }) },
    // §10.1 body checks come before the state: an invalid request in IDLE is not NOT_CONFIGURED
    { name: 'schema-before-state', section: '§10.1', description: 'Curvature in IDLE with lambda −1: SCHEMA_INVALID, not NOT_CONFIGURED', setup: idle(), frame: raw({ type: T('Curvature'), payload: packPlain({ form: 'dense', a: A2, lambda: -1 }) }) },
    { name: 'tensor-before-state', section: '§10.1', description: 'Curvature in IDLE whose tensor is 8 bytes short: TENSOR_INVALID, not NOT_CONFIGURED', setup: idle(), frame: raw({ type: T('Curvature'), payload: packPlain({ form: 'dense', a: shortTensor, lambda: 0 }) }) },
    { name: 'schema-before-tensor', section: '§5.1', description: 'Curvature whose tensor is short and whose lambda is −1: SCHEMA_INVALID wins over TENSOR_INVALID', setup: ready(), frame: raw({ type: T('Curvature'), payload: packPlain(denseBad) }) },
    { name: 'state-for-a-valid-body', section: '§10.1', description: 'a valid Curvature in IDLE: NOT_CONFIGURED', setup: idle(), frame: req('Curvature', { form: 'dense', a: A2, lambda: 0 }, ID) },
    { name: 'state-before-operation-checks', section: '§10.1', description: 'Curvature in IDLE naming a transfer that does not exist: NOT_CONFIGURED, not NO_SUCH_TRANSFER', setup: idle(), frame: req('Curvature', { form: 'dense', a: { ref: 99 }, lambda: 0 }, ID) },
    // §10.1 a device accepts requests only; the body is checked against the schema the flags name
    { name: 'reply-to-device', section: '§10.1', description: 'a well-formed Heartbeat reply sent to the device: BAD_FLAGS, counted framesOk (it decoded)', setup: idle(), frame: raw({ flags: FLAG_REPLY, type: T('Heartbeat'), payload: hbReply }) },
    { name: 'reply-to-device-bad-body', section: '§10.1', description: 'a frame with REPLY whose body is a Heartbeat request body: checked against the reply schema, SCHEMA_INVALID', setup: idle(), frame: raw({ flags: FLAG_REPLY, type: T('Heartbeat'), payload: packPlain({ nonce: 1 }) }) },
    { name: 'event-to-device', section: '§10.1', description: 'a well-formed SampleBlock event sent to the device: BAD_FLAGS, counted framesOk', setup: idle(), frame: raw({ flags: FLAG_EVENT, type: 0x0040, payload: block }) },
    { name: 'event-to-device-bad-body', section: '§10.1', description: 'a SampleBlock event whose body misses fields: SCHEMA_INVALID', setup: idle(), frame: raw({ flags: FLAG_EVENT, type: 0x0040, payload: packPlain({ runId: 1 }) }) },
    { name: 'error-to-device', section: '§10.1', description: 'a well-formed Error frame (REPLY|ERROR) sent to the device: BAD_FLAGS', setup: idle(), frame: raw({ flags: FLAG_REPLY | FLAG_ERROR, type: T('Run'), payload: packPlain({ code: ErrorCode.ABORTED, class: 'device', message: 'x' }) }) },
    // §7.4 upload rules, refused at upload
    { name: 'factored-lambda-zero', section: '§7.4.1', description: 'factored Curvature with lambda 0: OUT_OF_RANGE, reason lambda-not-positive', setup: ready(), frame: factored({ kind: 'identity' }, 0) },
    { name: 'factored-negative-d', section: '§7.4.1', description: 'diagonal core with d = [1, −0.5]: OUT_OF_RANGE, reason negative-diagonal', setup: ready(), frame: factored({ kind: 'diagonal', d: f64([1, -0.5]) }) },
    { name: 'factored-h-indefinite', section: '§7.4.1', description: 'dense core H = [[1, 2], [2, 1]] (eigenvalue −1): OUT_OF_RANGE, reason not-positive-semidefinite', setup: ready(), frame: factored({ kind: 'dense', h: f64([1, 2, 2, 1], [2, 2]) }) },
    { name: 'factored-h-asymmetric', section: '§7.4.1', description: 'block core whose 2×2 block is not exactly symmetric: OUT_OF_RANGE, reason not-symmetric', setup: ready(), frame: factored({ kind: 'block', dz: 2, blocks: f64([1, 0.25, 0.25000000000000006, 1], [1, 2, 2]) }) },
    { name: 'dense-asymmetric', section: '§7.4', description: 'dense A with a[0,1] and a[1,0] one ulp apart: OUT_OF_RANGE, reason not-symmetric', setup: ready(), frame: req('Curvature', { form: 'dense', a: f64([2, 0.1, 0.10000000000000002, 1], [2, 2]), lambda: 0 }, ID) },
    { name: 'dense-indefinite-committed', section: '§7.4.1', description: 'dense A = [[1, 2], [2, 1]]: committed (its runs report not-positive-definite)', setup: ready(), frame: req('Curvature', { form: 'dense', a: f64([1, 2, 2, 1], [2, 2]), lambda: 0 }, ID) },
    // §7.5 StateReset needs a configured device, not a curvature
    { name: 'state-reset-without-curvature', section: '§7.5', description: 'StateReset in READY with no curvature committed: accepted', setup: ready(), frame: req('StateReset', {}, ID) },
    // §7.7 ResultsRead
    { name: 'results-read-past-end', section: '§7.7', description: 'ResultsRead offset 1 count 2 of a 2-element result: OUT_OF_RANGE', setup: withResults(), frame: req('ResultsRead', { field: 'mean', dtype: 'f64', offset: 1, count: 2 }, ID) },
    {
      name: 'results-read-too-large',
      section: '§7.7',
      description: 'host maxFrameBytes 1024, ResultsRead of 200 f64 (1600 data bytes): REPLY_TOO_LARGE',
      setup: withResults(1024, 200),
      frame: req('ResultsRead', { field: 'final', dtype: 'f64', offset: 0, count: 200 }, ID),
    },
    { name: 'results-read-formula-fits', section: '§7.7', description: 'host maxFrameBytes 1024: maxInner = 1019, so a slice of ⌊(1019 − 12 − 160)/8⌋ = 105 f64 fits (§7.7)', setup: withResults(1024, 200), frame: req('ResultsRead', { field: 'final', dtype: 'f64', offset: 95, count: 105 }, ID) },
    // §7.4.2 the layered form's shape checks, in their order (the device lists 'layered-curvature')
    { name: 'layered-columns', section: '§7.4.2', description: 'layered Curvature whose layers cover 8 columns while n = 9: SHAPE_MISMATCH, reason columns', setup: ready(), frame: layered({ n: 9 }) },
    { name: 'layered-rows-per-sample', section: '§7.4.2', description: 'layered Curvature with r = 4, b = 3 and Σ cols ≠ n too: SHAPE_MISMATCH, reason rows-per-sample (checked first)', setup: ready(), frame: layered({ b: 3, n: 9 }) },
    { name: 'layered-accepted', section: '§7.4.2', description: 'a well-formed layered Curvature (dense 3→2 with bias, b = 2, r = 4): accepted, reply n = 8, r = 4', setup: ready(), frame: layered({}) },
  ];
  return c;
}

/** A device with a pinned clock, and a way to send one frame and collect its answer. */
function bench() {
  const dev = createEmulatedDevice({ now: () => 0, maxCells: 256, maxRank: 16, });
  const dec = new FrameDecoder({ maxFrameBytes: 65535 });
  const got: DecodedFrame[] = [];
  dev.on('data', (c: Buffer) => got.push(...dec.push(c)));
  const answerOf = async (frame: Buffer, id: number): Promise<DecodedFrame> => {
    const from = got.length;
    dev.write(frame);
    for (let spin = 0; spin < 20000; spin++) {
      const f = got.slice(from).find((x) => x.header.requestId === id && x.message.kind !== 'SampleBlockEvent');
      if (f) return f;
      await new Promise((r) => setImmediate(r));
    }
    throw new Error(`no answer to request ${id}`);
  };
  const counters = async (): Promise<Counters> => {
    const f = await answerOf(req('Status', {}, 0xfff0), 0xfff0);
    const c = (f.message as { body: { counters: Counters } }).body.counters;
    return { framesOk: c.framesOk, undecodable: c.undecodable, unknownType: c.unknownType, unsupported: c.unsupported };
  };
  return { dev, answerOf, counters };
}

const codeName = (code: number) => Object.entries(ErrorCode).find(([, v]) => v === code)?.[0] ?? '?';

export async function deviceCheckVectors(): Promise<DeviceCheckVector[]> {
  const out: DeviceCheckVector[] = [];
  for (const c of cases()) {
    const b = bench();
    try {
      for (const s of c.setup) {
        const f = await b.answerOf(s, decodeId(s));
        if (f.message.kind === 'Error') throw new Error(`${c.name}: setup request answered ${f.message.body.message}`);
      }
      const before = await b.counters();
      const f = await b.answerOf(c.frame, ID);
      const after = await b.counters();
      // the Status request itself is one more framesOk
      const delta: Counters = {
        framesOk: after.framesOk - before.framesOk - 1,
        undecodable: after.undecodable - before.undecodable,
        unknownType: after.unknownType - before.unknownType,
        unsupported: after.unsupported - before.unsupported,
      };
      const answer: DeviceCheckVector['expect']['answer'] = { requestId: f.header.requestId, type: f.header.type, flags: f.header.flags, kind: f.message.kind };
      if (f.message.kind === 'Error') {
        answer.code = f.message.body.code;
        answer.codeName = codeName(f.message.body.code);
        const reason = (f.message.body.detail as { reason?: unknown } | undefined)?.reason;
        if (typeof reason === 'string') answer.reason = reason;
      }
      out.push({ name: c.name, description: c.description, section: c.section, setupHex: c.setup.map((s) => s.toString('hex')), frameHex: c.frame.toString('hex'), expect: { answer, countersDelta: delta } });
    } finally {
      b.dev.destroy();
    }
  }
  return out;
}

/** The request id of a frame we built (header bytes 4…7 after COBS: read it back by decoding). */
function decodeId(frame: Buffer): number {
  const d = new FrameDecoder({ maxFrameBytes: 65535 });
  const [f] = d.push(frame);
  if (!f) throw new Error('setup frame does not decode');
  return f.header.requestId;
}

export async function deviceChecksText(): Promise<string> {
  return `${JSON.stringify(await deviceCheckVectors(), null, 2)}\n`;
}

if (process.argv[1] && import.meta.url === pathToFileURL(process.argv[1]).href) {
  const text = await deviceChecksText();
  writeFileSync(DEVICE_CHECKS_FILE, text);
  console.log(`wrote ${JSON.parse(text).length} device-check vectors to ${DEVICE_CHECKS_FILE}`);
}
