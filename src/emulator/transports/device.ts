// The contract between a transport and the device it carries. A device is a byte-level Duplex:
// bytes written to it come from the host, bytes it emits go to the host. destroy() is power-off.
// Transports know nothing else about the device, so the emulated firmware, a loopback test
// device or a fault-injecting wrapper all plug in the same way.
import type { Duplex } from 'node:stream';

export type DeviceEndpoint = Duplex;

/** Powers on a fresh device instance. Called again after the previous instance died. */
export type DeviceFactory = () => DeviceEndpoint;

/** True once the endpoint can no longer carry bytes (destroyed, or either side finished). */
export function isDead(device: DeviceEndpoint): boolean {
  return device.destroyed || device.readableEnded || device.writableEnded || device.writableFinished;
}
