// PROTOCOL.md §6, §7.1, §11: handshake, identity, capabilities, versions, liveness.
import { ErrorCode, MAX_MAX_FRAME_BYTES, OPERATIONS, PROTOCOL_VERSION, SCHEMA_FINGERPRINT } from '../../protocol/index.ts';
import type { RequestBody } from '../../protocol/index.ts';
import { sleep } from '../context.ts';
import type { CheckDef } from '../types.ts';

// PROTOCOL.md §2: both limits lie in 1024…65535.
const SPEC_MIN_FRAME = 1024;

export function hello(over: Partial<RequestBody<'Hello'>> = {}): RequestBody<'Hello'> {
  return {
    major: PROTOCOL_VERSION.major,
    minor: PROTOCOL_VERSION.minor,
    host: 'tngd-conformance',
    maxFrameBytes: MAX_MAX_FRAME_BYTES,
    schemaFingerprint: SCHEMA_FINGERPRINT,
    ...over,
  };
}

export const handshakeChecks: CheckDef[] = [
  {
    id: 'handshake.identity',
    title: 'Hello: major 1, identity strings, same schema fingerprint',
    async run(ctx) {
      const r = await ctx.request('Hello', hello());
      ctx.expect(r.major === 1, `reply major is ${r.major}`);
      ctx.expect(r.minor <= PROTOCOL_VERSION.minor, `session minor ${r.minor} exceeds the host's ${PROTOCOL_VERSION.minor}`);
      for (const [k, v] of Object.entries(r.identity)) ctx.expect(typeof v === 'string' && v.length > 0 && v.length <= 64, `identity.${k} must be 1…64 characters, got ${JSON.stringify(v)}`);
      ctx.expect(r.schemaFingerprint === SCHEMA_FINGERPRINT, `schema fingerprint ${r.schemaFingerprint} ≠ ${SCHEMA_FINGERPRINT} (conformance requires equal fingerprints, §7.1)`);
      return { identity: r.identity, minor: r.minor, fingerprint: r.schemaFingerprint };
    },
  },
  {
    id: 'handshake.capabilities',
    title: 'Capabilities are within the limits of §7.1/§12',
    async run(ctx) {
      const c = ctx.caps;
      const problems: string[] = [];
      if (c.maxFrameBytes < SPEC_MIN_FRAME || c.maxFrameBytes > MAX_MAX_FRAME_BYTES) problems.push(`maxFrameBytes ${c.maxFrameBytes} outside 1024…65535`);
      if (c.maxCells < 1) problems.push('maxCells < 1');
      if (c.maxRank < 1) problems.push('maxRank < 1');
      if (!c.dtypes.includes('f64') && !c.dtypes.includes('f32') && !c.dtypes.includes('i16')) problems.push('no tensor dtype');
      if (c.kappa0Min > c.kappa0Max) problems.push(`kappa0Min ${c.kappa0Min} > kappa0Max ${c.kappa0Max}`);
      if (c.errorQueueDepth < 2) problems.push(`errorQueueDepth ${c.errorQueueDepth} < 2 (one entry plus the overflow slot)`);
      if (c.bulkWindow < 1) problems.push('bulkWindow < 1');
      if (c.maxOpenTransfers < 1) problems.push('maxOpenTransfers < 1');
      if (c.sampleRingBlocks < 1 && c.features.includes('sample-stream')) problems.push('sample-stream without a sample ring');
      if (!c.features.includes('dense-curvature') && !c.features.includes('factored-curvature')) problems.push('neither dense-curvature nor factored-curvature');
      ctx.expect(problems.length === 0, problems.join('; '), { capabilities: c });
      return { maxCells: c.maxCells, maxRank: c.maxRank, maxFrameBytes: c.maxFrameBytes, features: c.features };
    },
  },
  {
    id: 'handshake.session',
    title: 'Each Hello starts a new session (fresh sessionId); minor = min(host, device)',
    async run(ctx) {
      const a = await ctx.request('Hello', hello());
      const b = await ctx.request('Hello', hello({ minor: 255 }));
      const c = await ctx.request('Hello', hello({ minor: 0 }));
      ctx.expect(b.sessionId !== a.sessionId && c.sessionId !== b.sessionId, `sessionId did not change: ${a.sessionId}, ${b.sessionId}, ${c.sessionId}`);
      ctx.expect(c.minor === 0, `host minor 0 must give session minor 0, got ${c.minor}`);
      ctx.expect(b.minor <= 255 && b.minor >= a.minor, `host minor 255 gave session minor ${b.minor}`);
      await ctx.request('Hello', hello());
      return { sessionIds: [a.sessionId, b.sessionId, c.sessionId] };
    },
  },
  {
    id: 'handshake.version',
    title: 'Hello with another major → VERSION_UNSUPPORTED (detail supportedMajors)',
    async run(ctx) {
      const e = await ctx.expectError(ctx.request('Hello', hello({ major: 2 })), ErrorCode.VERSION_UNSUPPORTED, 'Hello major 2');
      const sm = e.detail?.supportedMajors;
      ctx.expect(Array.isArray(sm) && sm.includes(1), `detail.supportedMajors should list 1, got ${JSON.stringify(sm)}`);
      return { supportedMajors: sm };
    },
  },
  {
    id: 'handshake.stale-bytes',
    title: 'Garbage and a half frame before Hello are discarded; Hello is answered',
    async run(ctx) {
      // Boot-ROM chatter without delimiters, then the start of a frame cut off, then 0x00 + Hello.
      const junk = Buffer.from(Array.from({ length: 300 }, (_, i) => 1 + ((i * 37) % 254)));
      const partial = ctx.frame(OPERATIONS.Status.type, Buffer.from([0x80])).bytes.subarray(0, 6);
      ctx.dev.channel.writeRaw(Buffer.concat([junk, partial]));
      ctx.dev.channel.writeRaw(Buffer.of(0));
      const r = await ctx.request('Hello', hello());
      const s = await ctx.status();
      ctx.expect(r.major === 1, 'no valid Hello reply after garbage');
      ctx.expect(s.counters.bytesDiscarded >= junk.length, `bytesDiscarded ${s.counters.bytesDiscarded} < ${junk.length} garbage bytes sent`);
      return { bytesDiscarded: s.counters.bytesDiscarded };
    },
  },
  {
    id: 'liveness.heartbeat',
    title: 'Heartbeat echoes the nonce; uptime advances; state matches Status',
    async run(ctx) {
      const a = await ctx.request('Heartbeat', { nonce: 0xdeadbeef });
      await sleep(60);
      const b = await ctx.request('Heartbeat', { nonce: 7 });
      const s = await ctx.status();
      ctx.expect(a.nonce === 0xdeadbeef && b.nonce === 7, `nonces echoed as ${a.nonce}, ${b.nonce}`);
      const dt = (b.uptimeMs - a.uptimeMs) >>> 0;
      ctx.expect(dt >= 40 && dt < 10_000, `uptime advanced ${dt} ms over a 60 ms pause`);
      ctx.expect(b.state === s.state, `Heartbeat state ${b.state} ≠ Status state ${s.state}`);
      return { uptimeAdvanceMs: dt, state: s.state };
    },
  },
];
