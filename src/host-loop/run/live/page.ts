// The run page: one HTML document for both uses. Served live, it loads uPlot and the client
// from our server and follows /events; as a report it carries the same code and the data inline
// (one self-contained file, no network). Chart code is uPlot from npm, never a CDN.
import { readFileSync } from 'node:fs';
import { createRequire } from 'node:module';
import { dirname, resolve } from 'node:path';
import { discoverRuns, loadRun, type LiveRun } from './folders.ts';
import type { RunRecord } from '../aggregate.ts';

export interface LiveSnapshot {
  title: string;
  notes: string[];
  /** ISO time the snapshot was taken */
  generatedAt: string;
  runs: LiveRun[];
  /** a table over seeds (mean ± sd) for finished comparisons */
  summary?: { headers: string[]; rows: string[][]; note: string };
}

const require = createRequire(import.meta.url);
let assets: { uplotJs: string; uplotCss: string; client: string } | null = null;

/** uPlot's browser build and stylesheet (from node_modules) and our client script. */
export function pageAssets(): { uplotJs: string; uplotCss: string; client: string } {
  assets ??= {
    uplotJs: readFileSync(require.resolve('uplot/dist/uPlot.iife.min.js'), 'utf8'),
    uplotCss: readFileSync(require.resolve('uplot/dist/uPlot.min.css'), 'utf8'),
    client: readFileSync(new URL('./client.js', import.meta.url), 'utf8'),
  };
  return assets;
}

/** Snapshot of every run folder under the roots (a run folder, or a folder of run folders). */
export function snapshotOfFolders(roots: string[], title: string, notes: string[] = []): LiveSnapshot {
  const runs: LiveRun[] = [];
  for (const root of roots) for (const dir of discoverRuns(root)) runs.push(loadRun(dir, roots.length > 1 ? rootParent(root) : root));
  return { title, notes, generatedAt: new Date().toISOString(), runs };
}

/** Snapshot of finished runs (the end-of-run report): their records, plus their folders' device and state files. */
export function snapshotOfRuns(title: string, notes: string[], runs: RunRecord[], root: string, summary?: LiveSnapshot['summary']): LiveSnapshot {
  const out: LiveRun[] = runs.map((r) =>
    r.dir
      ? { ...loadRun(r.dir, root, r.metrics), optimizer: r.optimizer, seed: r.seed }
      : { key: `${r.optimizer}-s${r.seed}`, name: `${r.optimizer}-s${r.seed}`, optimizer: r.optimizer, seed: r.seed, config: null, metrics: r.metrics, device: null, state: null, problems: [] },
  );
  return { title, notes, generatedAt: new Date().toISOString(), runs: out, ...(summary ? { summary } : {}) };
}

/** With several roots, keys are relative to each root's parent so they stay distinct. */
function rootParent(root: string): string {
  return dirname(resolve(root));
}

const escapeHtml = (s: string): string => s.replace(/[<>&"']/g, (c) => ({ '<': '&lt;', '>': '&gt;', '&': '&amp;', '"': '&quot;', "'": '&#39;' })[c]!);
/** JSON inside <script>: no '<' so neither </script> nor <!-- can end or change the element. */
const scriptJson = (v: unknown): string => JSON.stringify(v).replace(/</g, '\\u003c').replace(/\u2028/g, '\\u2028').replace(/\u2029/g, '\\u2029');
/** A script's own text must not contain '</script'. */
const inlineScript = (code: string): string => code.replace(/<\/script/gi, '<\\/script');

const CSS = `
body{font-family:system-ui,sans-serif;margin:1.2em 2em;color:#222;max-width:1500px}
h1{font-size:1.4em;margin:.2em 0}h2{font-size:1.15em;margin:1.2em 0 .4em;border-bottom:1px solid #ddd}h3{font-size:1em;margin:.2em 0 .4em}
.status{display:inline-block;padding:2px 8px;border-radius:10px;font-size:.85em;background:#eee}
.status.live{background:#d6f5d6}.status.offline{background:#ffe0cc}.status.static{background:#e6eefc}
.grid{display:flex;flex-wrap:wrap;gap:14px}.chart{min-width:340px;flex:1 1 560px;max-width:740px}
table{border-collapse:collapse;font-size:.9em}td,th{border:1px solid #ccc;padding:3px 8px;text-align:right}
td:first-child,th:first-child{text-align:left}table.kv th{text-align:left;background:#f6f6f6;font-weight:normal}table.kv td{text-align:left}
.card{border:1px solid #ddd;border-radius:6px;padding:8px 10px}.muted{color:#777}.problem{color:#b00}
label{font-size:.9em}
`;

export interface PageOptions {
  /** 'live': data from the server's /events; 'static': `snapshot` embedded */
  mode: 'live' | 'static';
  snapshot?: LiveSnapshot;
  title: string;
  /** static HTML shown before (and without) scripts: summary table, notes, SVG figures */
  fallback?: { summary?: string; figures?: string };
}

export function buildLivePage(o: PageOptions): string {
  const a = pageAssets();
  const boot = o.mode === 'static' ? { mode: 'static', snapshot: o.snapshot } : { mode: 'live', events: 'events' };
  const head =
    o.mode === 'static'
      ? `<style>${a.uplotCss}</style>`
      : '<link rel="stylesheet" href="assets/uPlot.min.css">';
  const scripts =
    o.mode === 'static'
      ? `<script>${inlineScript(a.uplotJs)}</script>\n<script>${inlineScript(a.client)}</script>`
      : '<script src="assets/uPlot.iife.min.js"></script>\n<script src="assets/client.js"></script>';
  return `<!DOCTYPE html>
<html lang="en"><head><meta charset="utf-8">
<meta name="viewport" content="width=device-width, initial-scale=1">
<link rel="icon" href="data:,">
<title>${escapeHtml(o.title)}</title>
${head}
<style>${CSS}</style>
</head><body>
<h1 id="title">${escapeHtml(o.title)}</h1>
<span id="status" class="status">loading…</span>
<div id="notes">${(o.snapshot?.notes ?? []).map((n) => `<p>${escapeHtml(n)}</p>`).join('')}</div>
<h2>Runs</h2>
<div id="summary"></div>
<div id="seed-summary">${o.fallback?.summary ?? ''}</div>
<h2>Training curves</h2>
<label>x axis <select id="x-mode"><option value="iter">iteration</option><option value="wall">wall time</option><option value="compute">compute time (host + device)</option></select></label>
<div class="grid"><div class="chart" id="chart-train-loss"></div><div class="chart" id="chart-test-loss"></div><div class="chart" id="chart-train-acc"></div><div class="chart" id="chart-test-acc"></div></div>
<h2>Device</h2>
<div id="device-cards" class="grid"></div>
<div class="grid"><div class="chart" id="chart-device-time"></div><div class="chart" id="chart-device-clips"></div></div>
<h2>SPU state</h2>
<p class="muted">A few cells’ sampled trajectory x(t) in the latest sampled runs, their running time-average, and the target A⁻¹g solved on the host from the same factors, with the ±2σ spread the noise κ₀ should give (stationary covariance κ₀A⁻¹).</p>
<label>run <select id="state-run"></select></label> <span id="state-note" class="muted"></span>
<div id="state-charts" class="grid"></div>
${o.fallback?.figures ? `<h2>Figures</h2>\n<details id="figures"><summary>the SVG figures saved beside this report</summary><div class="grid">${o.fallback.figures}</div></details>` : ''}
<script type="application/json" id="tngd-boot">${scriptJson(boot)}</script>
${scripts}
</body></html>
`;
}
