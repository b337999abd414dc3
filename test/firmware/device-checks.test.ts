// firmware-spec/vectors/protocol/device-checks.json: the answer a device gives when a request
// breaks several rules at once (PROTOCOL.md §10.1 check order, §5.1, §7.4.1 upload rules, §7.4.2
// layered shapes, §7.5, §7.7). The expectations below are written down independently of the generator, which computes
// them by driving the emulated device.
import { readFileSync } from 'node:fs';
import { describe, expect, it } from 'vitest';
import { ErrorCode, FLAG_ERROR, FLAG_REPLY } from '../../src/protocol/index.ts';
import { DEVICE_CHECKS_FILE, deviceChecksText } from '../../scripts/gen-device-check-vectors.ts';
import type { DeviceCheckVector } from '../../scripts/gen-device-check-vectors.ts';

const vectors: DeviceCheckVector[] = JSON.parse(readFileSync(DEVICE_CHECKS_FILE, 'utf8'));

const ok = { framesOk: 1, undecodable: 0, unknownType: 0, unsupported: 0 };
const undecodable = { framesOk: 0, undecodable: 1, unknownType: 0, unsupported: 0 };
const unsupported = { framesOk: 0, undecodable: 0, unknownType: 0, unsupported: 1 };
const E = ErrorCode;
const EXPECTED: Record<string, { answer: number | string; reason?: string; counters: typeof ok }> = {
  'version-before-flags': { answer: E.VERSION_UNSUPPORTED, counters: unsupported },
  'must-flag-before-combination': { answer: E.UNKNOWN_MUST_FLAG, counters: unsupported },
  'combination-before-type': { answer: E.BAD_FLAGS, counters: unsupported },
  'type-before-msgpack': { answer: E.UNKNOWN_TYPE, counters: { framesOk: 0, undecodable: 0, unknownType: 1, unsupported: 0 } },
  'msgpack-before-schema': { answer: E.MSGPACK_INVALID, counters: undecodable },
  'schema-before-state': { answer: E.SCHEMA_INVALID, counters: undecodable },
  'tensor-before-state': { answer: E.TENSOR_INVALID, counters: undecodable },
  'schema-before-tensor': { answer: E.SCHEMA_INVALID, counters: undecodable },
  'state-for-a-valid-body': { answer: E.NOT_CONFIGURED, counters: ok },
  'state-before-operation-checks': { answer: E.NOT_CONFIGURED, counters: ok },
  'reply-to-device': { answer: E.BAD_FLAGS, counters: ok },
  'reply-to-device-bad-body': { answer: E.SCHEMA_INVALID, counters: undecodable },
  'event-to-device': { answer: E.BAD_FLAGS, counters: ok },
  'event-to-device-bad-body': { answer: E.SCHEMA_INVALID, counters: undecodable },
  'error-to-device': { answer: E.BAD_FLAGS, counters: ok },
  'factored-lambda-zero': { answer: E.OUT_OF_RANGE, reason: 'lambda-not-positive', counters: ok },
  'factored-negative-d': { answer: E.OUT_OF_RANGE, reason: 'negative-diagonal', counters: ok },
  'factored-h-indefinite': { answer: E.OUT_OF_RANGE, reason: 'not-positive-semidefinite', counters: ok },
  'factored-h-asymmetric': { answer: E.OUT_OF_RANGE, reason: 'not-symmetric', counters: ok },
  'dense-asymmetric': { answer: E.OUT_OF_RANGE, reason: 'not-symmetric', counters: ok },
  'dense-indefinite-committed': { answer: 'CurvatureReply', counters: ok },
  'state-reset-without-curvature': { answer: 'StateResetReply', counters: ok },
  'results-read-past-end': { answer: E.OUT_OF_RANGE, counters: ok },
  'results-read-too-large': { answer: E.REPLY_TOO_LARGE, counters: ok },
  'results-read-formula-fits': { answer: 'ResultsReadReply', counters: ok },
  'layered-columns': { answer: E.SHAPE_MISMATCH, reason: 'columns', counters: ok },
  'layered-rows-per-sample': { answer: E.SHAPE_MISMATCH, reason: 'rows-per-sample', counters: ok },
  'layered-accepted': { answer: 'CurvatureReply', counters: ok },
};

describe('device-check vectors (firmware-spec/vectors/protocol/device-checks.json)', () => {
  it('cover the listed cases', () => {
    expect(vectors.map((v) => v.name).sort()).toEqual(Object.keys(EXPECTED).sort());
  });
  for (const v of vectors)
    it(`${v.name}: ${v.description}`, () => {
      const want = EXPECTED[v.name];
      const a = v.expect.answer;
      expect(a.requestId).toBe(0x77);
      if (typeof want.answer === 'number') {
        expect(a.flags).toBe(FLAG_REPLY | FLAG_ERROR);
        expect(a.code).toBe(want.answer);
        expect(a.reason).toBe(want.reason);
      } else {
        expect(a.flags).toBe(FLAG_REPLY);
        expect(a.kind).toBe(want.answer);
      }
      expect(v.expect.countersDelta).toEqual(want.counters);
    });
  it('the checked-in file is what the emulated device answers today (npm run gen:protocol)', async () => {
    expect(await deviceChecksText()).toBe(readFileSync(DEVICE_CHECKS_FILE, 'utf8'));
  }, 60_000);
});
