import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import {
  ErrorCode,
  FrameDecoder,
  FrameDecoderStream,
  PROTOCOL_MAJOR,
  encodeFrame,
  encodeRawFrame,
  isKnownType,
  packPlain,
  tensorFromFloat64,
} from '../../src/protocol/index.ts';
import type { DecodedFrame, FrameFault, Message } from '../../src/protocol/index.ts';

const MAX = 512;
const faultTotal = (d: FrameDecoder) => d.counters.badCrc + d.counters.oversize + d.counters.undecodable + d.counters.unknownType + d.counters.unsupported;

/** A few frames of different shapes, including one with 2+ COBS blocks (a 300-byte bin). */
function sampleFrames(): { msg: Message; id: number; bytes: Buffer }[] {
  const msgs: Message[] = [
    { kind: 'HeartbeatRequest', body: { nonce: 1 } },
    { kind: 'GradientRequest', body: { g: tensorFromFloat64([0, 1, 0, -2, 0.5, 0], [6], 'f64') } },
    { kind: 'BulkChunkRequest', body: { transferId: 3, seq: 0, offset: 0, data: Buffer.from(Array.from({ length: 300 }, (_, i) => i % 7)) } },
    { kind: 'StatusRequest', body: {} },
    { kind: 'RunReply', body: { runId: 4, analogTimeTau: 50, sampleCount: 100, flags: ['saturated'] } },
  ];
  return msgs.map((msg, i) => ({ msg, id: 100 + i, bytes: encodeFrame(msg, 100 + i) }));
}

function collect(maxFrameBytes = MAX) {
  const faults: FrameFault[] = [];
  const d = new FrameDecoder({ maxFrameBytes, onFault: (f) => faults.push(f) });
  return { d, faults };
}

/** Input bytes = delimiters + discarded + bytes of good frames (after reset() drops a tail). */
function conserved(d: FrameDecoder, input: Uint8Array, frames: DecodedFrame[]) {
  let zeros = 0;
  for (const b of input) if (b === 0) zeros++;
  d.reset();
  const good = frames.reduce((a, f) => a + f.encodedBytes, 0);
  expect(zeros + d.counters.bytesDiscarded + good).toBe(input.length);
}

