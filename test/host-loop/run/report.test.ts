import { describe, expect, it, afterEach } from 'vitest';
import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import {
  buildPlots,
  buildReportHtml,
  formatSummaryTable,
  formatTable,
  lineChartSvg,
  meanSd,
  niceTicks,
  summarizeRuns,
  writeReport,
} from '../../../src/host-loop/run/index.ts';
import type { IterationMetrics, RunRecord } from '../../../src/host-loop/run/index.ts';

const VOID_HTML = new Set(['meta', 'br', 'hr', 'img', 'input', 'link']);

/** Tag balance check; returns the element names in document order. */
function checkBalanced(doc: string): string[] {
  const stack: string[] = [];
  const names: string[] = [];
  const body = doc.replace(/<!DOCTYPE[^>]*>/i, '');
  for (const m of body.matchAll(/<(\/?)([a-zA-Z][\w-]*)([^>]*?)(\/?)>/g)) {
    const [, close, name, , self] = m;
    if (close) {
      expect(stack.pop(), `closing </${name}>`).toBe(name);
    } else {
      names.push(name);
      if (!self && !VOID_HTML.has(name)) stack.push(name);
    }
  }
  expect(stack).toEqual([]);
  // no stray angle brackets outside tags (text must be escaped)
  expect(body.replace(/<(\/?)([a-zA-Z][\w-]*)([^>]*?)(\/?)>/g, '')).not.toMatch(/[<>]/);
  return names;
}

/** Every coordinate attribute is a finite number inside the viewBox. */
function checkCoordinates(svg: string): number {
  const vb = /viewBox="0 0 (\d+) (\d+)"/.exec(svg);
  expect(vb).not.toBeNull();
  const [W, H] = [Number(vb![1]), Number(vb![2])];
  expect(svg).not.toMatch(/NaN|Infinity|undefined/);
  let count = 0;
  const inX = (v: number) => expect(v >= 0 && v <= W, `x ${v} in [0, ${W}]`).toBe(true);
  const inY = (v: number) => expect(v >= 0 && v <= H, `y ${v} in [0, ${H}]`).toBe(true);
  for (const m of svg.matchAll(/\s(x|x1|x2|cx|y|y1|y2|cy)="([^"]*)"/g)) {
    const v = Number(m[2]);
    expect(Number.isFinite(v), `${m[1]}="${m[2]}"`).toBe(true);
    (m[1].includes('x') ? inX : inY)(v);
    count++;
  }
  for (const m of svg.matchAll(/\spoints="([^"]*)"/g))
    for (const pair of m[1].trim().split(/\s+/)) {
      const [x, y] = pair.split(',').map(Number);
      inX(x);
      inY(y);
      count++;
    }
  for (const m of svg.matchAll(/\sd="([^"]*)"/g))
    for (const seg of m[1].matchAll(/[ML]([-\d.]+) ([-\d.]+)/g)) {
      inX(Number(seg[1]));
      inY(Number(seg[2]));
      count++;
    }
  return count;
}

function metrics(seed: number, n: number, scale: number, withTest = true): IterationMetrics[] {
  return Array.from({ length: n }, (_, i) => {
    const rec: IterationMetrics = { iter: i + 1, epoch: 0, wallSeconds: (i + 1) * 0.01 * (1 + seed / 10), trainLoss: scale / (i + 1) + 0.01 * seed };
    if (withTest && (i + 1) % 5 === 0) {
      rec.testAccuracy = 0.5 + 0.4 * (1 - 1 / (i + 1)) + 0.01 * seed;
      rec.testLoss = rec.trainLoss * 1.1;
    }
    return rec;
  });
}

const runs: RunRecord[] = [0, 1, 2].flatMap((seed) => [
  { optimizer: 'adam', seed, metrics: metrics(seed, 50, 2) },
  { optimizer: 'tngd <fast> & "good"', seed, metrics: metrics(seed, 50, 1) },
]);

let tmp: string | undefined;
afterEach(() => {
  if (tmp) rmSync(tmp, { recursive: true, force: true });
  tmp = undefined;
});

describe('SVG line charts', () => {
  it('are well formed with every coordinate inside the viewBox, even with NaN, ±Inf, zeros on a log axis and single points', () => {
    const svg = lineChartSvg({
      title: 'loss <test>',
      xLabel: 'iteration',
      yLabel: 'loss',
      logY: true,
      series: [
        { name: 'a', points: [{ x: 1, y: 1 }, { x: 2, y: NaN }, { x: 3, y: 0.5, lo: 0.4, hi: 0.6 }, { x: 4, y: 0.25, lo: 0.2, hi: 0.3 }, { x: 5, y: 0 }] },
        { name: 'b & c', points: [{ x: 2, y: Infinity }, { x: 6, y: 2 }] },
        { name: 'empty', points: [] },
      ],
    });
    const names = checkBalanced(svg);
    expect(names[0]).toBe('svg');
    expect(names.filter((n) => n === 'polygon')).toHaveLength(1); // band of the 2-point run
    expect(names.filter((n) => n === 'circle')).toHaveLength(2); // isolated points
    expect(checkCoordinates(svg)).toBeGreaterThan(20);
    expect(svg).toContain('b &amp; c');
    expect(svg).toContain('loss &lt;test&gt;');
  });

  it('says "no data" when nothing is plottable, and stays well formed', () => {
    const svg = lineChartSvg({ title: 't', xLabel: 'x', yLabel: 'y', series: [{ name: 'a', points: [{ x: 1, y: NaN }] }] });
    checkBalanced(svg);
    checkCoordinates(svg);
    expect(svg).toContain('no data');
  });

  it('picks round ticks covering the range', () => {
    expect(niceTicks(0, 1, 5)).toEqual([0, 0.2, 0.4, 0.6000000000000001, 0.8, 1].map((v) => expect.closeTo(v, 12)));
    expect(niceTicks(3, 97, 5)).toEqual([20, 40, 60, 80]);
    expect(niceTicks(5, 5)).toEqual([5]);
  });
});

