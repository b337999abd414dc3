// Study 5's figures and tables, redrawn from the committed per-seed data only (docs/data/controls-*/
// per-seed.json and results.json), so every number and figure on docs/RESULTS.md §2/§5 can be
// checked without rerunning a training run:
//   npx tsx examples/controls-figures.ts [--data docs/data] [--figures docs/figures] [--out docs/data/controls-tables.md]
import { existsSync, readdirSync, readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { Command } from 'commander';
import { formatNumber } from '../src/host-loop/run/index.ts';
import { runIfMain } from './lib/cli.ts';
import { simpleFigure } from './lib/figures.ts';
import { formatDiff, pairedDiff, tQuantile975 } from './lib/paired.ts';
import type { PairedDiff } from './lib/paired.ts';

export interface SeedRow {
  part: string;
  batch: number;
  arm: string;
  lr: number;
  seed: number;
  diverged: boolean | string;
  stoppedByDevice?: boolean | string;
  testLoss: number | string;
  testAccuracy: number | string;
}

/** One part of one committed study folder: its rows, reference arm and where it came from. */
export interface PartData {
  folder: string;
  part: string;
  key: string;
  batch: number;
  reference: string;
  iters: number;
  command: string;
  commit: string;
  /** arm labels in run order */
  arms: string[];
  rows: SeedRow[];
  tuning: { family: string; best: number; atEdge: boolean; grid: { lr: number; validationLoss: number | string }[] }[];
}

const num = (v: number | string): number => (typeof v === 'number' ? v : Number(v));

/** test accuracy below this (10 classes: chance is 0.1) counts as a run that collapsed */
export const CHANCE_ACCURACY = 0.15;

/** Reads every docs/data/controls-* folder that holds per-seed.json and results.json. */
export function loadControls(dataDir: string): PartData[] {
  const out: PartData[] = [];
  for (const folder of readdirSync(dataDir).filter((f) => f.startsWith('controls-')).sort((a, b) => a.localeCompare(b, 'en', { numeric: true }))) {
    const ps = join(dataDir, folder, 'per-seed.json');
    const rs = join(dataDir, folder, 'results.json');
    if (!existsSync(ps) || !existsSync(rs)) continue;
    const perSeed = JSON.parse(readFileSync(ps, 'utf8')) as { command: string; commit: string; iters: number; rows: SeedRow[] };
    const results = JSON.parse(readFileSync(rs, 'utf8')) as { parts: { part: string; key: string; batch: number; reference: string; tuning: PartData['tuning'] }[] };
    for (const p of results.parts) {
      const rows = perSeed.rows.filter((r) => r.part === p.part && r.batch === p.batch);
      const arms = [...new Set(rows.map((r) => r.arm))];
      out.push({ folder, part: p.part, key: p.key, batch: p.batch, reference: p.reference, iters: perSeed.iters, command: perSeed.command, commit: perSeed.commit, arms, rows, tuning: p.tuning });
    }
  }
  return out;
}

const finite = (r: SeedRow, pick: (r: SeedRow) => number) => (r.diverged === true || r.diverged === 'true' ? NaN : pick(r));

/** arm − reference per seed on one metric, from the rows. */
export function pairedFromRows(p: PartData, arm: string, metric: 'test loss' | 'test accuracy %'): PairedDiff {
  const pick = metric === 'test loss' ? (r: SeedRow) => num(r.testLoss) : (r: SeedRow) => 100 * num(r.testAccuracy);
  const by = (label: string) => ({ label, bySeed: new Map(p.rows.filter((r) => r.arm === label).map((r) => [r.seed, finite(r, pick)])) });
  return pairedDiff(metric, by(arm), by(p.reference));
}

function meanCi(xs: number[]): { mean: number; half: number; n: number } {
  const v = xs.filter(Number.isFinite);
  const n = v.length;
  const mean = v.reduce((a, b) => a + b, 0) / Math.max(1, n);
  const sd = n > 1 ? Math.sqrt(v.reduce((a, b) => a + (b - mean) ** 2, 0) / (n - 1)) : NaN;
  return { mean, half: n > 1 ? (tQuantile975(n - 1) * sd) / Math.sqrt(n) : NaN, n };
}

/** Exact two-sided sign test: 2·P(Binomial(n, ½) ≤ min(k, n − k)), capped at 1. */
export function signTestP(k: number, n: number): number {
  const m = Math.min(k, n - k);
  let c = 1;
  let tail = 0;
  for (let i = 0; i <= m; i++) {
    tail += c;
    c = (c * (n - i)) / (i + 1);
  }
  return Math.min(1, (2 * tail) / 2 ** n);
}

/** Markdown table: per arm η, seeds, test loss and accuracy (mean ± 95 % CI), paired Δ vs the reference. */
export function partMarkdown(p: PartData): string {
  const lines = [
    `### ${p.key} (${p.folder}; b = ${p.batch}, ${p.iters} iterations; reference: ${p.reference})`,
    '',
    `Command: \`${p.command}\` at ${p.commit.slice(0, 7)}.`,
    '',
    '| arm | η (tuned) | seeds finished | at chance | test loss (mean ± 95 % CI) | test acc % | Δ test loss [95 % CI] | Δ test acc pp [95 % CI] | verdict (loss; acc) | seeds with lower loss than ref (sign test p) |',
    '|---|---|---|---|---|---|---|---|---|---|',
  ];
  const notes: string[] = [];
  const collapsed = (label: string) => new Set(p.rows.filter((r) => r.arm === label && finite(r, (x) => num(x.testAccuracy)) < CHANCE_ACCURACY).map((r) => r.seed));
  for (const arm of p.arms) {
    const rows = p.rows.filter((r) => r.arm === arm);
    const t = p.tuning.find((x) => x.family === `${p.key}-${arm}`);
    const loss = meanCi(rows.map((r) => finite(r, (x) => num(x.testLoss))));
    const acc = meanCi(rows.map((r) => finite(r, (x) => 100 * num(x.testAccuracy))));
    const lr = t ? `${formatNumber(t.best, 3)}${t.atEdge ? ' (grid edge)' : ''}` : formatNumber(rows[0]?.lr ?? NaN, 3);
    const ci = (m: { mean: number; half: number }, d: number) => `${m.mean.toFixed(d)} ± ${Number.isFinite(m.half) ? m.half.toFixed(d) : '—'}`;
    let diffs = ['(reference)', '', '', ''];
    if (arm !== p.reference) {
      const dl = pairedFromRows(p, arm, 'test loss');
      const da = pairedFromRows(p, arm, 'test accuracy %');
      const below = dl.perSeed.filter((d) => d.diff < 0).length;
      diffs = [formatDiff(dl, 3), formatDiff(da, 1), `${dl.verdict}; ${da.verdict}`, `${below} of ${dl.n} (p = ${signTestP(below, dl.n).toPrecision(2)})`];
      const out = new Set([...collapsed(arm), ...collapsed(p.reference)]);
      if (out.size) {
        const kept = { ...p, rows: p.rows.filter((r) => !out.has(r.seed)) };
        const d = pairedFromRows(kept, arm, 'test loss');
        notes.push(`- ${arm}: without seed(s) ${[...out].sort((a, b) => a - b).join(', ')} (a run of this pair ended at chance): Δ test loss ${formatDiff(d, 3)} over ${d.n} seeds (${d.verdict}).`);
      }
    }
    // a run that ends at chance accuracy (10 classes) trained to nothing: its η is at that seed's stability edge
    const atChance = rows.filter((r) => finite(r, (x) => num(x.testAccuracy)) < CHANCE_ACCURACY).length;
    lines.push(`| ${arm} | ${lr} | ${loss.n} of ${rows.length} | ${atChance} | ${ci(loss, 3)} | ${ci(acc, 1)} | ${diffs.join(' | ')} |`);
  }
  if (notes.length) lines.push('', ...notes);
  const ngd = p.arms.find((a) => a.startsWith('NGD exact'));
  if (p.part === 'carry' && ngd) {
    // the question of Fig. 4a with η tuned per arm: does the device's direction beat the exact solve?
    lines.push(
      '',
      `Against ${ngd} (Δ = arm − NGD per seed; last column: the pairs where neither run ended at chance, a post-hoc view):`,
      '',
      '| arm | Δ test loss [95 % CI] | verdict | seeds with lower loss than NGD (sign test p) | Δ without runs at chance [95 % CI] (seeds) |',
      '|---|---|---|---|---|',
    );
    for (const arm of p.arms.filter((a) => a !== ngd)) {
      const d = pairedFromRows({ ...p, reference: ngd }, arm, 'test loss');
      const below = d.perSeed.filter((x) => x.diff < 0).length;
      const out = new Set([...collapsed(arm), ...collapsed(ngd)]);
      const kept = pairedFromRows({ ...p, reference: ngd, rows: p.rows.filter((r) => !out.has(r.seed)) }, arm, 'test loss');
      lines.push(`| ${arm} | ${formatDiff(d, 3)} | ${d.verdict} | ${below} of ${d.n} (p = ${signTestP(below, d.n).toPrecision(2)}) | ${out.size ? `${formatDiff(kept, 3)} (${kept.n})` : 'same'} |`);
    }
  }
  return lines.join('\n');
}

/** Arm labels that name the same control at every b (the noisy arm's κ₀ is in its label). */
const carrySeries = (parts: PartData[]) => [...new Set(parts.flatMap((p) => p.arms.filter((a) => a !== p.reference)))];

export function carryVsBFigure(carry: PartData[]): string {
  const sorted = [...carry].sort((a, b) => a.batch - b.batch);
  return simpleFigure(
    'Test loss minus noise-free carried TNGD, paired by seed (mean, 95 % CI)',
    'log2 batch size b',
    'Δ test loss',
    carrySeries(sorted).map((arm) => ({
      name: arm,
      points: sorted
        .filter((p) => p.arms.includes(arm))
        .map((p) => {
          const d = pairedFromRows(p, arm, 'test loss');
          return { x: Math.log2(p.batch), y: d.mean, ...(Number.isFinite(d.lo) ? { lo: d.lo, hi: d.hi } : {}) };
        }),
    })),
  );
}

/** Paired Δ test loss of each arm against the part's reference, x read from the arm label. */
export function diffFigure(p: PartData, title: string, xLabel: string, xOf: (arm: string) => number): string {
  const pts = p.arms
    .filter((a) => a !== p.reference)
    .map((a) => {
      const d = pairedFromRows(p, a, 'test loss');
      return { x: xOf(a), y: d.mean, ...(Number.isFinite(d.lo) ? { lo: d.lo, hi: d.hi } : {}) };
    })
    .sort((a, b) => a.x - b.x);
  return simpleFigure(title, xLabel, `Δ test loss vs ${p.reference}`, [{ name: `arm − ${p.reference}`, points: [{ x: xOf(p.reference), y: 0 }, ...pts].sort((a, b) => a.x - b.x) }]);
}

export function main(argv: string[]): { tables: string; figures: string[] } {
  const o = new Command()
    .option('--data <dir>', 'folder holding the controls-* data folders', 'docs/data')
    .option('--figures <dir>', 'where the SVGs go', 'docs/figures')
    .option('--out <file>', 'Markdown file for the tables', 'docs/data/controls-tables.md')
    .parse(argv, { from: 'user' })
    .opts<{ data: string; figures: string; out: string }>();
  const parts = loadControls(o.data);
  const figures: string[] = [];
  const put = (name: string, svg: string) => {
    writeFileSync(join(o.figures, name), svg.endsWith('\n') ? svg : svg + '\n');
    figures.push(name);
  };
  const carry = parts.filter((p) => p.part === 'carry');
  if (carry.length) put('controls-carry-vs-b.svg', carryVsBFigure(carry));
  const label = (re: RegExp, fallback: number) => (a: string) => {
    const m = re.exec(a);
    return m ? Number(m[1]) : fallback;
  };
  for (const p of parts) {
    if (p.part === 'delay') put('controls-delay.svg', diffFigure(p, `Fig. 4b delay grid, b = ${p.batch}: Δ test loss vs t_d = 0 (paired, 95 % CI)`, 't_d (τ)', label(/t_d=([0-9.]+)τ/, 0)));
    if (p.part === 'sweep-t') put('controls-sweep-t.svg', diffFigure(p, `Fig. 4a with tuned η, b = ${p.batch}: TNGD − exact NGD (paired, 95 % CI; NGD drawn at t = 100)`, 't (τ)', label(/t=([0-9.]+)τ/, 100)));
    if (p.part === 'sweep-kappa')
      put('controls-sweep-kappa.svg', diffFigure(p, `Fig. 7 with tuned η, b = ${p.batch}: Δ test loss vs κ₀ = 0 (paired, 95 % CI)`, 'log10 κ₀ (κ₀ = 0 drawn at −4)', (a) => {
        const k = label(/κ₀=([0-9.e-]+)/, 0)(a);
        return k === 0 ? -4 : Math.log10(k);
      }));
  }
  const tables = [
    '# Study 5 tables, computed from the committed per-seed data by `npx tsx examples/controls-figures.ts`',
    '',
    'Mean ± 95 % Student-t half-width over the seeds that finished; Δ = arm − reference per seed, mean [95 % t interval] over the paired seeds; verdict "lower"/"higher" only where the interval excludes 0. "At chance": runs that finished with test accuracy < 15 % (collapsed; they stay in the means and intervals). Sign test: seeds where the arm\'s test loss is below the reference\'s, exact two-sided binomial p (robust to such collapsed seeds).',
    '',
    ...parts.flatMap((p) => [partMarkdown(p), '']),
  ].join('\n');
  writeFileSync(o.out, tables);
  console.log(tables);
  console.log(`wrote ${figures.join(', ')} to ${o.figures}`);
  return { tables, figures };
}

runIfMain(import.meta.url, async (argv) => main(argv));
