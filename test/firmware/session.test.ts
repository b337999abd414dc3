// Handshake, liveness and the state table, at the message level over the device Duplex.
import { afterEach, describe, expect, it } from 'vitest';
import {
  DEVICE_STATES,
  ErrorCode,
  LEGALITY,
  OPERATIONS,
  PROTOCOL_VERSION,
  SCHEMA_FINGERPRINT,
  HelloReplySchema,
  errorCodeName,
} from '../../src/protocol/index.ts';
import type { OpName } from '../../src/protocol/index.ts';
import { createEmulatedDevice } from '../../src/emulator/index.ts';
import { TestHost } from './host.ts';
import { bodyFor, prepare } from './setup.ts';
import type { Prepared } from './setup.ts';

const hosts: TestHost[] = [];
const track = (h: TestHost): TestHost => (hosts.push(h), h);
afterEach(() => {
  for (const h of hosts.splice(0)) h.close();
});

describe('handshake', () => {
  it('answers Hello with identity, capabilities matching the options, the schema fingerprint and a fresh session id', async () => {
    const h = track(new TestHost(createEmulatedDevice({ seed: 0xbeef, maxCells: 100, maxRank: 7, maxFrameBytes: 2048, identity: { serial: 'BENCH-7' } })));
    const a = await h.hello();
    expect(HelloReplySchema.safeParse(a).success).toBe(true);
    expect(a.major).toBe(PROTOCOL_VERSION.major);
    expect(a.schemaFingerprint).toBe(SCHEMA_FINGERPRINT);
    expect(a.identity).toEqual({ vendor: 'tngd', model: 'spu-emulator', serial: 'BENCH-7', firmware: '0.2.0' });
    expect(a.capabilities).toMatchObject({ maxCells: 100, maxRank: 7, maxFrameBytes: 2048, dtypes: ['f64', 'f32', 'i16'], dacBits: 0, adcBits: 0, fullScale: 8 });
    expect(a.capabilities.features).toContain('emulator');
    const b = await h.hello();
    expect(b.sessionId).toBe(a.sessionId + 1);
  });

  it('advertises the prototype profile converters (16-bit DAC and ADC)', async () => {
    const h = track(new TestHost(createEmulatedDevice({ profile: 'prototype' })));
    expect((await h.hello()).capabilities).toMatchObject({ dacBits: 16, adcBits: 16 });
  });

  it('refuses another major with VERSION_UNSUPPORTED listing the supported majors; negotiates minor = min(host, device)', async () => {
    const h = track(new TestHost(createEmulatedDevice()));
    const bad = await h.request('Hello', { major: 2, minor: 0, host: 'future', maxFrameBytes: 4096, schemaFingerprint: SCHEMA_FINGERPRINT });
    expect(bad.ok).toBe(false);
    if (!bad.ok) {
      expect(bad.code).toBe(ErrorCode.VERSION_UNSUPPORTED);
      expect(bad.error.body.detail).toEqual({ supportedMajors: [1] });
      expect(bad.frame.header.requestId).toBe(1);
    }
    const ok = await h.ok('Hello', { major: 1, minor: 9, host: 'newer', maxFrameBytes: 4096, schemaFingerprint: '0000000000000000' });
    expect(ok.minor).toBe(PROTOCOL_VERSION.minor);
  });

  it('echoes Heartbeat nonces and request ids, including id 0 and 2^32−1', async () => {
    const h = track(new TestHost(createEmulatedDevice()));
    for (const [id, nonce] of [[0, 0], [0xffffffff, 0xffffffff], [77, 123456]]) {
      const s = h.send('Heartbeat', { nonce }, id);
      const a = await s.answer;
      expect(a.frame.header.requestId).toBe(id);
      expect(a.ok && a.body).toMatchObject({ nonce, state: 'IDLE' });
    }
  });
});

describe('state table: every request in every state', () => {
  const OPS = Object.keys(OPERATIONS) as OpName[];
  for (const state of DEVICE_STATES) {
    it(`${state}: illegal requests get the table's error code, legal ones are served`, async () => {
      const outcomes: string[] = [];
      for (const op of OPS) {
        const p: Prepared = await prepare(state);
        track(p.host);
        const a = await p.host.request(op, bodyFor(op, p));
        const want = LEGALITY[op][state];
        if (want === null) outcomes.push(`${op}: ${a.ok ? 'ok' : errorCodeName(a.code)}`);
        else outcomes.push(`${op}: ${a.ok ? 'ok' : errorCodeName(a.code)} (want ${errorCodeName(want)})`);
        // the error names the request it answers
        if (!a.ok) expect(a.error.requestType).toBe(OPERATIONS[op].type);
        p.host.close();
      }
      const expected = OPS.map((op) => {
        const want = LEGALITY[op][state];
        return want === null ? `${op}: ok` : `${op}: ${errorCodeName(want)} (want ${errorCodeName(want)})`;
      });
      expect(outcomes).toEqual(expected);
    });
  }

  it('FAULT is left only by DeviceReset, which returns the device to IDLE', async () => {
    const p = await prepare('FAULT');
    track(p.host);
    expect((await p.host.ok('Status', {})).state).toBe('FAULT');
    expect(await p.host.code('Configure', bodyFor('Configure', p) as never)).toBe(ErrorCode.ILLEGAL_IN_STATE);
    await p.host.ok('DeviceReset', {});
    expect((await p.host.ok('Status', {})).state).toBe('IDLE');
    expect((await p.host.ok('Configure', bodyFor('Configure', p) as never)).state).toBe('READY');
  });
});
