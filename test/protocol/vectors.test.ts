import { readFileSync, readdirSync } from 'node:fs';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { ErrorCode, FrameDecoder, MESSAGE_KINDS, SCHEMA_FINGERPRINT, decodeFrame, encodeFrame } from '../../src/protocol/index.ts';
import type { FrameFault, Message } from '../../src/protocol/index.ts';
import { SCHEMA_DIR, schemaFiles } from '../../scripts/gen-protocol-schemas.ts';
import { VECTOR_DIR, fromJsonForm, vectorFiles } from '../../scripts/gen-protocol-vectors.ts';
import type { MalformedVector, MessageVector } from '../../scripts/gen-protocol-vectors.ts';

const messageFiles = readdirSync(join(VECTOR_DIR, 'messages')).filter((f) => f.endsWith('.json'));
const vectors: MessageVector[] = messageFiles.map((f) => JSON.parse(readFileSync(join(VECTOR_DIR, 'messages', f), 'utf8')));
const malformed: MalformedVector[] = JSON.parse(readFileSync(join(VECTOR_DIR, 'malformed.json'), 'utf8'));

function messageOf(v: MessageVector): Message {
  const m = fromJsonForm(v.message) as { body: unknown; requestType?: number };
  return (v.kind === 'Error' ? { kind: 'Error', requestType: m.requestType, body: m.body } : { kind: v.kind, body: m.body }) as Message;
}

describe('golden message vectors (firmware-spec/vectors/protocol/messages)', () => {
  it('cover every message kind exactly once', () => {
    expect(vectors.filter((v) => !v.variant).map((v) => v.kind).sort()).toEqual([...MESSAGE_KINDS].sort());
    // variants (further forms of a kind) are named after it: messages/<Kind>.<variant>.json
    for (const v of vectors.filter((w) => w.variant)) expect(messageFiles).toContain(`${v.kind}.${v.variant}.json`);
  });
  for (const v of vectors)
    it(`${v.kind}: frameHex decodes to the message and the message encodes to frameHex`, () => {
      const d = decodeFrame(Buffer.from(v.frameHex, 'hex'));
      expect(d.message).toEqual(messageOf(v));
      expect(d.header).toEqual({ version: 1, flags: v.flags, type: v.type, requestId: v.requestId });
      expect(encodeFrame(messageOf(v), v.requestId).toString('hex')).toBe(v.frameHex);
      expect(v.innerHex).toBe(v.headerHex + v.payloadHex + v.crc32c);
    });
});

