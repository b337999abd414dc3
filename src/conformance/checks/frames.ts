// PROTOCOL.md §2–§5, §9.1: malformed frames are dropped or answered exactly as the fault table
// says, counted in the right counter, and never stop the device from answering the next frame.
import { ErrorCode, FLAG_ERROR, FLAG_EVENT, FLAG_MORE, FLAG_REPLY, FLAG_RESERVED_MUST, OPERATIONS, cobsEncode, packPlain } from '../../protocol/index.ts';
import type { LinkCounters } from '../../protocol/index.ts';
import type { CheckContext } from '../context.ts';
import { f64 } from '../context.ts';
import type { CheckDef } from '../types.ts';

const STATUS = OPERATIONS.Status.type;
const EMPTY_MAP = Buffer.of(0x80);

function delta(a: LinkCounters, b: LinkCounters): Record<keyof LinkCounters, number> {
  const out = {} as Record<keyof LinkCounters, number>;
  for (const k of Object.keys(a) as (keyof LinkCounters)[]) out[k] = ((b[k] - a[k]) >>> 0);
  return out;
}

/** Counter changes caused by `act`, excluding the two Status requests used to measure them. */
async function counted(ctx: CheckContext, act: () => Promise<void>): Promise<Record<keyof LinkCounters, number>> {
  const before = (await ctx.status()).counters;
  await act();
  const after = (await ctx.status()).counters;
  return delta(before, after);
}

async function lastQueued(ctx: CheckContext): Promise<{ code: number; requestId: number; type: number } | undefined> {
  const e = await ctx.readAllErrors();
  return e[e.length - 1];
}

