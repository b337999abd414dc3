// Public surface of the SPU physics core (bit-exact emulator numerics).
export { SpuCore } from './core.ts';
export { CoreRunHandle } from './run-handle.ts';
export type {
  SpuCoreOptions, FactoredCurvature, UploadOptions, CoreUploadReport, Integrator, RunConfig, StartMode,
  CoreSampleBlock, RunOptions, RunFlag, CoreRunResult,
} from './types.ts';
export type { CoreSpec } from './couplings.ts';
export type { LayeredCurvature, LayerFactors } from './layered-coupling.ts';
export { PhysicsError } from './errors.ts';
export type { PhysicsErrorCode } from './errors.ts';
export { PROFILES, dacQuantise } from './profile.ts';
export type { Profile } from './profile.ts';
export { philox4x32, wordToUniform, fillGaussians, gaussianAt, seedKey, DOMAIN } from './philox.ts';
export { normInv, normInvWord, logDet, expDet, expm1Det, roundHalfEven } from './detmath.ts';
export { layeredOf, replayScenario } from './scenario.ts';
export type { Scenario, ScenarioOp, ScenarioOutcome, RunSummary } from './scenario.ts';
