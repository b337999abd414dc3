/**
 * `tngd-spu/emulator`: the bit-exact SPU emulator — physics core, the emulated firmware
 * serving protocol v1 ({@link createEmulatedDevice}), the transports that serve it (pty, stdio,
 * TCP) — and the virtual serial binding that puts an in-process device under the production
 * `SerialPortStream`.
 *
 * ```ts
 * import { createEmulatedDevice, registerVirtualDevice } from 'tngd-spu/emulator';
 * ```
 *
 * @packageDocumentation
 */
export * from '../emulator/index.ts';
export {
  VirtualBinding,
  VirtualBindingError,
  VirtualDeviceRegistry,
  VirtualPortBinding,
  createVirtualBinding,
  registerVirtualDevice,
  virtualDevices,
} from '../driver/transports/virtual-binding.ts';
export type { VirtualDevice, VirtualDeviceFactory, VirtualDeviceHandle, VirtualBindingInterface } from '../driver/transports/virtual-binding.ts';
export type { FirmwareIo } from '../emulator/firmware/firmware.ts';