export const frameChecks: CheckDef[] = [
  {
    id: 'frame.bad-crc',
    title: 'Bad CRC: dropped, not answered, counted (badCrc), queued as BAD_CRC with requestId 0',
    async run(ctx) {
      await ctx.request('ErrorsClear', {});
      const f = ctx.frame(STATUS, EMPTY_MAP, { badCrc: true });
      const d = await counted(ctx, async () => void (await ctx.expectNoReply(f.bytes, f.requestId, 'bad CRC')));
      ctx.expect(d.badCrc === 1, `badCrc went up by ${d.badCrc}, expected 1`, d);
      const q = await lastQueued(ctx);
      ctx.expect(q?.code === ErrorCode.BAD_CRC && q.requestId === 0, `error queue should end with BAD_CRC (requestId 0), has ${JSON.stringify(q)}`);
      return { counters: d };
    },
  },
  {
    id: 'frame.oversize',
    title: 'A frame longer than maxFrameBytes: dropped to the next 0x00, not answered, counted (oversize)',
    async run(ctx) {
      const n = ctx.caps.maxFrameBytes + 100;
      const bytes = Buffer.concat([Buffer.alloc(n, 0x41), Buffer.of(0)]);
      const d = await counted(ctx, async () => void (await ctx.expectNoReply(bytes, null, 'oversize frame')));
      ctx.expect(d.oversize === 1, `oversize went up by ${d.oversize}, expected 1`, d);
      ctx.expect(d.bytesDiscarded >= n, `bytesDiscarded went up by ${d.bytesDiscarded}, expected ≥ ${n}`, d);
      return { counters: d };
    },
  },
  {
    id: 'frame.cobs-invalid',
    title: 'Invalid COBS and a too-short frame: not answered, counted (undecodable)',
    async run(ctx) {
      // Block code 0x09 promises 8 bytes, the delimiter comes after 3; and a 5-byte inner frame.
      const cobsBad = Buffer.of(0x09, 1, 2, 3, 0);
      const short = Buffer.concat([cobsEncode(Buffer.of(1, 0, 2, 0, 5)), Buffer.of(0)]);
      const d = await counted(ctx, async () => {
        await ctx.expectNoReply(cobsBad, null, 'invalid COBS');
        await ctx.expectNoReply(short, null, 'short frame');
      });
      ctx.expect(d.undecodable === 2, `undecodable went up by ${d.undecodable}, expected 2`, d);
      return { counters: d };
    },
  },
  {
    id: 'frame.unknown-type',
    title: 'Unknown type: answered UNKNOWN_TYPE echoing id and type; counted (unknownType)',
    async run(ctx) {
      const d = await counted(ctx, () => ctx.rawExpectError(0x7777, EMPTY_MAP, ErrorCode.UNKNOWN_TYPE, 'type 0x7777'));
      ctx.expect(d.unknownType === 1, `unknownType went up by ${d.unknownType}`, d);
      // An EVENT flag with a request type is not an event type either.
      await ctx.rawExpectError(STATUS, EMPTY_MAP, ErrorCode.UNKNOWN_TYPE, 'Status type with EVENT flag', { flags: FLAG_EVENT });
      return { counters: d };
    },
  },
  {
    id: 'frame.flags',
    title: 'Reserved must-understand flag → UNKNOWN_MUST_FLAG; ERROR without REPLY, replies sent to the device → BAD_FLAGS',
    async run(ctx) {
      const d = await counted(ctx, async () => {
        await ctx.rawExpectError(STATUS, EMPTY_MAP, ErrorCode.UNKNOWN_MUST_FLAG, 'flag 0x08', { flags: FLAG_RESERVED_MUST });
        await ctx.rawExpectError(STATUS, EMPTY_MAP, ErrorCode.BAD_FLAGS, 'ERROR without REPLY', { flags: FLAG_ERROR });
      });
      ctx.expect(d.unsupported === 2, `unsupported went up by ${d.unsupported}, expected 2`, d);
      await ctx.rawExpectError(OPERATIONS.Heartbeat.type, packPlain({ nonce: 1, uptimeMs: 1, state: 'IDLE' }), ErrorCode.BAD_FLAGS, 'a reply sent to the device', { flags: FLAG_REPLY });
      return { counters: d };
    },
  },
  {
    id: 'frame.may-ignore',
    title: 'May-ignore flag bits (MORE, 0x20–0x80) and unknown keys are ignored',
    async run(ctx) {
      for (const flags of [FLAG_MORE, 0x20, 0xe0]) {
        const f = await ctx.raw(STATUS, EMPTY_MAP, { flags });
        ctx.expect(f.message.kind === 'StatusReply', `Status with flags 0x${flags.toString(16)} answered ${f.message.kind}`);
      }
      const h = await ctx.raw(OPERATIONS.Heartbeat.type, { nonce: 42, futureField: [1, 2, 3], another: 'x' });
      ctx.expect(h.message.kind === 'HeartbeatReply' && h.message.body.nonce === 42, `Heartbeat with unknown keys answered ${h.message.kind}`);
    },
  },
  {
    id: 'frame.version',
    title: 'Header major ≠ 1 → VERSION_UNSUPPORTED, counted (unsupported)',
    async run(ctx) {
      const d = await counted(ctx, () => ctx.rawExpectError(STATUS, EMPTY_MAP, ErrorCode.VERSION_UNSUPPORTED, 'header major 2', { version: 2 }));
      ctx.expect(d.unsupported === 1, `unsupported went up by ${d.unsupported}`, d);
      return { counters: d };
    },
  },
  {
    id: 'frame.msgpack',
    title: 'Payload not exactly one MessagePack value (trailing bytes, empty, truncated) → MSGPACK_INVALID',
    async run(ctx) {
      const d = await counted(ctx, async () => {
        await ctx.rawExpectError(STATUS, Buffer.of(0x80, 0x80), ErrorCode.MSGPACK_INVALID, 'trailing bytes');
        await ctx.rawExpectError(STATUS, Buffer.alloc(0), ErrorCode.MSGPACK_INVALID, 'empty payload');
        await ctx.rawExpectError(STATUS, Buffer.of(0x82, 0xa1), ErrorCode.MSGPACK_INVALID, 'truncated map');
      });
      ctx.expect(d.undecodable === 3, `undecodable went up by ${d.undecodable}, expected 3`, d);
      return { counters: d };
    },
  },
  {
    id: 'frame.msgpack-0xc1',
    title: "The byte 0xC1 ('never used' in MessagePack) as payload → MSGPACK_INVALID",
    async run(ctx) {
      await ctx.rawExpectError(STATUS, Buffer.of(0xc1), ErrorCode.MSGPACK_INVALID, 'payload 0xc1');
    },
  },
  {
    id: 'frame.schema',
    title: 'Bodies breaking the schema → SCHEMA_INVALID; inconsistent tensors → TENSOR_INVALID',
    async run(ctx) {
      await ctx.rawExpectError(OPERATIONS.Heartbeat.type, { nonce: 'x' }, ErrorCode.SCHEMA_INVALID, 'Heartbeat nonce as string');
      await ctx.rawExpectError(OPERATIONS.Heartbeat.type, { nonce: -1 }, ErrorCode.SCHEMA_INVALID, 'Heartbeat nonce −1');
      await ctx.rawExpectError(OPERATIONS.ErrorsRead.type, { max: 0 }, ErrorCode.SCHEMA_INVALID, 'ErrorsRead max 0');
      await ctx.rawExpectError(OPERATIONS.Configure.type, { kappa0: 0.1 }, ErrorCode.SCHEMA_INVALID, 'Configure without required fields');
      await ctx.rawExpectError(STATUS, packPlain([1, 2]), ErrorCode.SCHEMA_INVALID, 'array instead of map');
      const t = f64([1, 2, 3], [3]);
      await ctx.rawExpectError(OPERATIONS.Gradient.type, { g: { ...t, shape: [4] } }, ErrorCode.TENSOR_INVALID, 'tensor with 24 bytes for shape [4]');
      await ctx.rawExpectError(OPERATIONS.Gradient.type, { g: { dtype: 'i16', shape: [1], order: 'le', data: Buffer.of(1, 0) } }, ErrorCode.TENSOR_INVALID, 'i16 tensor without scale');
    },
  },
  {
    id: 'frame.empty-and-garbage',
    title: 'Empty frames are ignored; after random garbage the device answers the next frame',
    async run(ctx) {
      const zeros = Buffer.alloc(16);
      const d0 = await counted(ctx, async () => void (await ctx.expectNoReply(zeros, null, 'empty frames')));
      const faults = d0.badCrc + d0.oversize + d0.undecodable + d0.unknownType + d0.unsupported;
      ctx.expect(faults === 0 && d0.bytesDiscarded === 0, 'consecutive 0x00 bytes were counted as faults', d0);
      // Deterministic garbage with delimiters inside (xorshift32).
      let x = 0x9e3779b9;
      const junk = Buffer.alloc(2000);
      for (let i = 0; i < junk.length; i++) {
        x ^= x << 13;
        x ^= x >>> 17;
        x ^= x << 5;
        junk[i] = x & 0xff;
      }
      const d = await counted(ctx, async () => {
        ctx.dev.channel.writeRaw(Buffer.concat([junk, Buffer.of(0)]));
        const h = await ctx.request('Heartbeat', { nonce: 99 });
        ctx.expect(h.nonce === 99, 'no Heartbeat reply after garbage');
      });
      ctx.expect(d.bytesDiscarded > 0, 'garbage left no trace in bytesDiscarded', d);
      return { counters: d };
    },
  },
  {
    id: 'frame.counters',
    title: 'framesOk counts every good frame',
    async run(ctx) {
      const d = await counted(ctx, async () => {
        for (let i = 0; i < 5; i++) await ctx.request('Heartbeat', { nonce: i });
      });
      // 5 heartbeats + the closing Status of counted() (the opening one is counted before the snapshot).
      ctx.expect(d.framesOk === 6, `framesOk went up by ${d.framesOk}, expected 6`, d);
      return { counters: d };
    },
  },
];
