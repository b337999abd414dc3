/**
 * The package's main entry (`tngd-spu`): open a device by URL and drive it.
 *
 * ```ts
 * import { connect } from 'tngd-spu';
 * const dev = await connect('emu:?seed=1');   // or tcp://host:port, serial:///dev/ttyUSB0
 * ```
 *
 * `connect` returns an {@link SpuDriver}; the driver's errors, option and result types are
 * re-exported here (the same as `tngd-spu/driver`).
 *
 * @packageDocumentation
 */
export { connect, emulatorOptionsFromQuery } from '../connect.ts';
export type { ConnectOptions } from '../connect.ts';
export * from '../driver/index.ts';
