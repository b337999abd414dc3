// Connects TNGD runs to their device. `emu:` URLs get an in-process emulator sized for the model
// (cells ≥ N, rank ≥ r, memory for the uploads, 64 KiB frames) unless the URL says otherwise,
// seeded with the run's seed unless the URL names one. Any other device is checked against the
// run's size right after the handshake, so a device too small fails before the run folder exists,
// with the option that fixes it.
import { connect, type ConnectOptions } from '../../connect.ts';
import { DisconnectedError, TimeoutError } from '../../driver/errors.ts';
import { LinkError } from '../../driver/transports/errors.ts';
import { parseLinkUrl, redactLinkUrl } from '../../driver/transports/link-url.ts';
import { countParams, parseModelSpec } from '../models/spec.ts';
import '../optimizers/tngd-registry.ts';
import { setOptimizerDefaults } from './config.ts';
import type { TrainConfig } from './config.ts';
import { registerDeviceOptimizer, type RunDevice, type RunDeviceOptions } from './device.ts';
import { DeviceTooSmallError } from './errors.ts';

// Chosen on the shipped data (mlp:196-32-10 and mlp:196-16-10, b = 16..32, t = 5τ).
setOptimizerDefaults('tngd', { lr: 0.1, damping: 0.1 });
setOptimizerDefaults('tngd-adam', { lr: 3e-3, damping: 0.1 });

const MIB = 2 ** 20;

export interface DeviceNeeds {
  /** N: the model's parameter count */
  cells: number;
  /** r: rows of the curvature factor J (batch × outputs for GGN, batch for the empirical Fisher) */
  rank: number;
  /** upload budget: staged + committed + live (delay) copies of J, plus slack */
  memoryBytes: number;
}

/** The device size a TNGD run of `cfg` needs. */
export function deviceNeeds(cfg: Pick<TrainConfig, 'model' | 'batch' | 'optimizerOptions'>): DeviceNeeds {
  const ms = parseModelSpec(cfg.model);
  const n = countParams(ms);
  const dz = ms.dense[ms.dense.length - 1];
  const r = cfg.optimizerOptions.curvature === 'ef' ? cfg.batch : cfg.batch * dz;
  return { cells: n, rank: r, memoryBytes: 4 * r * n * 8 + 16 * MIB };
}

/** What to change so the run fits, by kind of device. */
function fixFor(kind: 'emu' | 'tcp' | 'serial', limit: 'maxCells' | 'maxRank', needed: number): string {
  const flag = limit === 'maxCells' ? '--max-cells' : '--max-rank';
  const smaller = limit === 'maxCells' ? 'a smaller --model' : "a smaller --batch (r = batch × outputs), or --curvature ef (r = batch)";
  if (kind === 'emu') return `add ${limit}=${needed} to the emu: URL, or use ${smaller}`;
  return `if the device is \`tngd emulate\`, restart it with ${flag} ${needed} (or larger); otherwise use ${smaller}`;
}

function isLinkLoss(e: unknown): boolean {
  return e instanceof DisconnectedError || e instanceof TimeoutError || (e instanceof LinkError && e.code !== 'BAD_URL');
}

export async function openTngdDevice(cfg: TrainConfig, runOpts: RunDeviceOptions = {}): Promise<RunDevice> {
  const url = cfg.device;
  const spec = parseLinkUrl(url);
  const opts: ConnectOptions = runOpts.secret !== undefined ? { secret: runOpts.secret } : {};
  const needs = deviceNeeds(cfg);
  let seed: number | undefined = cfg.seed;
  if (spec.kind === 'emu') {
    const p = spec.params;
    if (p.maxCells === undefined) opts.maxCells = Math.max(4096, needs.cells);
    if (p.maxRank === undefined) opts.maxRank = Math.max(256, needs.rank);
    if (p.seed === undefined) opts.seed = cfg.seed;
    else seed = undefined;
    opts.emulator = {
      ...(p.memoryBytes === undefined ? { memoryBytes: Math.max(64 * MIB, needs.memoryBytes) } : {}),
      ...(p.maxFrameBytes === undefined ? { maxFrameBytes: 65535 } : {}),
    };
  }
  const driver = await connect(url, opts);
  const caps = driver.info.capabilities;
  const tooSmall =
    caps.maxCells < needs.cells
      ? new DeviceTooSmallError('maxCells', needs.cells, caps.maxCells, fixFor(spec.kind, 'maxCells', needs.cells))
      : caps.maxRank < needs.rank
        ? new DeviceTooSmallError('maxRank', needs.rank, caps.maxRank, fixFor(spec.kind, 'maxRank', needs.rank))
        : null;
  if (tooSmall) {
    await driver.close();
    throw tooSmall;
  }
  return {
    context: { driver, seed },
    label: redactLinkUrl(url),
    close: () => driver.close(),
    reconnect: async () => {
      await driver.reconnect({ restore: true });
    },
    isLinkLoss,
  };
}

registerDeviceOptimizer('tngd', openTngdDevice);
registerDeviceOptimizer('tngd-adam', openTngdDevice);
