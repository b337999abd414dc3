// Public surface of the emulator: bit-exact physics (SpuCore, …), the emulated firmware serving
// protocol v1 (createEmulatedDevice, emulatorFactory, EmulatorBoard), and the transports that carry
// a device (in-process Duplex, pty, stdio, TCP) with fault-injection and pacing wrappers.
export * from './physics/index.ts';
export * from './firmware/index.ts';
export * from './transports/index.ts';
