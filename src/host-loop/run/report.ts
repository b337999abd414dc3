// The end-of-run report: SVG plots (loss / accuracy against iterations and wall time, one line
// per optimizer, mean ± sd band over seeds) and one self-contained HTML page with a summary table.
import { mkdirSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { seriesFor, summarizeRuns } from './aggregate.ts';
import type { MetricKey, RunRecord } from './aggregate.ts';
import { escapeXml, lineChartSvg } from './svg.ts';
import { SUMMARY_HEADERS, summaryCells } from './table.ts';
import { writeFileAtomic } from './atomic.ts';
import { buildLivePage, snapshotOfRuns } from './live/page.ts';

const SUMMARY_NOTE = 'train loss: mean of each seed’s last 10 iterations; ± is the sample sd over seeds.';

export interface ReportPlot {
  file: string;
  title: string;
  svg: string;
}

const PLOTS: { y: MetricKey; x: 'iter' | 'wallSeconds'; file: string; title: string; yLabel: string; logY: boolean }[] = [
  { y: 'trainLoss', x: 'iter', file: 'train-loss-vs-iter.svg', title: 'Training loss', yLabel: 'train loss', logY: true },
  { y: 'trainLoss', x: 'wallSeconds', file: 'train-loss-vs-time.svg', title: 'Training loss against wall time', yLabel: 'train loss', logY: true },
  { y: 'testLoss', x: 'iter', file: 'test-loss-vs-iter.svg', title: 'Test loss', yLabel: 'test loss', logY: true },
  { y: 'testAccuracy', x: 'iter', file: 'test-acc-vs-iter.svg', title: 'Test accuracy', yLabel: 'test accuracy', logY: false },
  { y: 'testAccuracy', x: 'wallSeconds', file: 'test-acc-vs-time.svg', title: 'Test accuracy against wall time', yLabel: 'test accuracy', logY: false },
];

/** Every plot for which some run has data. */
export function buildPlots(runs: RunRecord[]): ReportPlot[] {
  const out: ReportPlot[] = [];
  for (const p of PLOTS) {
    const series = seriesFor(runs, p.x, p.y);
    if (!series.some((s) => s.points.length > 0)) continue;
    const seeds = new Set(runs.map((r) => r.seed)).size;
    out.push({
      file: p.file,
      title: p.title,
      svg: lineChartSvg({
        title: seeds > 1 ? `${p.title} (mean ± sd over ${seeds} seeds)` : p.title,
        xLabel: p.x === 'iter' ? 'iteration' : 'wall time (s)',
        yLabel: p.yLabel,
        series,
        logY: p.logY && series.every((s) => s.points.every((q) => !(q.y <= 0))),
        // Optimizers differ by decades in time per step (Adam 0.1 s, TNGD 30 s for a run): on a
        // linear axis the fast ones collapse onto x = 0.
        logX: p.x === 'wallSeconds',
      }),
    });
  }
  return out;
}

function summaryTableHtml(runs: RunRecord[]): string {
  const rows = summarizeRuns(runs).map(summaryCells);
  return (
    `<table><thead><tr>${SUMMARY_HEADERS.map((h) => `<th>${escapeXml(h)}</th>`).join('')}</tr></thead><tbody>` +
    rows.map((r) => `<tr>${r.map((c) => `<td>${escapeXml(c)}</td>`).join('')}</tr>`).join('') +
    '</tbody></table>'
  );
}

/** The SVG-only page (no script): summary table, notes and figures. */
export function buildReportHtml(title: string, runs: RunRecord[], plots: ReportPlot[] = buildPlots(runs), notes: string[] = []): string {
  const table = summaryTableHtml(runs);
  return [
    '<!DOCTYPE html>',
    '<html lang="en"><head><meta charset="utf-8">',
    `<title>${escapeXml(title)}</title>`,
    '<style>body{font-family:sans-serif;margin:2em;max-width:1400px}table{border-collapse:collapse}' +
      'td,th{border:1px solid #ccc;padding:4px 8px;text-align:right}td:first-child,th:first-child{text-align:left}' +
      '.plots{display:flex;flex-wrap:wrap;gap:12px}</style>',
    '</head><body>',
    `<h1>${escapeXml(title)}</h1>`,
    ...notes.map((n) => `<p>${escapeXml(n)}</p>`),
    '<h2>Summary</h2>',
    table,
    `<p>${escapeXml(SUMMARY_NOTE)}</p>`,
    '<h2>Plots</h2>',
    `<div class="plots">${plots.map((p) => `<figure>${p.svg}</figure>`).join('\n')}</div>`,
    '</body></html>',
  ].join('\n');
}

/**
 * Writes each SVG (for papers and studies) and report.html into `dir`; returns their paths. The
 * report is the live run page with the data embedded: one self-contained file, interactive
 * charts, and the device and state panels of runs whose folders (RunRecord.dir) hold them.
 */
export function writeReport(dir: string, title: string, runs: RunRecord[], notes: string[] = []): { html: string; svgs: string[] } {
  mkdirSync(dir, { recursive: true });
  const plots = buildPlots(runs);
  const svgs = plots.map((p) => {
    const path = join(dir, p.file);
    writeFileSync(path, p.svg + '\n');
    return path;
  });
  const html = join(dir, 'report.html');
  const summary = { headers: SUMMARY_HEADERS, rows: summarizeRuns(runs).map(summaryCells), note: SUMMARY_NOTE };
  const fallback = { summary: summaryTableHtml(runs), figures: plots.map((p) => `<figure>${p.svg}</figure>`).join('\n') };
  writeFileAtomic(html, Buffer.from(buildLivePage({ mode: 'static', title, snapshot: snapshotOfRuns(title, notes, runs, dir, summary), fallback })));
  return { html, svgs };
}
