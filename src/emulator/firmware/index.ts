// Public surface of the emulated firmware.
export { createEmulatedDevice, createMessageLinkDevice, emulatorFactory, boardOf, EmulatorBoard, EmulatedLink } from './device.ts';
export type { BoardOptions, LinkOptions } from './device.ts';
export { BoardMessagePort } from './message-port.ts';
export { Firmware } from './firmware.ts';
export { resolveOptions, applyProfileOverrides, FIRMWARE_VERSION, PROFILE_NAMES, PROFILE_OVERRIDE_KEYS, OVERRIDE_BITS_MIN, OVERRIDE_BITS_MAX } from './options.ts';
export type { EmulatorOptions, ResolvedOptions, Identity, EmulatorPacing, CapabilityOverrides, ProfileName, ProfileOverrides } from './options.ts';
export type { DeviceFaults } from './faults.ts';
export { OPTION_FIELDS, DEVICE_FIELDS, PROFILE_OVERRIDE_FIELDS, PACING_FIELDS, parseFields, parseField, fieldName, fieldDefault, flagKey } from './option-fields.ts';
export type { OptionField, InputSource, ParsedFields } from './option-fields.ts';
