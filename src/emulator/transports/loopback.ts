// Loopback "plug": echoes every byte back. The device used by transport benchmarks and
// diagnostics (`tngd` users can check a link before blaming the firmware).
import { PassThrough } from 'node:stream';
import type { DeviceEndpoint, DeviceFactory } from './device.ts';

export function createEchoDevice(): DeviceEndpoint {
  // A PassThrough is exactly an echo: what the host writes is what the host reads.
  return new PassThrough({ highWaterMark: 64 * 1024 });
}

export const echoDeviceFactory: DeviceFactory = createEchoDevice;