describe('FrameDecoder on hostile input', () => {
  it('random bytes: never throws, never holds more than maxFrameBytes, conserves every byte', () => {
    fc.assert(
      fc.property(fc.array(fc.uint8Array({ minLength: 0, maxLength: 700 }), { maxLength: 8 }), (chunks) => {
        const { d } = collect();
        const frames: DecodedFrame[] = [];
        for (const c of chunks) {
          frames.push(...d.push(c));
          expect(d.buffered).toBeLessThanOrEqual(MAX);
        }
        expect(frames).toHaveLength(0); // a random frame passes CRC-32C with p = 2^-32
        conserved(d, Buffer.concat(chunks), frames);
      }),
      { numRuns: 200 },
    );
  });

  it('garbage between frames: every frame decodes, each non-empty garbage piece is exactly one fault', () => {
    const frames = sampleFrames();
    fc.assert(
      fc.property(fc.array(fc.tuple(fc.uint8Array({ maxLength: 40 }), fc.nat(frames.length - 1)), { minLength: 1, maxLength: 10 }), (parts) => {
        const { d, faults } = collect();
        const pieces: Buffer[] = [];
        let expectedFaults = 0;
        for (const [garbage, fi] of parts) {
          const g = Buffer.concat([Buffer.from(garbage), Buffer.from([0])]);
          let run = 0;
          for (const b of g) {
            if (b === 0) {
              if (run > 0) expectedFaults++;
              run = 0;
            } else run++;
          }
          pieces.push(g, frames[fi].bytes);
        }
        const input = Buffer.concat(pieces);
        const out = d.push(input);
        expect(out.map((f) => f.message)).toEqual(parts.map(([, fi]) => frames[fi].msg));
        expect(faultTotal(d)).toBe(expectedFaults);
        expect(faults).toHaveLength(expectedFaults);
        expect(d.counters.framesOk).toBe(parts.length);
        conserved(d, input, out);
      }),
      { numRuns: 200 },
    );
  });

  it('a stream split at every byte boundary decodes identically (and byte by byte)', () => {
    const frames = sampleFrames();
    const stream = Buffer.concat(frames.map((f) => f.bytes));
    for (let k = 0; k <= stream.length; k++) {
      const { d } = collect();
      const out = [...d.push(stream.subarray(0, k)), ...d.push(stream.subarray(k))];
      expect(out.map((f) => f.header.requestId)).toEqual(frames.map((f) => f.id));
      expect(faultTotal(d)).toBe(0);
    }
    const { d } = collect();
    const out: DecodedFrame[] = [];
    for (const b of stream) out.push(...d.push(Uint8Array.of(b)));
    expect(out.map((f) => f.message)).toEqual(frames.map((f) => f.msg));
    expect(d.counters.framesOk).toBe(frames.length);
  });

  it('truncated frames: one fault each; a leading delimiter protects the next frame, its absence costs it', () => {
    const [a, b, c] = sampleFrames().map((f) => f.bytes);
    for (let cut = 1; cut < a.length - 1; cut++) {
      // with a leading delimiter before the next frame: only the truncated frame is lost
      const { d: d1 } = collect();
      const out1 = d1.push(Buffer.concat([a.subarray(0, cut), Buffer.from([0]), b, c]));
      expect(out1).toHaveLength(2);
      expect(faultTotal(d1)).toBe(1);
      // without: the fragment merges with the next frame, which is lost too; the one after decodes
      const { d: d2 } = collect();
      const out2 = d2.push(Buffer.concat([a.subarray(0, cut), b, c]));
      expect(out2.map((f) => f.header.requestId)).toEqual([104 - 2]);
      expect(faultTotal(d2)).toBe(1);
    }
  });

  it('single bit flips anywhere in a frame: no corrupted frame is accepted, the following frame decodes', () => {
    const [a, b] = sampleFrames().map((f) => f.bytes);
    let checked = 0;
    for (let bit = 0; bit < (a.length - 1) * 8; bit++) {
      const bad = Buffer.from(a);
      bad[bit >> 3] ^= 1 << (bit & 7);
      const { d } = collect();
      const out = d.push(Buffer.concat([bad, b]));
      // the flip may create a 0x00 inside the frame: each non-empty piece is one fault
      const pieces = bad.subarray(0, bad.length - 1).toString('hex').match(/../g)!.join(' ').split(/(?:^| )00(?: |$)/).filter((p) => p.length > 0).length;
      expect(out.map((f) => f.header.requestId)).toEqual([101]);
      expect(faultTotal(d)).toBe(pieces);
      checked++;
    }
    expect(checked).toBe((a.length - 1) * 8);
  });

  it('oversize frames are dropped without buffering, counted once, and the next frame decodes', () => {
    const big = encodeFrame({ kind: 'BulkChunkRequest', body: { transferId: 1, seq: 0, offset: 0, data: Buffer.alloc(3 * MAX, 7) } }, 9);
    const next = encodeFrame({ kind: 'HeartbeatRequest', body: { nonce: 5 } }, 10);
    const input = Buffer.concat([big, next, big, next]);
    for (const chunk of [1, 7, 64, 4096]) {
      const { d, faults } = collect();
      const out: DecodedFrame[] = [];
      for (let i = 0; i < input.length; i += chunk) {
        out.push(...d.push(input.subarray(i, i + chunk)));
        expect(d.buffered).toBeLessThanOrEqual(MAX);
      }
      expect(out.map((f) => f.header.requestId)).toEqual([10, 10]);
      expect(d.counters.oversize).toBe(2);
      expect(faults.map((f) => f.error.code)).toEqual([ErrorCode.FRAME_TOO_LARGE, ErrorCode.FRAME_TOO_LARGE]);
      expect(d.counters.bytesDiscarded).toBe(2 * (big.length - 1));
    }
    // an endless run without a delimiter is one oversize fault, whatever its length
    const { d } = collect();
    for (let i = 0; i < 100; i++) d.push(Buffer.alloc(1000, 0x41));
    expect(d.counters.oversize).toBe(1);
    expect(d.counters.bytesDiscarded).toBe(100_000);
    expect(d.push(next)).toHaveLength(0); // still inside the overlong frame until a 0x00
    expect(d.push(next)).toHaveLength(1);
  });

  it('corrupted header with a valid CRC: the fault class follows the header rules and carries the request id', () => {
    const payload = packPlain({ nonce: 3 });
    fc.assert(
      fc.property(fc.integer({ min: 0, max: 255 }), fc.integer({ min: 0, max: 255 }), fc.constantFrom(0x0003, 0x0002, 0x0040, 0x7777, 0xffff, 0), fc.integer({ min: 0, max: 0xffffffff }), (version, flags, type, requestId) => {
        const { d, faults } = collect();
        const out = d.push(encodeRawFrame({ version, flags, type, requestId }, payload));
        const reply = (flags & 1) !== 0;
        const error = (flags & 2) !== 0;
        const event = (flags & 4) !== 0;
        let want: string;
        if (version !== PROTOCOL_MAJOR || flags & 8 || (error && !reply) || (event && reply)) want = 'unsupported';
        else if (error) want = 'undecodable'; // {nonce} is not an Error body
        else if (event ? type !== 0x0040 : !isKnownType(type) || type === 0x0040) want = 'unknownType';
        else if ((type === 0x0003 || type === 0x0002) && !reply) want = 'ok'; // Status ignores the unknown key
        else want = 'undecodable'; // the payload does not fit that message's schema
        if (want === 'ok') expect(out).toHaveLength(1);
        else {
          expect(out).toHaveLength(0);
          expect(faults).toHaveLength(1);
          expect(faults[0].kind).toBe(want);
          expect(faults[0].header?.requestId).toBe(requestId);
        }
      }),
      { numRuns: 400 },
    );
  });

  it('a throwing fault listener does not break decoding', () => {
    const d = new FrameDecoder({
      onFault: () => {
        throw new Error('listener bug');
      },
    });
    const ok = encodeFrame({ kind: 'StatusRequest', body: {} }, 1);
    expect(d.push(Buffer.concat([Buffer.from([1, 2, 3, 0]), ok]))).toHaveLength(1);
    expect(d.counters.undecodable).toBe(1);
  });
});

