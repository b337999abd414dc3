// Named comparison set-ups. A preset fills in whatever the command line leaves out.
import type { CompareConfig } from './compare.ts';

export interface ComparePreset extends CompareConfig {
  description: string;
  /** default run folder */
  out: string;
}

const presets = new Map<string, ComparePreset>();

export function registerPreset(name: string, preset: ComparePreset): void {
  presets.set(name, preset);
}

export function getPreset(name: string): ComparePreset | undefined {
  return presets.get(name);
}

export function listPresets(): { name: string; description: string }[] {
  return [...presets].map(([name, p]) => ({ name, description: p.description }));
}

// The README's main command: TNGD on the in-process emulator against Adam and NGD-Woodbury on
// the shipped data, sized to finish well within 2 minutes on 2 cores (see README "Quick start").
registerPreset('quickstart', {
  description: 'TNGD (in-process emulator) vs Adam vs NGD-Woodbury on the shipped Fashion-MNIST subset, mlp:196-16-10, b = 16, 200 iterations',
  out: 'results/quickstart',
  base: { model: 'mlp:196-16-10', batch: 16, iters: 200, evalEvery: 20, checkpointEvery: 100, device: 'emu:' },
  runs: [
    // Exact integrator: its cost does not grow with t, so t = 20τ (closer to NGD) is free; Euler
    // at δt = 0.1τ turns unstable here as λmax(GGN) grows during training.
    { optimizer: 'tngd', options: { lr: 0.1, damping: 0.1, integrator: 'exact', tTau: 20, samplePeriod: 0.5, kappa0: 1e-3, start: 'carry' } },
    { optimizer: 'adam', options: { lr: 3e-3 } },
    { optimizer: 'ngd-woodbury', options: { lr: 0.1, damping: 0.1 } },
  ],
  seeds: [1],
});
