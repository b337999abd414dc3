// The training set-up shared by the studies that follow the paper's MNIST settings (sweeps,
// gaps): the same options, defaults and data resolution, so the studies stay comparable.
import type { Command } from 'commander';
import { existsSync } from 'node:fs';
import { loadDataset } from '../../src/host-loop/data/load.ts';
import type { TrainTest } from '../../src/host-loop/data/load.ts';
import { createModel } from '../../src/host-loop/models/model.ts';
import type { Model } from '../../src/host-loop/models/model.ts';
import { positiveInt, positiveNumber } from './cli.ts';
import type { CommonOptions } from './cli.ts';

/** Debian's dataset-fashion-mnist install location (the full-data default). */
export const DEBIAN_FASHION_MNIST = '/usr/share/datasets/fashion-mnist';

export interface PaperTrainingOptions {
  data?: string;
  model: string;
  batch: number;
  iters?: number;
  evalEvery?: number;
  lr: number;
  damping: number;
  reuse: boolean;
}

export function withPaperTrainingOptions(cmd: Command, lrHelp: string): Command {
  return cmd
    .option('--data <dir>', `IDX folder (default ${DEBIAN_FASHION_MNIST}, 2×2-pooled to 14×14; --quick: shipped subset)`)
    .option('--model <spec>', 'network', 'conv:14x14x1-c2k3s2-16-10')
    .option('--batch <b>', 'batch size', positiveInt('--batch', 4096), 8)
    .option('--iters <n>', 'iterations per training run', positiveInt('--iters'))
    .option('--eval-every <n>', 'test evaluation period', positiveInt('--eval-every'))
    .option('--lr <η>', `${lrHelp} (paper, MNIST: 0.01)`, positiveNumber('--lr'), 0.01)
    .option('--damping <λ>', 'damping λ (paper, MNIST: 0.01)', positiveNumber('--damping'), 0.01)
    .option('--reuse', 'reuse finished runs with identical configuration', false);
}

export interface PaperSetup {
  /** null = the shipped subset */
  dataDir: string | null;
  dataConfig: { dir: string | null; downsample: boolean };
  dataLabel: string;
  data: TrainTest;
  model: Model;
  iters: number;
  evalEvery: number;
}

/** Resolves the data folder and run lengths (--quick: shipped subset, short runs) and loads the data. */
export function resolvePaperSetup(o: CommonOptions & PaperTrainingOptions): PaperSetup {
  const dataDir = o.data ?? (o.quick ? null : DEBIAN_FASHION_MNIST);
  if (dataDir !== null && !existsSync(dataDir)) throw new Error(`data folder ${dataDir} not found (pass --data, or --quick for the shipped subset)`);
  return {
    dataDir,
    dataConfig: { dir: dataDir, downsample: dataDir !== null },
    dataLabel: dataDir === null ? 'shipped 14×14 subset' : `${dataDir} (2×2 mean-pooled to 14×14)`,
    data: dataDir === null ? loadDataset() : loadDataset({ dir: dataDir, downsample: true }),
    model: createModel(o.model),
    iters: o.iters ?? (o.quick ? 6 : 100),
    evalEvery: o.evalEvery ?? (o.quick ? 3 : 20),
  };
}
