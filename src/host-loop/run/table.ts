// Plain-text tables for the terminal and the summary of a comparison.
import type { SummaryRow } from './aggregate.ts';
import { formatMeanSd, formatNumber } from './stats.ts';

/** Column-aligned text table; numeric-looking cells are right-aligned. */
export function formatTable(headers: string[], rows: string[][]): string {
  const width = (s: string): number => [...s].length;
  const w = headers.map((h, i) => Math.max(width(h), ...rows.map((r) => width(r[i] ?? ''))));
  const numeric = (s: string): boolean => /^[-+]?[\d.]/.test(s);
  const pad = (s: string, i: number, right: boolean): string => {
    const fill = ' '.repeat(Math.max(0, w[i] - width(s)));
    return right ? fill + s : s + fill;
  };
  const line = (cells: string[], header: boolean): string =>
    cells.map((c, i) => pad(c ?? '', i, !header && i > 0 && numeric(c ?? ''))).join('  ').trimEnd();
  return [line(headers, true), w.map((n) => '─'.repeat(n)).join('  '), ...rows.map((r) => line(r, false))].join('\n');
}

export const SUMMARY_HEADERS = ['optimizer', 'seeds', 'iters', 'train loss', 'test loss', 'test acc', 'wall s', 'host ms/step'];

export function summaryCells(r: SummaryRow): string[] {
  const ms = { ...r.hostSecondsPerStep, mean: r.hostSecondsPerStep.mean * 1e3, sd: r.hostSecondsPerStep.sd * 1e3 };
  const acc = { ...r.finalTestAccuracy, mean: r.finalTestAccuracy.mean * 100, sd: r.finalTestAccuracy.sd * 100 };
  return [
    r.optimizer,
    String(r.seeds),
    r.iterations.n ? formatNumber(r.iterations.mean, 6) : '—',
    formatMeanSd(r.finalTrainLoss),
    formatMeanSd(r.finalTestLoss),
    acc.n && Number.isFinite(acc.mean) ? `${formatMeanSd(acc, 4)}%` : '—',
    formatMeanSd(r.wallSeconds, 3),
    formatMeanSd(ms, 3),
  ];
}

export function formatSummaryTable(rows: SummaryRow[]): string {
  return formatTable(SUMMARY_HEADERS, rows.map(summaryCells));
}
