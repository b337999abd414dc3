// The SVG figures the studies use: readable log ticks, the legend beside the plot (never over a
// line), and a log time axis on which a fast optimizer is not pinned at x = 0.
import { describe, expect, it } from 'vitest';
import { lineChartSvg, logTicks, tickLabel } from '../../../src/host-loop/run/svg.ts';

const texts = (svg: string): string[] => [...svg.matchAll(/<text[^>]*>([^<]*)<\/text>/g)].map((m) => m[1]);
const plotRect = (svg: string): { x: number; y: number; w: number; h: number } => {
  const m = /<rect x="(\d+)" y="(\d+)" width="(\d+)" height="(\d+)" fill="none"/.exec(svg)!;
  return { x: Number(m[1]), y: Number(m[2]), w: Number(m[3]), h: Number(m[4]) };
};

describe('log-axis ticks', () => {
  it('are round values with short labels inside a decade, over a few decades and over many', () => {
    expect(logTicks(0.3, 2.4)).toEqual([0.5, 1, 1.5, 2]);
    expect(logTicks(0.05, 3)).toEqual([0.05, 0.1, 0.2, 0.5, 1, 2]);
    expect(logTicks(1e-4, 10)).toEqual([1e-4, 1e-3, 0.01, 0.1, 1, 10]);
    expect(logTicks(1e-9, 1e3).length).toBeLessThanOrEqual(7);
    for (const t of [...logTicks(0.3, 2.4), ...logTicks(0.05, 3), ...logTicks(1e-4, 10)]) expect(tickLabel(t)).toMatch(/^(\d+(\.\d{1,3})?|\de-?\d+)$/);
    expect(tickLabel(0.6000000000000001)).toBe('0.6');
    expect(tickLabel(1e-4)).toBe('1e-4');
  });

  it('a loss chart between 0.3 and 2.3 shows no 2.51189-style labels', () => {
    const svg = lineChartSvg({ title: 't', xLabel: 'iteration', yLabel: 'loss', logY: true, series: [{ name: 'tngd', points: [1, 2, 3, 4].map((x) => ({ x, y: 2.3 / x ** 2 + 0.2 })) }] });
    const labels = texts(svg).filter((t) => /^[\d.e-]+$/.test(t));
    expect(labels.length).toBeGreaterThan(4);
    for (const l of labels) expect(l.replace(/^0\./, '').replace('.', '').length).toBeLessThanOrEqual(3);
    expect(svg).not.toMatch(/2\.51189|1\.58489|0\.630957/);
  });
});

describe('legend and time axis', () => {
  it('puts the legend to the right of the plot area, so it cannot cover a line', () => {
    const svg = lineChartSvg({
      title: 't', xLabel: 'x', yLabel: 'y',
      series: [{ name: 'ngd-woodbury', points: [{ x: 0, y: 10 }, { x: 10, y: 10 }] }, { name: 'adam', points: [{ x: 0, y: 9 }, { x: 10, y: 9 }] }],
    });
    const r = plotRect(svg);
    const legendLines = [...svg.matchAll(/<line x1="([\d.]+)" y1="[\d.]+" x2="[\d.]+" y2="[\d.]+" stroke="#[0-9a-f]{6}" stroke-width="2.5"\/>/g)].map((m) => Number(m[1]));
    expect(legendLines).toHaveLength(2);
    for (const x of legendLines) expect(x).toBeGreaterThan(r.x + r.w);
    const width = Number(/<svg[^>]* width="(\d+)"/.exec(svg)![1]);
    expect(Math.max(...legendLines) + 24 + 7 * 'ngd-woodbury'.length).toBeLessThanOrEqual(width + 10);
  });

  it('on a log time axis, a run 300× faster than another spans a visible width instead of x = 0', () => {
    const adam = Array.from({ length: 200 }, (_, i) => ({ x: (i + 1) * 0.0005, y: 2 - i / 200 }));
    const tngd = Array.from({ length: 200 }, (_, i) => ({ x: (i + 1) * 0.15, y: 2 - i / 150 }));
    const svg = lineChartSvg({ title: 't', xLabel: 'wall time (s)', yLabel: 'loss', logX: true, logY: true, series: [{ name: 'tngd', points: tngd }, { name: 'adam', points: adam }] });
    const r = plotRect(svg);
    const paths = [...svg.matchAll(/<path d="([^"]+)"/g)].map((m) => [...m[1].matchAll(/[ML]([\d.]+) /g)].map((p) => Number(p[1])));
    const adamXs = paths[1];
    expect((Math.max(...adamXs) - Math.min(...adamXs)) / r.w).toBeGreaterThan(0.3);
    expect(texts(svg)).toContain('wall time (s) (log)');
  });
});