describe('FrameDecoderStream (Node Transform)', () => {
  it('emits decoded frames in object mode and faults as events, never an error', async () => {
    const frames = sampleFrames();
    const s = new FrameDecoderStream({ maxFrameBytes: MAX });
    const got: DecodedFrame[] = [];
    const faults: FrameFault[] = [];
    let errored = false;
    s.on('data', (f: DecodedFrame) => got.push(f));
    s.on('fault', (f: FrameFault) => faults.push(f));
    s.on('error', () => (errored = true));
    const input = Buffer.concat([Buffer.from([9, 9, 9, 0]), ...frames.map((f) => f.bytes), Buffer.alloc(2000, 1), Buffer.from([0]), frames[0].bytes, Buffer.from([5, 5])]);
    for (let i = 0; i < input.length; i += 13) s.write(input.subarray(i, i + 13));
    s.end();
    await new Promise((r) => s.on('end', r));
    expect(errored).toBe(false);
    expect(got.map((f) => f.header.requestId)).toEqual([...frames.map((f) => f.id), frames[0].id]);
    expect(faults.map((f) => f.kind)).toEqual(['undecodable', 'oversize']);
    expect(s.counters.framesOk).toBe(frames.length + 1);
    // 3 garbage + 2000 oversize + 2-byte tail dropped at end of stream
    expect(s.counters.bytesDiscarded).toBe(3 + 2000 + 2);
  });
});
