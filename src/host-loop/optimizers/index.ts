// Public surface of the digital optimizers. A TNGD optimizer (tngd*.ts, later) implements
// DirectionSource with the device readout, reuses createUpdateRule + directionOptimizerBaseShape,
// and calls registerOptimizer.
export { OptimizerOptionsError, OptimizerStateError, OptimizerLimitError } from './errors.ts';
export { SgdRule, AdamRule, createUpdateRule, sgdRuleOptionsSchema, adamRuleOptionsSchema, innerRuleSchema } from './update-rules.ts';
export type { UpdateRule, SgdRuleOptions, AdamRuleOptions } from './update-rules.ts';
export { DirectionOptimizer, GradientDirection } from './direction.ts';
export type { DirectionSource, DirectionStats } from './direction.ts';
export {
  NgdExactDirection,
  NgdCgDirection,
  NgdWoodburyDirection,
  directionOptimizerBaseShape,
  ngdBaseShape,
  ngdExactOptionsSchema,
  ngdCgOptionsSchema,
  ngdWoodburyOptionsSchema,
  NGD_EXACT_MAX_PARAMS_LIMIT,
} from './ngd.ts';
export type { NgdExactOptions, NgdCgOptions, NgdWoodburyOptions } from './ngd.ts';
export { KfacDirection, kfacOptionsSchema } from './kfac.ts';
export type { KfacOptions } from './kfac.ts';
export { registerOptimizer, createOptimizer, listOptimizers, getOptimizerSpec, parseOptimizerOptions } from './registry.ts';
export type { OptimizerSpec, OptimizerContext } from './registry.ts';
export { saveVec, loadVec } from './state-codec.ts';
