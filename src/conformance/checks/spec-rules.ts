// PROTOCOL.md §5 (MessagePack keys and type bytes), §5.1 (SCHEMA_INVALID over TENSOR_INVALID),
// §10.1 (the order of checks; a reply or event sent to a device) and §7.4.1 (curvature upload
// rules refused at upload): the places where an outside implementation had to guess.
import { ErrorCode, FLAG_EVENT, FLAG_REPLY, EVENTS, OPERATIONS, packPlain } from '../../protocol/index.ts';
import type { RequestBody } from '../../protocol/index.ts';
import { f64 } from '../context.ts';
import type { CheckDef } from '../types.ts';

const HEARTBEAT = OPERATIONS.Heartbeat.type;
const CURVATURE = OPERATIONS.Curvature.type;
const GRADIENT = OPERATIONS.Gradient.type;
const nonceMap = (rest: string) => Buffer.from(`81a56e6f6e6365${rest}`, 'hex'); // {"nonce": …}

export const specRuleChecks: CheckDef[] = [
  {
    id: 'order.body-before-state',
    title: 'In IDLE a malformed Curvature is SCHEMA_INVALID / TENSOR_INVALID, a well-formed one NOT_CONFIGURED; SCHEMA_INVALID wins over TENSOR_INVALID',
    async run(ctx) {
      await ctx.fresh();
      const a = f64([2, 0, 0, 2], [2, 2]);
      const short = { ...a, data: a.data.subarray(0, 24) };
      await ctx.rawExpectError(CURVATURE, { form: 'dense', a, lambda: -1 }, ErrorCode.SCHEMA_INVALID, 'Curvature with lambda −1 in IDLE');
      await ctx.rawExpectError(CURVATURE, { form: 'dense', a: short, lambda: 0 }, ErrorCode.TENSOR_INVALID, 'Curvature with a short tensor in IDLE');
      await ctx.rawExpectError(CURVATURE, { form: 'dense', a: short, lambda: -1 }, ErrorCode.SCHEMA_INVALID, 'short tensor and lambda −1');
      await ctx.rawExpectError(CURVATURE, ctx.curvatureBody([2, 0, 0, 2], 2), ErrorCode.NOT_CONFIGURED, 'a valid Curvature in IDLE');
    },
  },
  {
    id: 'order.reply-to-device',
    title: 'A reply or event sent to the device: SCHEMA_INVALID if its body is not a valid reply/event body, else BAD_FLAGS',
    async run(ctx) {
      await ctx.rawExpectError(HEARTBEAT, { nonce: 1, uptimeMs: 5, state: 'IDLE' }, ErrorCode.BAD_FLAGS, 'a well-formed Heartbeat reply', { flags: FLAG_REPLY });
      await ctx.rawExpectError(HEARTBEAT, { nonce: 1 }, ErrorCode.SCHEMA_INVALID, 'a REPLY frame with a request body', { flags: FLAG_REPLY });
      const block = { runId: 1, seq: 0, firstSample: 1, cellOffset: 0, data: f64([0.5], [1, 1]) };
      await ctx.rawExpectError(EVENTS.SampleBlock.type, block, ErrorCode.BAD_FLAGS, 'a well-formed SampleBlock event', { flags: FLAG_EVENT });
    },
  },
  {
    id: 'msgpack.keys-and-bytes',
    title: 'Non-str, repeated or invalid-UTF-8 map keys → MSGPACK_INVALID; 0xC1 inside bin data is data',
    async run(ctx) {
      await ctx.rawExpectError(HEARTBEAT, Buffer.from('820107a56e6f6e636501', 'hex'), ErrorCode.MSGPACK_INVALID, 'int map key');
      await ctx.rawExpectError(HEARTBEAT, Buffer.from('81c4056e6f6e636501', 'hex'), ErrorCode.MSGPACK_INVALID, 'bin map key "nonce"');
      await ctx.rawExpectError(HEARTBEAT, Buffer.from('82a56e6f6e636501a56e6f6e636502', 'hex'), ErrorCode.MSGPACK_INVALID, 'key "nonce" twice');
      await ctx.rawExpectError(HEARTBEAT, Buffer.from('82a56e6f6e636501a26eff02', 'hex'), ErrorCode.MSGPACK_INVALID, 'key with invalid UTF-8');
      const hb = await ctx.raw(HEARTBEAT, nonceMap('cb4014000000000000')); // nonce: float64 5.0
      ctx.expect(hb.message.kind === 'HeartbeatReply' && hb.message.body.nonce === 5, `an integral float in an integer field must be accepted, got ${hb.message.kind}`);
      await ctx.rawExpectError(HEARTBEAT, nonceMap('cb4016000000000000'), ErrorCode.SCHEMA_INVALID, 'nonce 5.5');
      await ctx.fresh();
      // IDLE: a Gradient that decodes is NOT_CONFIGURED; bytes 0xC1 in its data must not make it MSGPACK_INVALID
      const g = { dtype: 'f64', shape: [1], order: 'le', data: Buffer.from('c1c7d4d8c1c1f03f', 'hex') };
      await ctx.rawExpectError(GRADIENT, packPlain({ g }), ErrorCode.NOT_CONFIGURED, 'Gradient whose data holds 0xC1 bytes, in IDLE');
    },
  },
  {
    id: 'upload.curvature-rules',
    title: 'Factored λ = 0, d < 0, an indefinite H and a dense A one ulp from symmetric are refused at upload (OUT_OF_RANGE), nothing committed',
    skip: (ctx) => (ctx.has('factored-curvature') ? null : "device does not declare 'factored-curvature'"),
    async run(ctx) {
      await ctx.fresh();
      await ctx.configure();
      const j = f64([1, 0, 0.5, 0, 1, -0.5], [2, 3]);
      const bad: [string, RequestBody<'Curvature'>][] = [
        ['lambda 0', { form: 'factored', j, core: { kind: 'identity' }, scale: 1, lambda: 0 }],
        ['d = [0.5, −0.25]', { form: 'factored', j, core: { kind: 'diagonal', d: f64([0.5, -0.25], [2]) }, scale: 1, lambda: 0.1 }],
        ['H = [[1, 2], [2, 1]]', { form: 'factored', j, core: { kind: 'dense', h: f64([1, 2, 2, 1], [2, 2]) }, scale: 1, lambda: 0.1 }],
      ];
      if (ctx.has('dense-curvature')) bad.push(['dense A with a[0][1] ≠ a[1][0] by one ulp', { form: 'dense', a: f64([2, 0.1, 0.10000000000000002, 1], [2, 2]), lambda: 0 }]);
      for (const [what, body] of bad) {
        const e = await ctx.expectError(ctx.request('Curvature', body), ErrorCode.OUT_OF_RANGE, what);
        ctx.expect(typeof e.detail?.reason === 'string', `${what}: the refusal should name its reason in detail.reason`);
      }
      const s = await ctx.status();
      ctx.expect(!s.hasCurvature, 'a refused Curvature must not be committed');
    },
  },
];
