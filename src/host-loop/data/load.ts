// Loads an MNIST-family data set from a directory holding the four standard IDX files
// (raw or .gz). Without a directory, loads the subset shipped in data/fashion-mnist-small.

import { existsSync } from 'node:fs';
import { join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import { DataFileError, readIdxFile } from './idx.ts';
import { datasetFromBytes, type Dataset } from './dataset.ts';

export const SHIPPED_DATA_DIR = resolve(fileURLToPath(new URL('.', import.meta.url)), '../../../data/fashion-mnist-small');

export const IDX_FILES = {
  trainImages: 'train-images-idx3-ubyte',
  trainLabels: 'train-labels-idx1-ubyte',
  testImages: 't10k-images-idx3-ubyte',
  testLabels: 't10k-labels-idx1-ubyte',
} as const;

export interface LoadOptions {
  /** folder with the four IDX files; default: the shipped subset */
  dir?: string;
  /** number of classes labels must fall in; default 10 */
  classes?: number;
  /** 2×2 mean-pool the images after loading (28×28 → 14×14) */
  downsample?: boolean;
}

export interface TrainTest {
  train: Dataset;
  test: Dataset;
  dir: string;
}

function findFile(dir: string, base: string): string {
  for (const name of [base, `${base}.gz`]) {
    const p = join(dir, name);
    if (existsSync(p)) return p;
  }
  throw new DataFileError(join(dir, base), `missing (looked for ${base} and ${base}.gz in ${dir})`);
}

function loadSplit(dir: string, imagesBase: string, labelsBase: string, classes: number, pool: boolean): Dataset {
  const imgPath = findFile(dir, imagesBase);
  const lblPath = findFile(dir, labelsBase);
  const img = readIdxFile(imgPath);
  const lbl = readIdxFile(lblPath);
  if (img.dims.length !== 3) throw new DataFileError(imgPath, `expected 3 dimensions (count × rows × cols), got ${img.dims.length}`);
  if (lbl.dims.length !== 1) throw new DataFileError(lblPath, `expected 1 dimension (count), got ${lbl.dims.length}`);
  const [n, h, w] = img.dims;
  if (n === 0 || h === 0 || w === 0) throw new DataFileError(imgPath, `empty image array ${img.dims.join('×')}`);
  if (lbl.dims[0] !== n) throw new DataFileError(lblPath, `has ${lbl.dims[0]} labels but ${imgPath} has ${n} images`);
  for (let i = 0; i < n; i++) {
    if (lbl.data[i] >= classes) throw new DataFileError(lblPath, `label ${lbl.data[i]} of item ${i} is out of range [0, ${classes})`);
  }
  if (pool && (h % 2 !== 0 || w % 2 !== 0)) throw new DataFileError(imgPath, `cannot downsample ${h}×${w} images 2×2 (height and width must be even)`);
  return datasetFromBytes(img.data, lbl.data, n, [h, w, 1], classes, pool);
}

export function loadDataset(opts: LoadOptions = {}): TrainTest {
  const dir = resolve(opts.dir ?? SHIPPED_DATA_DIR);
  const classes = opts.classes ?? 10;
  if (!existsSync(dir)) throw new DataFileError(dir, 'data directory not found');
  const pool = opts.downsample ?? false;
  const train = loadSplit(dir, IDX_FILES.trainImages, IDX_FILES.trainLabels, classes, pool);
  const test = loadSplit(dir, IDX_FILES.testImages, IDX_FILES.testLabels, classes, pool);
  if (train.d !== test.d) throw new DataFileError(dir, `train images are ${train.shape.join('×')} but test images are ${test.shape.join('×')}`);
  return { train, test, dir };
}
