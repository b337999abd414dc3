// Builds data/fashion-mnist-small from Debian's dataset-fashion-mnist package:
// 2×2 mean-downsampled (28×28 → 14×14, rounded half up to uint8), class-balanced subsets
// (600 per class train, 100 per class test) picked in the order of a seeded permutation.
// Deterministic: the same source files give byte-identical outputs.
//   npx tsx scripts/make-shipped-dataset.ts [--src DIR] [--out DIR]

import { mkdirSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { pathToFileURL } from 'node:url';
import { encodeIdx, readIdxFile } from '../src/host-loop/data/idx.ts';
import { downsample2x2Bytes } from '../src/host-loop/data/dataset.ts';
import { IDX_FILES, SHIPPED_DATA_DIR } from '../src/host-loop/data/load.ts';
import { Rng, permutation } from '../src/host-loop/data/rng.ts';

export const SHIPPED = { seed: 20240521, trainPerClass: 600, testPerClass: 100, classes: 10 } as const;

function arg(name: string, dflt: string): string {
  const i = process.argv.indexOf(name);
  return i >= 0 && process.argv[i + 1] ? process.argv[i + 1] : dflt;
}

function subset(imgFile: string, lblFile: string, perClass: number, stream: number): { images: Uint8Array; labels: Uint8Array; n: number } {
  const img = readIdxFile(imgFile);
  const lbl = readIdxFile(lblFile);
  const [n, h, w] = img.dims;
  if (lbl.dims[0] !== n) throw new Error(`${lblFile}: ${lbl.dims[0]} labels for ${n} images`);
  const perm = permutation(n, new Rng(SHIPPED.seed, stream));
  const taken = new Array<number>(SHIPPED.classes).fill(0);
  const pick: number[] = [];
  for (const i of perm) {
    const c = lbl.data[i];
    if (c >= SHIPPED.classes) throw new Error(`${lblFile}: label ${c} out of range`);
    if (taken[c] < perClass) {
      taken[c]++;
      pick.push(i);
    }
  }
  if (pick.length !== perClass * SHIPPED.classes) throw new Error(`${imgFile}: not enough samples per class (${taken.join(',')})`);
  const small = downsample2x2Bytes(img.data, n, h, w);
  const d = (h / 2) * (w / 2);
  const images = new Uint8Array(pick.length * d);
  const labels = new Uint8Array(pick.length);
  pick.forEach((src, k) => {
    images.set(small.subarray(src * d, src * d + d), k * d);
    labels[k] = lbl.data[src];
  });
  return { images, labels, n: pick.length };
}

export const DEBIAN_FASHION_MNIST = '/usr/share/datasets/fashion-mnist';

/** Writes the four gzipped IDX files of the shipped subset from the full set in `src`. */
export function makeShippedDataset(src: string, out: string, log: (s: string) => void = () => {}): void {
  mkdirSync(out, { recursive: true });
  const splits = [
    { img: IDX_FILES.trainImages, lbl: IDX_FILES.trainLabels, perClass: SHIPPED.trainPerClass, stream: 1 },
    { img: IDX_FILES.testImages, lbl: IDX_FILES.testLabels, perClass: SHIPPED.testPerClass, stream: 2 },
  ];
  for (const s of splits) {
    const { images, labels, n } = subset(join(src, `${s.img}.gz`), join(src, `${s.lbl}.gz`), s.perClass, s.stream);
    writeFileSync(join(out, `${s.img}.gz`), encodeIdx([n, 14, 14], images, true));
    writeFileSync(join(out, `${s.lbl}.gz`), encodeIdx([n], labels, true));
    log(`${s.img}: ${n} images 14×14, ${s.perClass} per class`);
  }
}

if (process.argv[1] && import.meta.url === pathToFileURL(process.argv[1]).href) {
  makeShippedDataset(arg('--src', DEBIAN_FASHION_MNIST), arg('--out', SHIPPED_DATA_DIR), (s) => console.log(s));
}
