// Loaded data sets shared between runs of one process (compare runs many optimizers and seeds
// on the same data; loading and decoding the IDX files once is enough). Data sets are read-only.
import { resolve } from 'node:path';
import { loadDataset, type TrainTest } from '../data/load.ts';
import type { TrainConfig } from './config.ts';

const cache = new Map<string, TrainTest>();

export function loadRunData(data: TrainConfig['data']): TrainTest {
  const key = `${data.dir === null ? '(shipped)' : resolve(data.dir)}|${data.downsample}`;
  let tt = cache.get(key);
  if (!tt) {
    cache.clear(); // the full sets are ~0.4 GB as float64: hold one at a time
    tt = loadDataset({ dir: data.dir ?? undefined, downsample: data.downsample });
    cache.set(key, tt);
  }
  return tt;
}
