// The device side of a run, for optimizers that need one (TNGD): they register an opener that
// connects to cfg.device and hands the optimizer its handles through the optimizer context.
// Digital optimizers need no device and the loop never connects for them.
import { DirectionOptimizer } from '../optimizers/direction.ts';
import type { OptimizerContext } from '../optimizers/registry.ts';
import type { BatchOracle, Optimizer } from '../types.ts';
import type { TrainConfig } from './config.ts';

export interface RunDevice {
  /** passed to createOptimizer as its context */
  context: OptimizerContext;
  /** a short description for logs and reports (no secrets) */
  label: string;
  /** disconnects (pending device work is abandoned) */
  close(): Promise<void>;
  /**
   * After the link went down: opens it again and puts back the device state of the last
   * completed step (the driver's reconnect with restore). Absent: the device cannot be recovered.
   */
  reconnect?(): Promise<void>;
  /** is `e` the link going down (as opposed to the device refusing a request)? */
  isLinkLoss?(e: unknown): boolean;
}

/** What the run gives the device opener besides its config. */
export interface RunDeviceOptions {
  /** tcp: the shared secret (never part of the stored config) */
  secret?: string;
}

/** A direction source whose state partly lives on a device (checkpointed through the loop). */
export interface DeviceBackedSource {
  /** waits for device work in flight and returns the device-side state as JSON */
  saveDevice(): Promise<unknown>;
  /** puts a freshly connected device back into a saved state */
  restoreDevice(state: unknown, hooks?: { lastBatchAt(params: Float64Array): BatchOracle }): Promise<void>;
}

export function deviceBackedSourceOf(opt: Optimizer): DeviceBackedSource | null {
  if (!(opt instanceof DirectionOptimizer)) return null;
  const s = opt.source as Partial<DeviceBackedSource>;
  return typeof s.saveDevice === 'function' && typeof s.restoreDevice === 'function' ? (s as DeviceBackedSource) : null;
}

export type DeviceOpener = (cfg: TrainConfig, opts?: RunDeviceOptions) => Promise<RunDevice>;

const openers = new Map<string, DeviceOpener>();

export function registerDeviceOptimizer(optimizer: string, open: DeviceOpener): void {
  openers.set(optimizer, open);
}

export function needsDevice(optimizer: string): boolean {
  return openers.has(optimizer);
}

export async function openRunDevice(cfg: TrainConfig, opts: RunDeviceOptions = {}): Promise<RunDevice | null> {
  const open = openers.get(cfg.optimizer);
  return open ? open(cfg, opts) : null;
}
