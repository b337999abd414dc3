// Session and housekeeping requests: Hello, Status, Heartbeat, DeviceReset, ErrorsRead,
// ErrorsClear (PROTOCOL.md §5, §7.1, §9.3).
import {
  CRC_BYTES,
  DeviceFaultError,
  ErrorCode,
  FEATURE_SINCE_MINOR,
  HEADER_BYTES,
  MIN_MAX_FRAME_BYTES,
  OPERATIONS,
  PROTOCOL_VERSION,
  ProtocolViolationError,
  SCHEMA_FINGERPRINT,
  errorMessageFrom,
  maxInnerBytes,
} from '../../../protocol/index.ts';
import type { ReplyBody } from '../../../protocol/index.ts';
import { ErrorQueue } from '../error-queue.ts';
import { next32, u32 } from '../firmware-state.ts';
import type { FirmwareState } from '../firmware-state.ts';
import type { HandlerTable } from './handler.ts';

export const sessionHandlers: Pick<HandlerTable, 'Hello' | 'Status' | 'Heartbeat' | 'DeviceReset' | 'ErrorsRead' | 'ErrorsClear'> = {
  Hello(dev, b, id) {
    if (b.major !== PROTOCOL_VERSION.major)
      throw new ProtocolViolationError(ErrorCode.VERSION_UNSUPPORTED, `host speaks major ${b.major}, device speaks ${PROTOCOL_VERSION.major}`, { supportedMajors: [PROTOCOL_VERSION.major] });
    // A new session: uploads the previous host left half-done are interrupted.
    const dropped = dev.staging.dropOpen();
    if (dropped > 0) dev.log.info({ dropped }, 'new session: discarded open transfers');
    dev.hostMaxFrame = b.maxFrameBytes;
    dev.sessionId = next32(dev.sessionId);
    dev.log.info({ host: b.host, hostMaxFrameBytes: b.maxFrameBytes, fingerprintMatch: b.schemaFingerprint === SCHEMA_FINGERPRINT, sessionId: dev.sessionId }, 'hello');
    const caps = dev.opts.capabilities;
    const minor = Math.min(b.minor, PROTOCOL_VERSION.minor);
    dev.sessionMinor = minor;
    // a feature newer than the session's minor is not named (the host's enum lacks it) nor honoured
    const features = caps.features.filter((f) => (FEATURE_SINCE_MINOR[f] ?? 0) <= minor);
    dev.reply(
      'Hello',
      {
        major: PROTOCOL_VERSION.major,
        minor,
        identity: { ...dev.opts.identity },
        schemaFingerprint: SCHEMA_FINGERPRINT,
        capabilities: { ...caps, dtypes: [...caps.dtypes], features },
        sessionId: dev.sessionId,
      },
      id,
    );
  },

  Status(dev, _b, id) {
    dev.reply('Status', status(dev), id);
  },

  Heartbeat(dev, b, id) {
    dev.reply('Heartbeat', { nonce: b.nonce, uptimeMs: dev.uptime(), state: dev.state }, id);
  },

  DeviceReset(dev, b, id) {
    deviceReset(dev, b.hard === true, id);
  },

  ErrorsRead(dev, b, id) {
    const entries = dev.errors.read(b.max, maxInnerBytes(dev.hostMaxFrame) - HEADER_BYTES - CRC_BYTES - 32);
    dev.reply('ErrorsRead', { entries, remaining: Math.min(dev.errors.length, 0xffff) }, id);
  },

  ErrorsClear(dev, _b, id) {
    dev.reply('ErrorsClear', { cleared: Math.min(dev.errors.clear(), 0xffff) }, id);
  },
};

function status(dev: FirmwareState): ReplyBody<'Status'> {
  const c = dev.decoder.counters;
  const s: ReplyBody<'Status'> = {
    state: dev.state,
    uptimeMs: dev.uptime(),
    counters: {
      framesOk: u32(c.framesOk),
      badCrc: u32(c.badCrc),
      oversize: u32(c.oversize),
      undecodable: u32(c.undecodable),
      unknownType: u32(c.unknownType),
      unsupported: u32(c.unsupported),
      bytesDiscarded: u32(c.bytesDiscarded),
    },
    errorQueueLength: dev.errors.length,
    n: dev.committed.curvature?.n ?? 0,
    hasCurvature: dev.committed.curvature !== null,
    hasGradient: dev.committed.gradient !== null,
    openTransfers: dev.staging.count,
    runId: dev.lastRunId,
    ...dev.reportedRunIndex(),
  };
  if (dev.errors.last) s.lastError = { ...dev.errors.last };
  return s;
}

/**
 * Answered first; then configuration, tensors, state, transfers, results, error queue and
 * counters are cleared and the device is IDLE with a fresh analog core (run index 0). Hard:
 * also uptime, session and run ids restart, and the host limit falls back to 1024 until Hello.
 */
function deviceReset(dev: FirmwareState, hard: boolean, id: number): void {
  const r = dev.run;
  dev.run = null;
  dev.reply('DeviceReset', {}, id);
  if (r) dev.out.send(errorMessageFrom(new DeviceFaultError(ErrorCode.RESET, `run ${r.runId} ended by DeviceReset`), OPERATIONS.Run.type), r.requestId);
  dev.state = 'IDLE';
  dev.seed = dev.opts.seed;
  dev.profile = dev.opts.profile;
  dev.core = dev.newCore(dev.profile, dev.seed);
  dev.readout = 'both';
  dev.runConfig = null;
  dev.staging.clear();
  dev.committed = { curvature: null, notPd: false, gradient: null };
  dev.coreBytes = { next: 0, live: 0 };
  dev.hasLive = false;
  dev.results = null;
  dev.lastRunId = 0;
  dev.ring = [];
  dev.errors = new ErrorQueue(dev.opts.capabilities.errorQueueDepth);
  const c = dev.decoder.counters;
  for (const k of Object.keys(c) as (keyof typeof c)[]) c[k] = 0;
  if (hard) {
    dev.decoder.reset();
    dev.bootMs = dev.opts.now();
    dev.sessionId = 0;
    dev.runCounter = 0;
    dev.curvatureId = 0;
    dev.ringNext = 0;
    dev.hostMaxFrame = MIN_MAX_FRAME_BYTES;
  }
  dev.log.info({ hard }, 'device reset');
}
