import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import {
  ErrorCode,
  FLAG_ERROR,
  FLAG_EVENT,
  FLAG_MORE,
  FLAG_REPLY,
  MESSAGE_KINDS,
  OPERATIONS,
  ProtocolError,
  SchemaError,
  StateError,
  ValueRangeError,
  decodeFrame,
  encodeFrame,
  encodeMessage,
  errorMessageFrom,
  kindInfo,
  protocolError,
  replyKindOf,
  tensorFromFloat64,
} from '../../src/protocol/index.ts';
import type { RequestKind } from '../../src/protocol/index.ts';
import { messageArb } from './arbitrary.ts';

const RUNS = 60; // per message kind; 42 kinds → ~2.5k round trips, seed printed by fast-check on failure

describe('message codec round trip (every message kind, property)', () => {
  for (const kind of MESSAGE_KINDS) {
    it(`${kind}: decode(encode(m)) = m, and encoding is canonical`, () => {
      fc.assert(
        fc.property(messageArb(kind), fc.integer({ min: 0, max: 0xffffffff }), fc.boolean(), (msg, requestId, more) => {
          const frame = encodeFrame(msg, requestId, { more });
          const d = decodeFrame(frame);
          expect(d.message).toEqual(msg);
          expect(d.header.requestId).toBe(requestId);
          expect((d.header.flags & FLAG_MORE) !== 0).toBe(more);
          expect(frame.indexOf(0)).toBe(frame.length - 1);
          // canonical: re-encoding the decoded message gives identical bytes
          expect(encodeFrame(d.message, requestId, { more }).equals(frame)).toBe(true);
        }),
        { numRuns: RUNS },
      );
    });
  }
});

describe('message registry', () => {
  it('maps every request to its reply with the same type number, and types are unique per direction', () => {
    const types = new Set<number>();
    for (const [name, op] of Object.entries(OPERATIONS)) {
      expect(types.has(op.type)).toBe(false);
      types.add(op.type);
      const req = `${name}Request` as RequestKind;
      expect(replyKindOf(req)).toBe(`${name}Reply`);
      expect(kindInfo(replyKindOf(req)).type).toBe(op.type);
    }
    expect(MESSAGE_KINDS.length).toBe(2 * Object.keys(OPERATIONS).length + 2);
  });

  it('sets REPLY / ERROR / EVENT flags from the kind', () => {
    expect(encodeMessage({ kind: 'StatusRequest', body: {} }).flags).toBe(0);
    expect(encodeMessage({ kind: 'ErrorsClearReply', body: { cleared: 1 } }).flags).toBe(FLAG_REPLY);
    const err = encodeMessage({ kind: 'Error', requestType: 0x1234, body: { code: 0x203, class: 'protocol', message: 'no' } });
    expect(err.flags).toBe(FLAG_REPLY | FLAG_ERROR);
    expect(err.type).toBe(0x1234);
    const ev = encodeMessage({
      kind: 'SampleBlockEvent',
      body: { runId: 1, seq: 2, firstSample: 0, cellOffset: 0, data: tensorFromFloat64([1, 2], [1, 2], 'f32') },
    });
    expect(ev.flags).toBe(FLAG_EVENT);
  });

  it('omits absent optional fields and writes keys in schema order (canonical bytes)', () => {
    const a = encodeMessage({ kind: 'RunRequest', body: { start: 'carry', durationTau: 5, delayTau: undefined } });
    const b = encodeMessage({ kind: 'RunRequest', body: { durationTau: 5, start: 'carry' } });
    expect(a.payload.equals(b.payload)).toBe(true);
    // fixmap(2) "durationTau" 5 "start" "carry"
    expect(a.payload.toString('hex')).toBe('82' + 'ab' + Buffer.from('durationTau').toString('hex') + '05' + 'a5' + Buffer.from('start').toString('hex') + 'a5' + Buffer.from('carry').toString('hex'));
  });
});

