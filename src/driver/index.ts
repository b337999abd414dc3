// Public API of the host driver. Most users want `connect(url)` from src/connect.ts, which
// returns an SpuDriver; SpuDriver.open(opener) takes any byte link.
export { SpuDriver } from './driver.ts';
export type { LinkOpener, ReconnectOptions } from './driver.ts';
export type { SpuDriverEvents } from './events.ts';
export { DRIVER_DEFAULTS, resolveDriverOptions } from './options.ts';
export type { DriverOptions, ResolvedDriverOptions } from './options.ts';
export { RunHandle } from './run-handle.ts';
export { Channel, IDEMPOTENT_OPS } from './channel.ts';
export type { RequestOptions } from './channel.ts';
export { duplexLink } from './duplex-link.ts';
export { chooseDtype } from './convert.ts';
export type { DtypeChoice, NumericArray } from './convert.ts';
export type { DriverMetrics, LatencyStats } from './metrics.ts';
export {
  DriverError,
  DeviceError,
  TimeoutError,
  DisconnectedError,
  HandshakeError,
  CapabilityError,
  ArgumentError,
  ProtocolMismatchError,
  unstableStepOf,
  curvatureRefusalOf,
} from './errors.ts';
export type { DisconnectReason, HandshakeFailure, UnstableStep, CurvatureRefusal } from './errors.ts';
export type * from './types.ts';
export { openLink } from './transports/open-link.ts';
export type { ByteLink, LinkClosed, OpenLinkOptions } from './transports/open-link.ts';
export { LinkError } from './transports/errors.ts';