// Expectations written down independently of the generator (which computes them by decoding).
const EXPECTED: Record<string, { frames: number; faults: [string, number][]; replyable: boolean }> = {
  'bad-crc': { frames: 1, faults: [['badCrc', ErrorCode.BAD_CRC]], replyable: false },
  'cobs-invalid': { frames: 1, faults: [['undecodable', ErrorCode.COBS_INVALID]], replyable: false },
  'too-short': { frames: 1, faults: [['undecodable', ErrorCode.FRAME_TOO_SHORT]], replyable: false },
  oversize: { frames: 1, faults: [['oversize', ErrorCode.FRAME_TOO_LARGE]], replyable: false },
  'version-2': { frames: 0, faults: [['unsupported', ErrorCode.VERSION_UNSUPPORTED]], replyable: true },
  'must-flag': { frames: 0, faults: [['unsupported', ErrorCode.UNKNOWN_MUST_FLAG]], replyable: true },
  'may-ignore-flags': { frames: 1, faults: [], replyable: false },
  'error-without-reply': { frames: 0, faults: [['unsupported', ErrorCode.BAD_FLAGS]], replyable: true },
  'event-unknown': { frames: 0, faults: [['unknownType', ErrorCode.UNKNOWN_TYPE]], replyable: true },
  'unknown-type': { frames: 0, faults: [['unknownType', ErrorCode.UNKNOWN_TYPE]], replyable: true },
  'msgpack-truncated': { frames: 0, faults: [['undecodable', ErrorCode.MSGPACK_INVALID]], replyable: true },
  'msgpack-trailing': { frames: 0, faults: [['undecodable', ErrorCode.MSGPACK_INVALID]], replyable: true },
  'empty-payload': { frames: 0, faults: [['undecodable', ErrorCode.MSGPACK_INVALID]], replyable: true },
  'schema-invalid': { frames: 0, faults: [['undecodable', ErrorCode.SCHEMA_INVALID]], replyable: true },
  'tensor-length': { frames: 0, faults: [['undecodable', ErrorCode.TENSOR_INVALID]], replyable: true },
  'integral-float-in-int-field': { frames: 1, faults: [], replyable: false },
  'fraction-in-int-field': { frames: 0, faults: [['undecodable', ErrorCode.SCHEMA_INVALID]], replyable: true },
  'c1-type-byte': { frames: 0, faults: [['undecodable', ErrorCode.MSGPACK_INVALID]], replyable: true },
  'c1-in-tensor-data': { frames: 1, faults: [], replyable: false },
  'int-map-key': { frames: 0, faults: [['undecodable', ErrorCode.MSGPACK_INVALID]], replyable: true },
  'bin-map-key': { frames: 0, faults: [['undecodable', ErrorCode.MSGPACK_INVALID]], replyable: true },
  'invalid-utf8-key': { frames: 0, faults: [['undecodable', ErrorCode.MSGPACK_INVALID]], replyable: true },
  'duplicate-key': { frames: 0, faults: [['undecodable', ErrorCode.MSGPACK_INVALID]], replyable: true },
  'schema-and-tensor-invalid': { frames: 0, faults: [['undecodable', ErrorCode.SCHEMA_INVALID]], replyable: true },
  'reply-flag-body-invalid': { frames: 0, faults: [['undecodable', ErrorCode.SCHEMA_INVALID]], replyable: true },
  'reply-flag-body-valid': { frames: 1, faults: [], replyable: false },
  'garbage-between-frames': { frames: 2, faults: [['undecodable', ErrorCode.COBS_INVALID]], replyable: false },
  'truncated-then-good': { frames: 1, faults: [['undecodable', ErrorCode.FRAME_TOO_SHORT]], replyable: false },
};

describe('malformed vectors (firmware-spec/vectors/protocol/malformed.json)', () => {
  it('cover the fault catalogue', () => {
    expect(malformed.map((v) => v.name).sort()).toEqual(Object.keys(EXPECTED).sort());
  });
  for (const v of malformed)
    it(`${v.name}: ${v.description}`, () => {
      const faults: FrameFault[] = [];
      const d = new FrameDecoder({ maxFrameBytes: v.maxFrameBytes, onFault: (f) => faults.push(f) });
      const frames = d.push(Buffer.from(v.streamHex, 'hex'));
      const want = EXPECTED[v.name];
      expect(frames).toHaveLength(want.frames);
      expect(faults.map((f) => [f.kind, f.error.code])).toEqual(want.faults);
      for (const f of faults) expect(f.header !== undefined).toBe(want.replyable);
      expect(frames.map((f) => f.message.kind)).toEqual(v.expect.frames);
      if (v.name === 'integral-float-in-int-field') expect(frames[0].message).toEqual({ kind: 'HeartbeatRequest', body: { nonce: 5 } });
      const { emptyFrames: _e, ...counters } = d.counters;
      expect(counters).toEqual(v.expect.counters);
      expect(faults.map((f) => f.error.code)).toEqual(v.expect.faults.map((f) => f.code));
    });
});

describe('checked-in generated files are not stale', () => {
  it('firmware-spec/vectors/protocol matches a regeneration in memory', () => {
    for (const [name, text] of vectorFiles()) expect(readFileSync(join(VECTOR_DIR, name), 'utf8'), `${name} is stale: run npm run gen:protocol`).toBe(text);
    expect(messageFiles.length).toBe(vectorFiles().size - 1); // every message file but malformed.json
  });
  it('firmware-spec/schemas matches the zod schemas', () => {
    for (const [name, text] of schemaFiles()) expect(readFileSync(join(SCHEMA_DIR, name), 'utf8'), `${name} is stale: run npm run gen:protocol`).toBe(text);
    expect(readFileSync(join(SCHEMA_DIR, 'FINGERPRINT'), 'utf8').trim()).toBe(SCHEMA_FINGERPRINT);
  });
});