describe('codec rejects what the schemas forbid (typed errors with wire codes)', () => {
  const cases: [string, () => unknown, number][] = [
    ['negative nonce', () => encodeFrame({ kind: 'HeartbeatRequest', body: { nonce: -1 } }, 1), ErrorCode.SCHEMA_INVALID],
    ['nonce above u32', () => encodeFrame({ kind: 'HeartbeatRequest', body: { nonce: 2 ** 32 } }, 1), ErrorCode.SCHEMA_INVALID],
    ['NaN kappa0', () => encodeFrame({ kind: 'ConfigureRequest', body: { kappa0: NaN, readout: 'mean', samplePeriodTau: 1, windowTau: 0, burnInTau: 0, integrator: { kind: 'exact' } } }, 1), ErrorCode.SCHEMA_INVALID],
    ['Infinity duration', () => encodeFrame({ kind: 'RunRequest', body: { durationTau: Infinity, start: 'carry' } }, 1), ErrorCode.SCHEMA_INVALID],
    ['unknown start mode', () => encodeFrame({ kind: 'RunRequest', body: { durationTau: 1, start: 'warm' as 'carry' } }, 1), ErrorCode.SCHEMA_INVALID],
    ['tensor byte length', () => encodeFrame({ kind: 'GradientRequest', body: { g: { dtype: 'f64', shape: [2], order: 'le', data: Buffer.alloc(15) } } }, 1), ErrorCode.TENSOR_INVALID],
    ['i16 without scale', () => encodeFrame({ kind: 'GradientRequest', body: { g: { dtype: 'i16', shape: [2], order: 'le', data: Buffer.alloc(4) } } }, 1), ErrorCode.TENSOR_INVALID],
  ];
  for (const [name, fn, code] of cases)
    it(name, () => {
      let err: unknown;
      try {
        fn();
      } catch (e) {
        err = e;
      }
      expect(err).toBeInstanceOf(SchemaError);
      expect((err as ProtocolError).code).toBe(code);
    });

  it('rejects a request id outside u32', () => {
    expect(() => encodeFrame({ kind: 'StatusRequest', body: {} }, 2 ** 32)).toThrow(ValueRangeError);
    expect(() => encodeFrame({ kind: 'StatusRequest', body: {} }, -1)).toThrow(ValueRangeError);
    expect(() => encodeFrame({ kind: 'Error', requestType: 0x10000, body: { code: 0x701, class: 'device', message: '' } }, 1)).toThrow(ValueRangeError);
  });
});

describe('typed errors', () => {
  it('builds the class from the code class and round-trips through an Error reply', () => {
    const e = protocolError(ErrorCode.NO_CURVATURE, 'no curvature committed', { state: 'READY' });
    expect(e).toBeInstanceOf(StateError);
    expect(e).toBeInstanceOf(ProtocolError);
    expect(e.errorClass).toBe('state');
    const msg = errorMessageFrom(e, OPERATIONS.Run.type);
    const d = decodeFrame(encodeFrame(msg, 77));
    expect(d.header.requestId).toBe(77);
    expect(d.header.type).toBe(OPERATIONS.Run.type);
    expect(d.message).toEqual({ kind: 'Error', requestType: 0x30, body: { code: 0x503, class: 'state', message: 'NO_CURVATURE: no curvature committed', detail: { state: 'READY' } } });
  });
  it('every code sits in its class range', () => {
    for (const [name, code] of Object.entries(ErrorCode)) {
      expect(code >= 0x100 && code < 0x800, name).toBe(true);
      expect(protocolError(code, 'x').code).toBe(code);
    }
  });
});

describe('packedSizeBound (message-level links size frames without encoding)', () => {
  it('is never below the real MessagePack size, and exact for integers, strings and bins', async () => {
    const { packedSizeBound, packPlain } = await import('../../src/protocol/index.ts');
    const plain = fc.letrec((tie) => ({
      value: fc.oneof(
        { depthSize: 'small' },
        fc.constant(null),
        fc.boolean(),
        fc.integer({ min: -(2 ** 40), max: 2 ** 40 }),
        fc.double({ noNaN: true }),
        fc.string({ unit: 'binary', maxLength: 300 }),
        fc.uint8Array({ maxLength: 70_000 }),
        fc.array(tie('value'), { maxLength: 20 }),
        fc.dictionary(fc.string({ maxLength: 8 }), tie('value'), { maxKeys: 20 }),
      ),
    })).value;
    fc.assert(
      fc.property(plain, (v) => {
        expect(packedSizeBound(v)).toBeGreaterThanOrEqual(packPlain(v).length);
      }),
      { numRuns: 300 },
    );
    for (const v of [0, 127, 128, 255, 256, 65535, 65536, 2 ** 32 - 1, -1, -32, -33, -128, -129, -32768, -32769, 'a'.repeat(31), 'é'.repeat(40), new Uint8Array(255), new Uint8Array(65536)])
      expect(packedSizeBound(v)).toBe(packPlain(v).length);
  });
});
