// Turns per-seed metric records into plot series (mean ± sd over seeds) and summary rows.
import type { IterationMetrics } from './metrics.ts';
import type { Series, SeriesPoint } from './svg.ts';
import { meanSd } from './stats.ts';
import type { MeanSd } from './stats.ts';

export interface RunRecord {
  optimizer: string;
  seed: number;
  metrics: IterationMetrics[];
  /** its run folder, when it has one (the report then shows its device.json and state.json) */
  dir?: string;
}

export type MetricKey = 'trainLoss' | 'testLoss' | 'testAccuracy' | 'trainAccuracy';

function groupByOptimizer(runs: RunRecord[]): Map<string, RunRecord[]> {
  const g = new Map<string, RunRecord[]>();
  for (const r of runs) g.set(r.optimizer, [...(g.get(r.optimizer) ?? []), r]);
  return g;
}

/**
 * One series per optimizer of metric `y` against iteration or mean wall time, aligned by
 * iteration across seeds; with ≥ 2 seeds at a point the band is mean ± sd. Long runs are
 * averaged into at most `maxPoints` buckets to keep the SVG small.
 */
export function seriesFor(runs: RunRecord[], x: 'iter' | 'wallSeconds', y: MetricKey, maxPoints = 400): Series[] {
  const out: Series[] = [];
  for (const [name, group] of groupByOptimizer(runs)) {
    const byIter = new Map<number, { xs: number[]; ys: number[] }>();
    for (const run of group)
      for (const rec of run.metrics) {
        const v = rec[y];
        if (typeof v !== 'number') continue;
        const e = byIter.get(rec.iter) ?? { xs: [], ys: [] };
        e.xs.push(x === 'iter' ? rec.iter : rec.wallSeconds);
        e.ys.push(v);
        byIter.set(rec.iter, e);
      }
    const iters = [...byIter.keys()].sort((a, b) => a - b);
    let pts: SeriesPoint[] = iters.map((it) => {
      const e = byIter.get(it)!;
      const my = meanSd(e.ys);
      const p: SeriesPoint = { x: meanSd(e.xs).mean, y: my.mean };
      if (my.n >= 2) {
        p.lo = my.mean - my.sd;
        p.hi = my.mean + my.sd;
      }
      return p;
    });
    if (pts.length > maxPoints) pts = bucketMean(pts, maxPoints);
    if (pts.length) out.push({ name, points: pts });
  }
  return out;
}

function bucketMean(pts: SeriesPoint[], buckets: number): SeriesPoint[] {
  const out: SeriesPoint[] = [];
  const size = pts.length / buckets;
  for (let b = 0; b < buckets; b++) {
    const chunk = pts.slice(Math.floor(b * size), Math.floor((b + 1) * size));
    if (!chunk.length) continue;
    const avg = (f: (p: SeriesPoint) => number | undefined): number | undefined => {
      const v = chunk.map(f);
      return v.every((z) => z !== undefined) ? (v as number[]).reduce((a, c) => a + c, 0) / v.length : undefined;
    };
    const p: SeriesPoint = { x: avg((p) => p.x)!, y: avg((p) => p.y)! };
    const lo = avg((p) => p.lo);
    const hi = avg((p) => p.hi);
    if (lo !== undefined && hi !== undefined) {
      p.lo = lo;
      p.hi = hi;
    }
    out.push(p);
  }
  return out;
}

export interface SummaryRow {
  optimizer: string;
  seeds: number;
  iterations: MeanSd;
  /** mean train loss over each seed's last `window` iterations (minibatch losses are noisy) */
  finalTrainLoss: MeanSd;
  finalTestLoss: MeanSd;
  finalTestAccuracy: MeanSd;
  wallSeconds: MeanSd;
  /** host seconds per optimizer step, when the records carry hostSeconds */
  hostSecondsPerStep: MeanSd;
}

export function summarizeRuns(runs: RunRecord[], window = 10): SummaryRow[] {
  const rows: SummaryRow[] = [];
  for (const [name, group] of groupByOptimizer(runs)) {
    const last = <K extends MetricKey | 'wallSeconds' | 'iter'>(recs: IterationMetrics[], k: K): number => {
      for (let i = recs.length - 1; i >= 0; i--) if (typeof recs[i][k] === 'number') return recs[i][k] as number;
      return NaN;
    };
    const trainTail = (recs: IterationMetrics[]): number => {
      const tail = recs.slice(-window).map((r) => r.trainLoss);
      return tail.length ? tail.reduce((a, b) => a + b, 0) / tail.length : NaN;
    };
    const hostPerStep = (recs: IterationMetrics[]): number => {
      const hs = recs.map((r) => r.hostSeconds).filter((v): v is number => typeof v === 'number');
      return hs.length ? hs.reduce((a, b) => a + b, 0) / hs.length : NaN;
    };
    const pick = (f: (r: IterationMetrics[]) => number): MeanSd => meanSd(group.map((g) => f(g.metrics)));
    rows.push({
      optimizer: name,
      seeds: group.length,
      iterations: pick((r) => last(r, 'iter')),
      finalTrainLoss: pick(trainTail),
      finalTestLoss: pick((r) => last(r, 'testLoss')),
      finalTestAccuracy: pick((r) => last(r, 'testAccuracy')),
      wallSeconds: pick((r) => last(r, 'wallSeconds')),
      hostSecondsPerStep: pick(hostPerStep),
    });
  }
  return rows;
}
