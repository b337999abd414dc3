// A long mixed stream with a known number of injected faults of every kind: the decoder must
// deliver every intact frame in order and count each fault exactly. Deterministic (seeded PRNG).
import { describe, expect, it } from 'vitest';
import { FrameDecoder, PROTOCOL_MAJOR, cobsEncode, crc32c, encodeFrame, encodeRawFrame, packPlain } from '../../src/protocol/index.ts';
import type { DecoderCounters, Message } from '../../src/protocol/index.ts';

const SEED = 20261128;
const FRAMES = 3000;
const MAX = 1024;

function xorshift(seed: number) {
  let s = seed >>> 0 || 1;
  return () => {
    s ^= s << 13;
    s >>>= 0;
    s ^= s >>> 17;
    s ^= s << 5;
    s >>>= 0;
    return s / 2 ** 32;
  };
}

const MESSAGES: Message[] = [
  { kind: 'HeartbeatRequest', body: { nonce: 9 } },
  { kind: 'RunRequest', body: { durationTau: 50, start: 'gradient', delayTau: 1.5 } },
  { kind: 'BulkChunkRequest', body: { transferId: 2, seq: 1, offset: 600, data: Buffer.from(Array.from({ length: 600 }, (_, i) => (i * 13) % 256)) } },
  { kind: 'StatusRequest', body: {} },
];

type Injected = 'badCrc' | 'oversize' | 'cobs' | 'unknownType' | 'unsupported' | 'schema';
const INJECTIONS: Injected[] = ['badCrc', 'oversize', 'cobs', 'unknownType', 'unsupported', 'schema'];

function faultBytes(kind: Injected, rnd: () => number): Buffer {
  switch (kind) {
    case 'badCrc': {
      // a valid COBS frame whose CRC trailer is off by one bit
      const raw = Buffer.concat([Buffer.from([1, 0, 3, 0, 1, 0, 0, 0]), packPlain({ nonce: Math.floor(rnd() * 1e6) })]);
      const crc = Buffer.alloc(4);
      crc.writeUInt32LE((crc32c(raw) ^ (1 << Math.floor(rnd() * 32))) >>> 0);
      return Buffer.concat([cobsEncode(Buffer.concat([raw, crc])), Buffer.from([0])]);
    }
    case 'oversize':
      return Buffer.concat([Buffer.alloc(MAX + 1 + Math.floor(rnd() * 3000), 0x33), Buffer.from([0])]);
    case 'cobs':
      return Buffer.from([0x20, 1, 2, 3, 0]);
    case 'unknownType':
      return encodeRawFrame({ version: PROTOCOL_MAJOR, flags: 0, type: 0x0100 + Math.floor(rnd() * 0xfe00), requestId: 5 }, packPlain({}));
    case 'unsupported':
      return encodeRawFrame({ version: 2 + Math.floor(rnd() * 250), flags: 0, type: 3, requestId: 6 }, packPlain({ nonce: 1 }));
    case 'schema':
      return encodeRawFrame({ version: PROTOCOL_MAJOR, flags: 0, type: 3, requestId: 7 }, packPlain({ nonce: -5 }));
  }
}

describe(`fault census: ${FRAMES} frames, ~25% followed by an injected fault (seed ${SEED})`, () => {
  it('delivers every intact frame in order and counts each injected fault exactly', () => {
    const rnd = xorshift(SEED);
    const parts: Buffer[] = [];
    const sent: number[] = [];
    const injected: Record<Injected, number> = { badCrc: 0, oversize: 0, cobs: 0, unknownType: 0, unsupported: 0, schema: 0 };
    let faultByteCount = 0;
    for (let i = 0; i < FRAMES; i++) {
      const f = encodeFrame(MESSAGES[i % MESSAGES.length], i);
      parts.push(f);
      sent.push(i);
      if (rnd() < 0.25) {
        const kind = INJECTIONS[Math.floor(rnd() * INJECTIONS.length)];
        const bytes = faultBytes(kind, rnd);
        injected[kind]++;
        faultByteCount += bytes.length - 1;
        parts.push(bytes);
      }
    }
    const stream = Buffer.concat(parts);
    const dec = new FrameDecoder({ maxFrameBytes: MAX });
    const got: number[] = [];
    let maxBuffered = 0;
    for (let pos = 0; pos < stream.length; ) {
      const n = 1 + Math.floor(rnd() * 5000); // random read sizes, 1…5000 bytes
      for (const fr of dec.push(stream.subarray(pos, pos + n))) got.push(fr.header.requestId);
      maxBuffered = Math.max(maxBuffered, dec.buffered);
      pos += n;
    }
    expect(got).toEqual(sent);
    const want: DecoderCounters = {
      framesOk: FRAMES,
      badCrc: injected.badCrc,
      oversize: injected.oversize,
      undecodable: injected.cobs + injected.schema,
      unknownType: injected.unknownType,
      unsupported: injected.unsupported,
      bytesDiscarded: faultByteCount,
      emptyFrames: 0,
    };
    expect(dec.counters).toEqual(want);
    expect(maxBuffered).toBeLessThanOrEqual(MAX);
    // the injection really exercised every kind
    for (const k of INJECTIONS) expect(injected[k], k).toBeGreaterThan(50);
  });
});
