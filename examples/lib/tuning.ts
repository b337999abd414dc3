// Learning-rate tuning on a held-out part of the training set, one tuning seed, a stated grid.
// The score is the validation loss at the end of the run (a diverged run scores +∞).
import type { TrainTest } from '../../src/host-loop/data/load.ts';
import { runOne, validationSplit } from './training.ts';
import type { CommonRunSettings, RunSpec } from './training.ts';

export interface GridPoint {
  lr: number;
  validationLoss: number;
  validationAccuracy: number;
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
  opts: { tuningSeed: number; validationFraction: number },
): Promise<TuningResult> {
  const split = validationSplit(data, opts.validationFraction);
  const points: GridPoint[] = [];
  for (const lr of grid) {
    const spec: RunSpec = { label: `tune-${family}-lr${lr}`, optimizer, optimizerOptions: { ...baseOptions, lr }, seed: opts.tuningSeed };
    const run = await runOne(spec, settings, split, runsDir, 0);
    const loss = run.diverged || !Number.isFinite(run.finalTest.loss) ? Infinity : run.finalTest.loss;
    points.push({ lr, validationLoss: loss, validationAccuracy: run.finalTest.accuracy, diverged: run.diverged });
    console.log(`[tune ${family}] lr ${lr}: validation loss ${loss.toFixed(4)}${run.diverged ? ' (diverged)' : ''}`);
  }
  let bi = 0;
  for (let i = 1; i < points.length; i++) if (points[i].validationLoss < points[bi].validationLoss) bi = i;
  return { family, optimizer, grid: points, best: points[bi].lr, atEdge: grid.length > 1 && (bi === 0 || bi === grid.length - 1) };
}
