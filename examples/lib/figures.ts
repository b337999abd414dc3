// Figure helpers on top of the project's SVG line charts.
import { lineChartSvg, seriesFor } from '../../src/host-loop/run/index.ts';
import type { MetricKey, RunRecord, Series } from '../../src/host-loop/run/index.ts';

export interface CurveFigure {
  file: string;
  svg: string;
}

const Y_LABEL: Record<MetricKey, string> = {
  trainLoss: 'train loss',
  testLoss: 'test loss',
  testAccuracy: 'test accuracy',
  trainAccuracy: 'train accuracy',
};

/** One chart of `y` against iterations or the compute-time axis, mean ± sd band over seeds. */
export function curveFigure(file: string, title: string, runs: RunRecord[], x: 'iter' | 'wallSeconds', y: MetricKey, xLabel?: string): CurveFigure {
  const series = seriesFor(runs, x, y);
  const logY = (y === 'trainLoss' || y === 'testLoss') && series.every((s) => s.points.every((p) => p.y > 0 && (p.lo === undefined || p.lo > 0)));
  const seeds = new Set(runs.map((r) => r.seed)).size;
  return {
    file,
    svg: lineChartSvg({
      title: seeds > 1 ? `${title} (mean ± sd, ${seeds} seeds)` : title,
      xLabel: xLabel ?? (x === 'iter' ? 'iteration' : 'compute seconds'),
      yLabel: Y_LABEL[y],
      series,
      logY,
      // time axes span decades between optimizers: linear would pin the fast ones at x = 0
      logX: x === 'wallSeconds',
    }),
  };
}

export function simpleFigure(title: string, xLabel: string, yLabel: string, series: Series[], logY = false): string {
  const usable = logY && series.every((s) => s.points.every((p) => !(p.y <= 0) && !(p.lo !== undefined && p.lo <= 0)));
  return lineChartSvg({ title, xLabel, yLabel, series, logY: usable });
}
