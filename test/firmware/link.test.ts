// The device on a bad line: malformed frames answered or not per PROTOCOL.md §6/§9, recovery
// after garbage, the error queue with its overflow entry, device-side fault switches, pacing.
import { afterEach, describe, expect, it } from 'vitest';
import {
  ErrorCode,
  FLAG_REPLY,
  HEADER_BYTES,
  PROTOCOL_MAJOR,
  cobsEncode,
  crc32c,
  encodeFrame,
  encodeRawFrame,
  packPlain,
} from '../../src/protocol/index.ts';
import { boardOf, createEmulatedDevice } from '../../src/emulator/index.ts';
import type { EmulatorOptions } from '../../src/emulator/index.ts';
import { CONFIG, TestHost } from './host.ts';
import { loadSystem } from './setup.ts';
import { patternBytes } from '../transports/devices.ts';

const hosts: TestHost[] = [];
const track = (h: TestHost): TestHost => (hosts.push(h), h);
afterEach(() => {
  for (const h of hosts.splice(0)) h.close();
});
const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

function device(opts: EmulatorOptions = {}): TestHost {
  return track(new TestHost(createEmulatedDevice({ maxCells: 16, maxRank: 4, ...opts })));
}

/** A Heartbeat frame whose CRC trailer is wrong (re-encoded, so it is a CRC fault, not a COBS one). */
function badCrcFrame(id: number): Buffer {
  const inner = Buffer.alloc(HEADER_BYTES + 0);
  const payload = packPlain({ nonce: 9 });
  const full = Buffer.concat([Buffer.from([PROTOCOL_MAJOR, 0, 3, 0, id & 0xff, (id >> 8) & 0xff, 0, 0]), payload]);
  const crc = Buffer.alloc(4);
  crc.writeUInt32LE((crc32c(full) ^ 0x10) >>> 0);
  void inner;
  return Buffer.concat([cobsEncode(Buffer.concat([full, crc])), Buffer.of(0)]);
}


describe('malformed frames', () => {
  it('answers faults with a trusted header (echoing id and type), ignores the others, and queues all of them', async () => {
    const h = device();
    // unknown type 0x7777 → UNKNOWN_TYPE, answered with id 501 and type 0x7777
    const u = await h.rawRequest(encodeRawFrame({ version: PROTOCOL_MAJOR, flags: 0, type: 0x7777, requestId: 501 }, packPlain({})), 501);
    expect(u.header.type).toBe(0x7777);
    expect(u.message.kind === 'Error' && u.message.body.code).toBe(ErrorCode.UNKNOWN_TYPE);
    // schema: Heartbeat nonce −1 → SCHEMA_INVALID
    const s = await h.rawRequest(encodeRawFrame({ version: PROTOCOL_MAJOR, flags: 0, type: 3, requestId: 502 }, packPlain({ nonce: -1 })), 502);
    expect(s.message.kind === 'Error' && s.message.body.code).toBe(ErrorCode.SCHEMA_INVALID);
    // truncated MessagePack (a map announcing one entry, then nothing) → MSGPACK_INVALID
    const m = await h.rawRequest(encodeRawFrame({ version: PROTOCOL_MAJOR, flags: 0, type: 3, requestId: 503 }, Buffer.of(0x81)), 503);
    expect(m.message.kind === 'Error' && m.message.body.code).toBe(ErrorCode.MSGPACK_INVALID);
    // a reply sent to the device → BAD_FLAGS
    const r = await h.rawRequest(encodeFrame({ kind: 'HeartbeatReply', body: { nonce: 1, uptimeMs: 0, state: 'IDLE' } }, 504), 504);
    expect(r.message.kind === 'Error' && r.message.body.code).toBe(ErrorCode.BAD_FLAGS);
    // bad CRC and a truncated frame: no answer
    h.writeRaw(badCrcFrame(505));
    h.writeRaw(Buffer.of(0x03, 0x01, 0x02, 0x00));
    const st = await h.ok('Status', {});
    expect(h.frames.some((f) => f.header.requestId === 505)).toBe(false);
    expect(st.counters).toMatchObject({ badCrc: 1, unknownType: 1, undecodable: 3 });
    const q = await h.ok('ErrorsRead', { max: 16 });
    expect(q.entries.map((e) => [e.code, e.requestId, e.type])).toEqual([
      [ErrorCode.UNKNOWN_TYPE, 501, 0x7777],
      [ErrorCode.SCHEMA_INVALID, 502, 3],
      [ErrorCode.MSGPACK_INVALID, 503, 3],
      [ErrorCode.BAD_FLAGS, 504, 3],
      [ErrorCode.BAD_CRC, 0, 0],
      [ErrorCode.FRAME_TOO_SHORT, 0, 0],
    ]);
    expect(q.remaining).toBe(0);
    expect(h.frames.every((f) => (f.header.flags & FLAG_REPLY) !== 0)).toBe(true);
  });

  it('recovers after garbage on the line: 10 bursts of random bytes, each followed by a request that is answered correctly', async () => {
    const h = device();
    await h.hello();
    for (let k = 0; k < 10; k++) {
      h.writeRaw(patternBytes(200 + 37 * k, 1000 + k));
      // a leading delimiter ends whatever fragment the garbage left (PROTOCOL.md §2)
      const a = h.send('Heartbeat', { nonce: k }, 9000 + k);
      h.writeRaw(Buffer.of(0)); // harmless empty frame after it
      void a;
    }
    // Requests right after garbage may be swallowed by a fragment; those sent after a 0x00 are not.
    const answered: number[] = [];
    for (let k = 0; k < 10; k++) {
      const id = 9100 + k;
      h.writeRaw(patternBytes(150, 2000 + k));
      h.writeRaw(Buffer.of(0));
      const a = await h.send('Heartbeat', { nonce: 77 + k }, id).answer;
      expect(a.ok && a.body.nonce).toBe(77 + k);
      answered.push(a.frame.header.requestId);
    }
    expect(answered).toEqual(Array.from({ length: 10 }, (_, k) => 9100 + k));
    const st = await h.ok('Status', {});
    expect(st.counters.bytesDiscarded).toBeGreaterThan(3000);
    expect(st.state).toBe('IDLE');
  });
});

