// Opening a session on a fresh link (PROTOCOL.md §7.1): end whatever partial frame the device holds,
// greet it with Hello (aborting a run left over from an earlier session), then check version,
// schema fingerprint and capabilities against what this host needs. Produces the DeviceInfo the
// driver exposes, or a HandshakeError / CapabilityError saying why the device is refused.
import type { Logger } from 'pino';
import { ErrorCode, MIN_MAX_FRAME_BYTES, PROTOCOL_VERSION, SCHEMA_FINGERPRINT } from '../protocol/index.ts';
import type { ReplyBody, RequestBody } from '../protocol/index.ts';
import type { Channel } from './channel.ts';
import { CapabilityError, DeviceError, HandshakeError, TimeoutError } from './errors.ts';
import type { ResolvedDriverOptions } from './options.ts';
import type { DeviceInfo } from './types.ts';

export type HandshakeSettings = Pick<ResolvedDriverOptions, 'hostName' | 'hostMaxFrameBytes' | 'handshakeTimeoutMs' | 'fingerprint' | 'require'>;

/** Times the host greets a device that answers BUSY (aborting its run in between). */
const BUSY_TRIES = 3;

export async function handshake(ch: Channel, o: HandshakeSettings, log: Logger): Promise<DeviceInfo> {
  const before = ch.decoderCounters.bytesDiscarded;
  // A lone delimiter ends whatever partial frame the device holds from an earlier session.
  ch.writeRaw(Buffer.of(0));
  const hello: RequestBody<'Hello'> = {
    major: PROTOCOL_VERSION.major,
    minor: PROTOCOL_VERSION.minor,
    host: o.hostName,
    maxFrameBytes: o.hostMaxFrameBytes,
    schemaFingerprint: SCHEMA_FINGERPRINT,
  };
  const timeoutMs = o.handshakeTimeoutMs;
  let reply: ReplyBody<'Hello'> | undefined;
  for (let busyTries = 0; !reply; busyTries++) {
    try {
      reply = await ch.request('Hello', hello, { timeoutMs });
    } catch (e) {
      if (e instanceof DeviceError && e.code === ErrorCode.BUSY && busyTries < BUSY_TRIES) {
        // A run left over from an earlier session: stop it, then greet again.
        log.warn('device busy with a run from an earlier session; aborting it');
        await ch.request('Abort', {}, { timeoutMs });
        await delay(20 * (busyTries + 1));
        continue;
      }
      throw handshakeFailure(e, ch.link.label, timeoutMs);
    }
  }
  checkReply(reply, o, log);
  const info: DeviceInfo = {
    link: ch.link.label,
    identity: reply.identity,
    capabilities: reply.capabilities,
    protocol: { major: reply.major, minor: Math.min(reply.minor, PROTOCOL_VERSION.minor) },
    sessionId: reply.sessionId,
    schemaFingerprint: reply.schemaFingerprint,
  };
  const discarded = ch.decoderCounters.bytesDiscarded - before;
  log.info({ identity: info.identity, sessionId: info.sessionId, staleBytesDiscarded: discarded }, 'connected');
  return info;
}

function checkReply(reply: ReplyBody<'Hello'>, o: HandshakeSettings, log: Logger): void {
  if (reply.major !== PROTOCOL_VERSION.major)
    throw new HandshakeError('version', `device speaks protocol ${reply.major}.${reply.minor}, this host ${PROTOCOL_VERSION.major}.${PROTOCOL_VERSION.minor}`);
  if (reply.schemaFingerprint !== SCHEMA_FINGERPRINT) {
    const msg =
      `schema fingerprint mismatch: device ${reply.schemaFingerprint}, host ${SCHEMA_FINGERPRINT} (protocol ${reply.major}.${reply.minor}). ` +
      'Host and firmware were built from different revisions of the v1 message schemas (firmware-spec/schemas/FINGERPRINT)';
    if (o.fingerprint === 'strict')
      throw new HandshakeError('fingerprint', `${msg}; update one of them, or connect with fingerprint: 'warn' to rely on the minor-version rules.`);
    log.warn(msg);
  }
  const caps = reply.capabilities;
  if (caps.maxFrameBytes < MIN_MAX_FRAME_BYTES || caps.maxCells < 1 || caps.dtypes.length === 0)
    throw new HandshakeError('capabilities', `device capabilities are unusable: maxFrameBytes ${caps.maxFrameBytes}, maxCells ${caps.maxCells}, dtypes [${caps.dtypes.join(', ')}]`);
  const req = o.require;
  if (req.cells !== undefined && caps.maxCells < req.cells)
    throw new CapabilityError('maxCells', caps.maxCells, req.cells, `device has ${caps.maxCells} cells, ${req.cells} required`);
  if (req.rank !== undefined && caps.maxRank < req.rank)
    throw new CapabilityError('maxRank', caps.maxRank, req.rank, `device supports rank ${caps.maxRank}, ${req.rank} required`);
  for (const f of req.features)
    if (!caps.features.includes(f)) throw new CapabilityError('features', caps.features, f, `device lacks the required feature '${f}'`);
}

function handshakeFailure(e: unknown, label: string, timeoutMs: number): Error {
  if (e instanceof TimeoutError)
    return new HandshakeError('no-reply', `no reply to Hello from ${label} within ${timeoutMs} ms (${e.attempts} attempts): is an SPU attached, powered, and is the baud rate right?`, { cause: e });
  if (e instanceof DeviceError && e.code === ErrorCode.VERSION_UNSUPPORTED)
    return new HandshakeError('version', `device does not support protocol ${PROTOCOL_VERSION.major}.${PROTOCOL_VERSION.minor}: ${e.message}`, { cause: e });
  if (e instanceof DeviceError) return new HandshakeError('refused', `device refused Hello: ${e.message}`, { cause: e });
  return e instanceof Error ? e : new Error(String(e));
}

function delay(ms: number): Promise<void> {
  return new Promise((r) => setTimeout(r, ms));
}
