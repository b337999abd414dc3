// A comparison of several configurations ("arms") over seeds through train(), with its
// figures and summary table — the shape of every training-level sweep.
import type { TrainTest } from '../../src/host-loop/data/load.ts';
import { formatMeanSd, formatTable } from '../../src/host-loop/run/index.ts';
import { curveFigure } from './figures.ts';
import type { CurveFigure } from './figures.ts';
import { plotRecord, runForJson, runOne, summarizeGroups } from './training.ts';
import type { CommonRunSettings, FinishedRun, GroupSummary } from './training.ts';

export interface Arm {
  label: string;
  optimizer: string;
  options: Record<string, unknown>;
  /** device URL for this arm (default: the settings' device) */
  device?: string;
}

export interface ArmsResult {
  name: string;
  arms: Arm[];
  runs: FinishedRun[];
  groups: GroupSummary[];
}

export async function runArms(name: string, arms: Arm[], seeds: number[], settings: CommonRunSettings, data: TrainTest, runsDir: string): Promise<ArmsResult> {
  const runs: FinishedRun[] = [];
  for (const arm of arms)
    for (const seed of seeds) {
      const run = await runOne({ label: arm.label, optimizer: arm.optimizer, optimizerOptions: arm.options, seed }, arm.device ? { ...settings, device: arm.device } : settings, data, runsDir);
      runs.push(run);
      console.log(
        `[${name}] ${arm.label} seed ${seed}: train loss (last 10) ${tailMean(run).toFixed(4)}, test acc ${(run.finalTest.accuracy * 100).toFixed(2)}%` +
          (run.diverged ? ' (diverged)' : ''),
      );
    }
  return { name, arms, runs, groups: summarizeGroups(runs) };
}

export function tailMean(run: FinishedRun, k = 10): number {
  const t = run.records.slice(-k).map((r) => r.trainLoss);
  return t.reduce((a, b) => a + b, 0) / Math.max(1, t.length);
}

export function armFigures(prefix: string, title: string, res: ArmsResult, window: number): CurveFigure[] {
  const recs = res.runs.filter((r) => !r.diverged).map((r) => plotRecord(r, window));
  return [
    curveFigure(`${prefix}-train-loss.svg`, `${title}: train loss (${window}-iteration mean)`, recs, 'iter', 'trainLoss'),
    curveFigure(`${prefix}-test-loss.svg`, `${title}: test loss`, recs, 'iter', 'testLoss'),
    curveFigure(`${prefix}-test-acc.svg`, `${title}: test accuracy`, recs, 'iter', 'testAccuracy'),
  ];
}

export function armsTable(res: ArmsResult): string {
  const pct = (m: GroupSummary['finalTestAccuracy']) => ({ ...m, mean: m.mean * 100, sd: m.sd * 100 });
  return formatTable(
    ['arm', 'seeds', 'train loss (last 10 it)', 'final train loss', 'test loss', 'test acc %', 'host ms/iter', 'emulated s/run'],
    res.groups.map((g) => {
      const runs = res.runs.filter((r) => r.spec.label === g.label);
      const tails = runs.map((r) => tailMean(r));
      const m = tails.reduce((a, b) => a + b, 0) / tails.length;
      const sd = Math.sqrt(tails.reduce((a, b) => a + (b - m) ** 2, 0) / Math.max(1, tails.length - 1));
      return [
        g.label,
        `${g.seeds.length}${g.diverged ? ` (${g.diverged} diverged)` : ''}`,
        formatMeanSd({ mean: m, sd, n: tails.length }),
        formatMeanSd(g.finalTrainLoss),
        formatMeanSd(g.finalTestLoss),
        formatMeanSd(pct(g.finalTestAccuracy)),
        formatMeanSd(g.hostMsPerIter, 3),
        formatMeanSd(g.wallSeconds, 3),
      ];
    }),
  );
}

export function armsJson(res: ArmsResult): Record<string, unknown> {
  return { name: res.name, arms: res.arms, groups: res.groups, runs: res.runs.map(runForJson) };
}
