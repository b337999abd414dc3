// The device side of a run, for optimizers that need one (TNGD): they register an opener that
// connects to cfg.device and hands the optimizer its handles through the optimizer context.
// Digital optimizers need no device and the loop never connects for them.
import type { OptimizerContext } from '../optimizers/registry.ts';
import type { TrainConfig } from './config.ts';

export interface RunDevice {
  /** passed to createOptimizer as its context */
  context: OptimizerContext;
  /** device-side state for the checkpoint (e.g. the carried x); called after a completed step */
  save(): Promise<unknown>;
  /** puts the device back into a checkpointed state before the first resumed step */
  restore(state: unknown): Promise<void>;
  /** waits for outstanding device work and disconnects */
  close(): Promise<void>;
}

export type DeviceOpener = (cfg: TrainConfig) => Promise<RunDevice>;

const openers = new Map<string, DeviceOpener>();

export function registerDeviceOptimizer(optimizer: string, open: DeviceOpener): void {
  openers.set(optimizer, open);
}

export function needsDevice(optimizer: string): boolean {
  return openers.has(optimizer);
}

export async function openRunDevice(cfg: TrainConfig): Promise<RunDevice | null> {
  const open = openers.get(cfg.optimizer);
  return open ? open(cfg) : null;
}
