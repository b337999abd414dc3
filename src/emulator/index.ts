// Public surface of the emulator: bit-exact physics, the emulated firmware serving protocol v1,
// and the transports that carry a device (in-process Duplex, pty, stdio, TCP, faults, pacing).
export * from './physics/index.ts';
export * from './firmware/index.ts';
export type { DeviceEndpoint, DeviceFactory } from './transports/device.ts';
export { isDead } from './transports/device.ts';
export { createEchoDevice, echoDeviceFactory } from './transports/loopback.ts';
export { FaultyLink, faultyLink, faultyDevice, staleBytes, rebootableDevice } from './transports/faults.ts';
export type { FaultSpec, FaultyLinkOptions, FaultStats, RebootableDevice } from './transports/faults.ts';
export { PacedLink, pacedLink, pacedDevice, baudToBytesPerSecond } from './transports/pacing.ts';
export type { PacingOptions } from './transports/pacing.ts';
export { startPty, SocatMissingError } from './transports/pty.ts';
export type { StartPtyOptions, PtyDevice } from './transports/pty.ts';
export { serveStdio } from './transports/stdio.ts';
export type { ServeStdioOptions, StdioSession } from './transports/stdio.ts';
export { serveTcp, isLoopbackHost, RemoteBindRefusedError } from './transports/tcp-server.ts';
export type { ServeTcpOptions, TcpServerStats, TcpDeviceServer, TransportLogger } from './transports/tcp-server.ts';
