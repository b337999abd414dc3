// Learning-rate tuning on a held-out part of the training set, tuning seeds distinct from the
// reported ones, a stated grid. The score is the validation loss at the end of the run, averaged
// over the tuning seeds (a diverged run scores +∞).
import type { TrainTest } from '../../src/host-loop/data/load.ts';
import { runOne, validationSplit } from './training.ts';
import type { CommonRunSettings, RunSpec } from './training.ts';

export interface GridPoint {
  lr: number;
  /** mean over the tuning seeds (+∞ if any diverged) */
  validationLoss: number;
  validationAccuracy: number;
  /** per tuning seed */
  perSeedLoss: number[];
  diverged: boolean;
}

export interface TuningResult {
  family: string;
  optimizer: string;
  grid: GridPoint[];
  best: number;
  /** the best lr sits at an end of the grid (the grid may be too narrow) */
  atEdge: boolean;
}

export async function tuneLr(
  family: string,
  optimizer: string,
  baseOptions: Record<string, unknown>,
  grid: number[],
  settings: CommonRunSettings,
  data: TrainTest,
  runsDir: string,
  opts: { tuningSeeds: number[]; validationFraction: number },
): Promise<TuningResult> {
  const split = validationSplit(data, opts.validationFraction);
  const points: GridPoint[] = [];
  for (const lr0 of grid) {
    const lr = Number(lr0.toPrecision(12));
    const losses: number[] = [];
    const accs: number[] = [];
    let diverged = false;
    for (const seed of opts.tuningSeeds) {
      const spec: RunSpec = { label: `tune-${family}-lr${lr}`, optimizer, optimizerOptions: { ...baseOptions, lr }, seed };
      const run = await runOne(spec, settings, split, runsDir, 0);
      diverged ||= run.diverged;
      losses.push(run.diverged || !Number.isFinite(run.finalTest.loss) ? Infinity : run.finalTest.loss);
      accs.push(run.finalTest.accuracy);
    }
    const loss = losses.reduce((a, b) => a + b, 0) / losses.length;
    const acc = accs.reduce((a, b) => a + b, 0) / accs.length;
    points.push({ lr, validationLoss: loss, validationAccuracy: acc, perSeedLoss: losses, diverged });
    console.log(`[tune ${family}] lr ${lr}: validation loss ${loss.toFixed(4)} (${losses.map((l) => l.toFixed(3)).join(', ')})${diverged ? ' (diverged)' : ''}`);
  }
  let bi = 0;
  for (let i = 1; i < points.length; i++) if (points[i].validationLoss < points[bi].validationLoss) bi = i;
  return { family, optimizer, grid: points, best: points[bi].lr, atEdge: grid.length > 1 && (bi === 0 || bi === grid.length - 1) };
}
