/**
 * `tngd-spu/optimizers`: the digital optimizers (SGD, Adam, NGD exact/CG/Woodbury), TNGD and
 * TNGD-Adam on a device, their option schemas and the registry (`createOptimizer(name, options,
 * context)`), plus the model and batch-oracle types they step on.
 *
 * @packageDocumentation
 */
import '../host-loop/optimizers/tngd-registry.ts';

export * from '../host-loop/optimizers/index.ts';
export { TngdDirection, TngdDeviceError, tngdOptionsSchema, tngdAdamOptionsSchema } from '../host-loop/optimizers/tngd.ts';
export type { TngdOptions, TngdRestoreHooks, TngdDeviceState } from '../host-loop/optimizers/tngd.ts';
export type * from '../host-loop/types.ts';
export { createModel } from '../host-loop/models/model.ts';
export type { Model, LossAndGrad, DenseLayerTrace } from '../host-loop/models/model.ts';
export { parseModelSpec, formatModelSpec, countParams, ModelSpecError } from '../host-loop/models/spec.ts';
export type { ModelSpec } from '../host-loop/models/spec.ts';
export { makeBatchOracle } from '../host-loop/batch-oracle.ts';
export type { ModelBatchOracle } from '../host-loop/batch-oracle.ts';
export type { Activation, ConvSpec } from '../host-loop/models/spec.ts';
export type { Targets, LossKind } from '../host-loop/models/losses.ts';
export { FactorWorkspace } from '../host-loop/curvature/factors.ts';
export type { CgResult } from '../host-loop/linalg/cg.ts';
export type { StateTraceSink } from '../host-loop/optimizers/tngd-trace.ts';
export type { StateTrace } from '../host-loop/optimizers/tngd-trace.ts';
