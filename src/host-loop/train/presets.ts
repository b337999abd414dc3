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
