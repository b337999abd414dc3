// Share of a CPU profile spent in the wire code (issue 10's "time in protocol code" target):
//   npm run build && node --cpu-prof --cpu-prof-dir=/tmp/qs-prof bin/tngd.js compare \
//     --preset quickstart --optimizers tngd --out /tmp/qs --overwrite --no-progress
//   npx tsx scripts/profile-wire-share.ts /tmp/qs-prof/*.cpuprofile
// Each sample is charged to the nearest project frame on its stack (so zod, msgpackr and native
// calls count for the project code that called them); samples under module loading are startup
// and left out, as is idle time. Prints the layers' shares of the remaining (run) time.
import { readFileSync } from 'node:fs';

interface ProfileNode {
  id: number;
  callFrame: { functionName: string; url: string };
  children?: number[];
}
interface Profile {
  nodes: ProfileNode[];
  samples: number[];
  timeDeltas: number[];
}

const LAYERS: [string, RegExp][] = [
  ['protocol', /\/(src|dist)\/protocol\//],
  ['driver', /\/(src|dist)\/driver\//],
  ['firmware', /\/(src|dist)\/emulator\/firmware\//],
  ['emulator transports', /\/(src|dist)\/emulator\/transports\//],
  ['rest of the project', /\/(src|dist)\//],
];
const WIRE = new Set(['protocol', 'driver', 'firmware', 'emulator transports']);

function layerOf(url: string): string | null {
  if (url.includes('/node_modules/')) return null;
  for (const [name, re] of LAYERS) if (re.test(url)) return name;
  return null;
}

export function wireShare(p: Profile): { runMs: number; startupMs: number; byLayer: Map<string, number> } {
  const byId = new Map(p.nodes.map((n) => [n.id, n]));
  const parent = new Map<number, number>();
  for (const n of p.nodes) for (const c of n.children ?? []) parent.set(c, n.id);
  const byLayer = new Map<string, number>();
  let startup = 0;
  let run = 0;
  for (let i = 0; i < p.samples.length; i++) {
    const d = p.timeDeltas[i] ?? 0;
    const leaf = byId.get(p.samples[i])!;
    if (leaf.callFrame.functionName === '(idle)') continue;
    let layer: string | null = null;
    let loading = false;
    for (let id: number | undefined = leaf.id; id !== undefined; id = parent.get(id)) {
      const url = byId.get(id)!.callFrame.url;
      if (/node:internal\/modules|cjs-module-lexer/.test(url)) {
        loading = true;
        break;
      }
      layer ??= layerOf(url);
    }
    if (loading) {
      startup += d;
      continue;
    }
    run += d;
    const k = leaf.callFrame.functionName === '(garbage collector)' ? 'garbage collector' : (layer ?? 'outside the project');
    byLayer.set(k, (byLayer.get(k) ?? 0) + d);
  }
  return { runMs: run / 1000, startupMs: startup / 1000, byLayer: new Map([...byLayer].map(([k, v]) => [k, v / 1000])) };
}

for (const file of process.argv.slice(2)) {
  const { runMs, startupMs, byLayer } = wireShare(JSON.parse(readFileSync(file, 'utf8')) as Profile);
  console.log(`${file}: run ${runMs.toFixed(0)} ms (startup ${startupMs.toFixed(0)} ms left out)`);
  for (const [k, v] of [...byLayer].sort((a, b) => b[1] - a[1])) console.log(`  ${k.padEnd(22)} ${v.toFixed(1).padStart(8)} ms ${((100 * v) / runMs).toFixed(2).padStart(6)} %`);
  let wire = 0;
  for (const [k, v] of byLayer) if (WIRE.has(k)) wire += v;
  console.log(`  wire code (protocol, driver, firmware, emulator transports): ${((100 * wire) / runMs).toFixed(2)} %; protocol alone ${((100 * (byLayer.get('protocol') ?? 0)) / runMs).toFixed(2)} %`);
}
