// Connects TNGD runs to their device. `emu:` URLs get an in-process emulator sized for the model
// (cells ≥ N, rank ≥ r, memory for two copies of J, 64 KiB frames) unless the URL says otherwise,
// seeded with the run's seed unless the URL names one.
import { connect, type ConnectOptions } from '../../connect.ts';
import { parseLinkUrl, redactLinkUrl } from '../../driver/transports/link-url.ts';
import { countParams, parseModelSpec } from '../models/spec.ts';
import '../optimizers/tngd-registry.ts';
import { setOptimizerDefaults } from './config.ts';
import type { TrainConfig } from './config.ts';
import { registerDeviceOptimizer, type RunDevice } from './device.ts';

// Chosen on the shipped data (mlp:196-32-10 and mlp:196-16-10, b = 16..32, t = 5τ).
setOptimizerDefaults('tngd', { lr: 0.1, damping: 0.1 });
setOptimizerDefaults('tngd-adam', { lr: 3e-3, damping: 0.1 });

const MIB = 2 ** 20;

export async function openTngdDevice(cfg: TrainConfig): Promise<RunDevice> {
  const url = cfg.device;
  const spec = parseLinkUrl(url);
  const opts: ConnectOptions = {};
  let seed: number | undefined = cfg.seed;
  if (spec.kind === 'emu') {
    const ms = parseModelSpec(cfg.model);
    const n = countParams(ms);
    const dz = ms.dense[ms.dense.length - 1];
    const r = cfg.optimizerOptions.curvature === 'ef' ? cfg.batch : cfg.batch * dz;
    const p = spec.params;
    if (p.maxCells === undefined) opts.maxCells = Math.max(4096, n);
    if (p.maxRank === undefined) opts.maxRank = Math.max(256, r);
    if (p.seed === undefined) opts.seed = cfg.seed;
    else seed = undefined;
    // staged + committed + live (delay) copies of J, plus slack
    opts.emulator = { memoryBytes: Math.max(64 * MIB, 4 * r * n * 8 + 16 * MIB), ...(p.maxFrameBytes === undefined ? { maxFrameBytes: 65535 } : {}) };
  }
  const driver = await connect(url, opts);
  return { context: { driver, seed }, label: redactLinkUrl(url), close: () => driver.close() };
}

registerDeviceOptimizer('tngd', openTngdDevice);
registerDeviceOptimizer('tngd-adam', openTngdDevice);