describe('error queue', () => {
  it('keeps 15 errors then one QUEUE_OVERFLOW entry; later errors are dropped until read, then queued again', async () => {
    const h = device();
    await h.hello();
    const ids: number[] = [];
    for (let k = 0; k < 20; k++) {
      const s = h.send('Gradient', { g: { ref: 1 } });
      ids.push(s.id);
      const a = await s.answer;
      expect(!a.ok && a.code).toBe(ErrorCode.NOT_CONFIGURED);
    }
    expect((await h.ok('Status', {})).errorQueueLength).toBe(16);
    const first = await h.ok('ErrorsRead', { max: 10 });
    expect(first.entries.map((e) => e.requestId)).toEqual(ids.slice(0, 10));
    expect(first.remaining).toBe(6);
    const rest = await h.ok('ErrorsRead', { max: 10 });
    expect(rest.entries.slice(0, 5).map((e) => [e.code, e.requestId])).toEqual(ids.slice(10, 15).map((id) => [ErrorCode.NOT_CONFIGURED, id]));
    expect(rest.entries[5]).toMatchObject({ code: ErrorCode.QUEUE_OVERFLOW, requestId: 0, type: 0 });
    expect(rest.remaining).toBe(0);
    const again = h.send('Run', { durationTau: 1, start: 'carry' });
    await again.answer;
    expect((await h.ok('ErrorsRead', { max: 4 })).entries.map((e) => e.requestId)).toEqual([again.id]);
    await h.code('Run', { durationTau: 1, start: 'carry' });
    expect(await h.ok('ErrorsClear', {})).toEqual({ cleared: 1 });
    expect((await h.ok('Status', {})).lastError?.code).toBe(ErrorCode.NOT_CONFIGURED);
  });

  it('ErrorsRead returns only the entries that fit the host frame; remaining counts the rest', async () => {
    const h = device();
    for (let k = 0; k < 16; k++) await h.request('Gradient', { g: { ref: 1 } });
    // before Hello the host limit is 1024 bytes: not all 16 entries fit
    const a = await h.request('ErrorsRead', { max: 16 });
    if (!a.ok) throw new Error(a.error.body.message);
    expect(a.frame.encodedBytes).toBeLessThanOrEqual(1024);
    expect(a.body.entries.length).toBeGreaterThan(4);
    expect(a.body.entries.length).toBeLessThan(16);
    expect(a.body.remaining).toBe(16 - a.body.entries.length);
  });
});