describe('report', () => {
  it('plots each metric per optimizer with a mean ± sd band over 3 seeds and writes a self-contained page', () => {
    const plots = buildPlots(runs);
    expect(plots.map((p) => p.file)).toEqual([
      'train-loss-vs-iter.svg',
      'train-loss-vs-time.svg',
      'test-loss-vs-iter.svg',
      'test-acc-vs-iter.svg',
      'test-acc-vs-time.svg',
    ]);
    for (const p of plots) {
      const names = checkBalanced(p.svg);
      expect(names.filter((n) => n === 'path')).toHaveLength(2);
      expect(names.filter((n) => n === 'polygon')).toHaveLength(2);
      checkCoordinates(p.svg);
      expect(p.svg).toContain('mean ± sd over 3 seeds');
    }
    tmp = mkdtempSync(join(tmpdir(), 'tngd-report-'));
    const out = writeReport(tmp, 'Compare <all>', runs, ['3 seeds']);
    const html = readFileSync(out.html, 'utf8');
    // the run page with its data and code inline: nothing external
    expect(html).not.toMatch(/<script[^>]* src=|<link[^>]* href="(?!data:)|https?:\/\/(?!github\.com\/leeoniya|www\.w3\.org\/2000\/svg)/);
    expect((html.match(/<svg /g) ?? []).length).toBe(5); // the figures, for readers without scripts
    const boot = JSON.parse(/<script type="application\/json" id="tngd-boot">([^<]*)<\/script>/.exec(html)![1]) as { mode: string; snapshot: { runs: { optimizer: string; seed: number; metrics: unknown[] }[]; summary: { rows: string[][] }; notes: string[] } };
    expect(boot.mode).toBe('static');
    expect(boot.snapshot.runs.map((r) => `${r.optimizer}/${r.seed}`).sort()).toEqual(runs.map((r) => `${r.optimizer}/${r.seed}`).sort());
    expect(boot.snapshot.runs.every((r, i) => r.metrics.length === runs.find((x) => x.optimizer === boot.snapshot.runs[i].optimizer && x.seed === r.seed)!.metrics.length)).toBe(true);
    expect(boot.snapshot.summary.rows.map((r) => r[0])).toContain('tngd <fast> & "good"');
    expect(boot.snapshot.notes).toEqual(['3 seeds']);
    expect(html).toContain('<title>Compare &lt;all&gt;</title>');
    expect(out.svgs).toHaveLength(5);
    for (const p of out.svgs) checkBalanced(readFileSync(p, 'utf8'));
  });

  it('omits plots without data (no test metrics)', () => {
    const only: RunRecord[] = [{ optimizer: 'sgd', seed: 1, metrics: metrics(0, 10, 1, false) }];
    expect(buildPlots(only).map((p) => p.file)).toEqual(['train-loss-vs-iter.svg', 'train-loss-vs-time.svg']);
    checkBalanced(buildReportHtml('x', only));
  });
});

describe('summary', () => {
  it('computes mean ± sample sd over seeds of the last-10-iteration train loss and final test accuracy', () => {
    const rows = summarizeRuns(runs);
    const adam = rows.find((r) => r.optimizer === 'adam')!;
    // seed s: mean over i = 41..50 of 2/i + 0.01 s
    let base = 0;
    for (let i = 41; i <= 50; i++) base += 2 / i / 10;
    expect(adam.finalTrainLoss.mean).toBeCloseTo(base + 0.01, 12);
    expect(adam.finalTrainLoss.sd).toBeCloseTo(0.01, 12);
    expect(adam.finalTestAccuracy.mean).toBeCloseTo(0.5 + 0.4 * (1 - 1 / 50) + 0.01, 12);
    expect(adam.seeds).toBe(3);
    expect(meanSd([1, 2, 3])).toEqual({ mean: 2, sd: 1, n: 3 });
    expect(meanSd([4])).toEqual({ mean: 4, sd: 0, n: 1 });
  });

  it('formats an aligned terminal table', () => {
    const text = formatSummaryTable(summarizeRuns(runs));
    const lines = text.split('\n');
    expect(lines).toHaveLength(4);
    expect(lines[0]).toMatch(/^optimizer\s+seeds\s+iters\s+train loss/);
    expect(lines[2]).toMatch(/^adam\s+3\s+50\s+0\.05\d+ ± 0\.01\s/);
    expect(lines[2]).toMatch(/% /); // accuracy in percent
    const t = formatTable(['a', 'bb'], [['x', '1.5'], ['yyyy', '10']]);
    expect(t.split('\n')).toEqual(['a     bb', '────  ───', 'x     1.5', 'yyyy   10']);
  });
});
