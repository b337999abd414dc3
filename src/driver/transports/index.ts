// Host-side links: URL → byte Duplex (real serial port, TCP device server, in-process device).
export { openLink } from './open-link.ts';
export type { ByteLink, LinkClosed, OpenLinkOptions, EmuDeviceFactory } from './open-link.ts';
export { parseLinkUrl, redactLinkUrl, describeLink, DEFAULT_BAUD, DEFAULT_TCP_TIMEOUT_MS } from './link-url.ts';
export type { LinkSpec, SerialLinkSpec, TcpLinkSpec, EmuLinkSpec } from './link-url.ts';
export { LinkError } from './errors.ts';
export type { LinkErrorCode } from './errors.ts';
export { openTcpLink, tcpLinkMac } from './tcp-link.ts';
export type { TcpTarget } from './tcp-link.ts';
export {
  VirtualBinding,
  VirtualBindingError,
  VirtualDeviceRegistry,
  VirtualPortBinding,
  createVirtualBinding,
  registerVirtualDevice,
  virtualDevices,
} from './virtual-binding.ts';
export type { VirtualDevice, VirtualDeviceFactory, VirtualDeviceHandle, VirtualBindingInterface } from './virtual-binding.ts';
export { hangupAwareBinding } from './hangup-aware-binding.ts';
export { measureRawLink } from './measure.ts';
export type { RawLinkFigures, MeasureOptions } from './measure.ts';
