// Public surface of the emulated firmware.
export { createEmulatedDevice, emulatorFactory, boardOf, EmulatorBoard, EmulatedLink } from './device.ts';
export type { BoardOptions } from './device.ts';
export { Firmware } from './firmware.ts';
export { resolveOptions, FIRMWARE_VERSION, PROFILE_NAMES } from './options.ts';
export type { EmulatorOptions, ResolvedOptions, Identity, EmulatorPacing, CapabilityOverrides, ProfileName } from './options.ts';
export type { DeviceFaults } from './faults.ts';
