/**
 * `tngd-spu/conformance`: the conformance suite as a library. Run it from a test runner against
 * any device URL (or a driver factory) and assert on the report.
 *
 * ```ts
 * import { runConformance } from 'tngd-spu/conformance';
 * const report = await runConformance('emu:?seed=1');
 * ```
 *
 * @packageDocumentation
 */
export * from '../conformance/index.ts';
export type { MeanTolerance } from '../conformance/checks/numerics.ts';
export type { CheckContext } from '../conformance/context.ts';