describe('device-side fault switches', () => {
  it('ignore: Heartbeat is never answered, everything else is', async () => {
    const h = device({ faults: { ignore: ['Heartbeat'] } });
    const hb = h.send('Heartbeat', { nonce: 1 });
    await h.ok('Status', {});
    await expect(Promise.race([hb.answer, sleep(150).then(() => 'silent')])).resolves.toBe('silent');
  });

  it('silentAfterRequests: the third request gets no answer', async () => {
    const h = device({ faults: { silentAfterRequests: 2 } });
    await h.ok('Status', {});
    await h.ok('Status', {});
    await expect(Promise.race([h.request('Status', {}), sleep(150).then(() => 'silent')])).resolves.toBe('silent');
  });

  it('replyDelayMs: answers arrive that much later, in order', async () => {
    const h = device({ faults: { replyDelayMs: 120 } });
    const t0 = performance.now();
    const a = h.send('Heartbeat', { nonce: 1 });
    const b = h.send('Heartbeat', { nonce: 2 });
    await Promise.all([a.answer, b.answer]);
    expect(performance.now() - t0).toBeGreaterThanOrEqual(110);
    const order = h.frames.map((f) => f.header.requestId);
    expect(order).toEqual([a.id, b.id]);
  });

  it('corruptCrcEvery 2: every second frame from the device fails the host CRC check', async () => {
    const h = device({ faults: { corruptCrcEvery: 2 } });
    for (let k = 0; k < 4; k++) h.send('Heartbeat', { nonce: k }).answer.catch(() => {});
    await sleep(50);
    expect(h.frames.map((f) => (f.message as { body: { nonce: number } }).body.nonce)).toEqual([0, 2]);
    expect(h.decoder.counters.badCrc).toBe(2);
  });

  it('rebootAfterRequests: the firmware reboots, the host gets stale bytes, the state is gone, Hello works again', async () => {
    // Hello + 3 uploads are answered; the 5th request meets the reboot
    const h = device({ faults: { rebootAfterRequests: 4, staleBytes: 40 } });
    await h.hello();
    await loadSystem(h);
    const bytesBefore = h.raw.reduce((a, b) => a + b.length, 0);
    const lost = h.send('Status', {});
    await sleep(30);
    expect(h.raw.reduce((a, b) => a + b.length, 0) - bytesBefore).toBe(40);
    lost.answer.catch(() => {});
    h.writeRaw(Buffer.of(0));
    await h.hello();
    expect(await h.ok('Status', {})).toMatchObject({ state: 'IDLE', n: 0, hasCurvature: false });
    expect(boardOf(h.device)!.reboots).toBe(1);
  });

  it('dropLinkAfterRunTau: the link goes away mid-run (the host sees close) and the Run is never answered', async () => {
    const h = device({ faults: { dropLinkAfterRunTau: 5 } });
    await h.hello();
    await loadSystem(h);
    const closed = new Promise((r) => h.device.once('close', r));
    const run = h.send('Run', { durationTau: 1000, start: 'reset' });
    run.answer.catch(() => {});
    await closed;
    expect(h.frames.some((f) => f.header.requestId === run.id)).toBe(false);
    expect(boardOf(h.device)!.poweredOn).toBe(false);
  });
});

describe('pacing', () => {
  it('linkBytesPerSecond: a 4 kB result reply takes at least its transmission time; capabilities advertise the rate', async () => {
    const h = track(new TestHost(createEmulatedDevice({ maxCells: 600, pacing: { linkBytesPerSecond: 40_000 } })));
    const hello = await h.hello();
    expect(hello.capabilities.linkBytesPerSecond).toBe(40_000);
    await h.ok('Configure', { ...CONFIG, integrator: { kind: 'exact' } });
    const n = 500;
    await h.ok('Curvature', { form: 'factored', j: { ref: await h.bulk(new Array(n).fill(0.01), [1, n]) }, core: { kind: 'identity' }, scale: 1, lambda: 1 });
    await h.ok('Gradient', { g: { ref: await h.bulk(new Array(n).fill(1), [n]) } });
    await h.ok('Run', { durationTau: 1, start: 'reset' });
    const t0 = performance.now();
    await h.ok('Results', { vectors: 'mean', dtype: 'f64' }); // ≈ 4.1 kB at 40 kB/s ≥ 100 ms
    expect(performance.now() - t0).toBeGreaterThanOrEqual(95);
  });

  it('analogRealtime: a 30 τ run with τ = 10 ms takes at least 300 ms of wall time', async () => {
    const h = track(new TestHost(createEmulatedDevice({ maxCells: 16, capabilities: { tauSeconds: 0.01 }, pacing: { analogRealtime: true } })));
    await h.hello();
    await loadSystem(h);
    const t0 = performance.now();
    await h.ok('Run', { durationTau: 30, start: 'reset' });
    expect(performance.now() - t0).toBeGreaterThanOrEqual(295);
  });
});
