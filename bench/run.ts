// `npm run bench [-- --quick] [-- suite ...]`: runs every bench/*.bench.ts (or the named ones),
// prints a table per suite and writes results/bench/<suite>.json.
import { readdirSync, mkdirSync, writeFileSync } from 'node:fs';
import { join, dirname } from 'node:path';
import { fileURLToPath, pathToFileURL } from 'node:url';
import type { BenchSuite, BenchRow } from './harness.ts';

const here = dirname(fileURLToPath(import.meta.url));
const args = process.argv.slice(2);
const quick = args.includes('--quick');
const wanted = args.filter((a) => !a.startsWith('--'));
const files = readdirSync(here)
  .filter((f) => f.endsWith('.bench.ts'))
  .filter((f) => wanted.length === 0 || wanted.includes(f.replace(/\.bench\.ts$/, '')))
  .sort();

const outDir = join(here, '..', 'results', 'bench');
mkdirSync(outDir, { recursive: true });

function fmt(x: unknown): string {
  if (typeof x !== 'number') return x === undefined ? '' : String(x);
  if (!Number.isFinite(x)) return String(x);
  const a = Math.abs(x);
  if (a !== 0 && (a >= 1e6 || a < 1e-3)) return x.toExponential(3);
  return Number(x.toPrecision(4)).toString();
}

function printTable(rows: BenchRow[]): void {
  const cols = Array.from(new Set(rows.flatMap((r) => Object.keys(r))));
  const cells = rows.map((r) => cols.map((c) => fmt(r[c])));
  const widths = cols.map((c, i) => Math.max(c.length, ...cells.map((row) => row[i].length)));
  const line = (vals: string[]) => vals.map((v, i) => v.padEnd(widths[i])).join('  ');
  console.log(line(cols));
  console.log(widths.map((w) => '-'.repeat(w)).join('  '));
  for (const row of cells) console.log(line(row));
}

for (const f of files) {
  const mod = (await import(pathToFileURL(join(here, f)).href)) as { default: BenchSuite };
  const suite = mod.default;
  console.log(`\n## ${suite.name}${quick ? ' (quick)' : ''}`);
  const rows = await suite.run({ quick });
  printTable(rows);
  const out = join(outDir, `${suite.name}.json`);
  writeFileSync(out, JSON.stringify({ suite: suite.name, quick, node: process.version, date: new Date().toISOString(), rows }, null, 2));
  console.log(`→ ${out}`);
}
