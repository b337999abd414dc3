// Device-side transports: how a device (DeviceFactory) is reached from outside the process,
// plus fault injection and pacing wrappers for any device or link.
export type { DeviceEndpoint, DeviceFactory } from './device.ts';
export { isDead } from './device.ts';
export { createEchoDevice, echoDeviceFactory, createBenchDevice, benchDeviceFactory } from './loopback.ts';
export { serveTcp, isLoopbackHost, RemoteBindRefusedError } from './tcp-server.ts';
export type { ServeTcpOptions, TcpServerStats, TcpDeviceServer, TransportLogger } from './tcp-server.ts';
export { startPty, SocatMissingError } from './pty.ts';
export type { StartPtyOptions, PtyDevice } from './pty.ts';
export { serveStdio } from './stdio.ts';
export { untilStopRequested, launchChain, isNpmProcess } from './lifetime.ts';
export type { StopReason, StopWatch, StopWatchOptions } from './lifetime.ts';
export type { ServeStdioOptions, StdioSession } from './stdio.ts';
export { FaultyLink, faultyLink, faultyDevice, staleBytes, rebootableDevice } from './faults.ts';
export type { FaultSpec, FaultyLinkOptions, FaultStats, RebootableDevice } from './faults.ts';
export { PacedLink, pacedLink, pacedDevice, baudToBytesPerSecond } from './pacing.ts';
export type { PacingOptions } from './pacing.ts';
