// The one module commands import shared CLI plumbing from (never from each other): exit codes
// and the error format, command declaration, flag validation, device/secret options, and the
// run flags of train and compare.
export { EXIT, UsageError, cliCategoryOf, exitCodeOf, reportError } from './support/errors.ts';
export type { ExitCode, ReportOptions } from './support/errors.ts';
export { defineCommand, installInterruptHandlers, untilSignal, usageExit } from './support/command.ts';
export type { CommandSpec } from './support/command.ts';
export { flagName, numberFrom, parseFlags, zodProblems } from './support/flags.ts';
export { LOG_LEVELS, SECRET_ENV, addDeviceOptions, addLogLevelOption, addSecretOptions, cliLogger, driverOptions, resolveSecret } from './support/device.ts';
export type { DeviceFlags, SecretFlags } from './support/device.ts';
export {
  HYPERPARAMETER_FLAGS,
  addHyperparameterOptions,
  addRunOptions,
  flagForKey,
  flagifyProblems,
  hyperparametersFromFlags,
  optimizerOptionKeys,
  parseSetPairs,
  runConfigFromFlags,
  runFlagsSchema,
  runReportOptions,
} from './support/run-flags.ts';
export type { RunFlags } from './support/run-flags.ts';
