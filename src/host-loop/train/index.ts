// Public surface of the training loop (used by the CLI, examples/ and tests).
export { train, locateCheckpoint, TIMING_KEYS } from './loop.ts';
export type { TrainOptions, TrainResult } from './loop.ts';
export { compare, planCompare, runFolderName } from './compare.ts';
export type { CompareConfig, CompareOptions, CompareResult, CompareRunSpec, CompareRunResult } from './compare.ts';
export {
  trainConfigSchema,
  parseTrainConfig,
  mergeResumeConfig,
  totalIterations,
  defaultRunName,
  configHash,
  sortedKeyJson,
  splitDeviceSecret,
  sanitize,
  withOptimizerDefaults,
  getOptimizerDefaults,
  setOptimizerDefaults,
  RESUMABLE_OVERRIDES,
  DEFAULT_DEVICE_URL,
} from './config.ts';
export type { TrainConfig, TrainConfigInput, TrainConfigOverrides } from './config.ts';
export { TrainUsageError, TrainRunError, RunFolderInUseError, DeviceTooSmallError, LinkLostError } from './errors.ts';
export { errorCategoryOf, ERROR_CATEGORIES, HostLoopError } from '../errors.ts';
export type { ErrorCategory } from '../errors.ts';
export { terminalProgress } from './progress.ts';
export type { ProgressSink } from './progress.ts';
export { registerDeviceOptimizer, needsDevice, deviceBackedSourceOf } from './device.ts';
export type { RunDevice, DeviceOpener, DeviceBackedSource } from './device.ts';
export { openTngdDevice, deviceNeeds } from './tngd-device.ts';
export type { DeviceNeeds } from './tngd-device.ts';
export { loadRunData } from './data-cache.ts';
