// In-memory classification data sets, downsampling, and seeded mini-batching.

import { Rng } from './rng.ts';

export interface Dataset {
  /** n × d row-major; pixels scaled to [0, 1] (byte / 255) */
  x: Float64Array;
  y: Int32Array;
  n: number;
  d: number;
  classes: number;
  /** [h, w, c], channel-last; h·w·c = d */
  shape: [number, number, number];
}

/**
 * Builds a Dataset from uint8 images (n × h × w × c) and labels; labels must lie in [0, classes).
 * With `pool2x2` the images are 2×2 mean-pooled on the way (exact mean of the four bytes / 255),
 * without materialising the full-resolution float array.
 */
export function datasetFromBytes(images: Uint8Array, labels: Uint8Array, n: number, shape: [number, number, number], classes: number, pool2x2 = false): Dataset {
  const [h, w, c] = shape;
  const d = h * w * c;
  if (images.length !== n * d) throw new RangeError(`images: expected ${n}×${d} bytes, got ${images.length}`);
  if (labels.length !== n) throw new RangeError(`labels: expected ${n}, got ${labels.length}`);
  const y = new Int32Array(n);
  for (let i = 0; i < n; i++) {
    if (labels[i] >= classes) throw new RangeError(`label ${labels[i]} of sample ${i} is out of range [0, ${classes})`);
    y[i] = labels[i];
  }
  if (!pool2x2) {
    const x = new Float64Array(n * d);
    for (let i = 0; i < n * d; i++) x[i] = images[i] / 255;
    return { x, y, n, d, classes, shape };
  }
  if (c !== 1) throw new RangeError(`2×2 downsampling supports single-channel images, got ${c} channels`);
  checkEven(h, w);
  const oh = h / 2;
  const ow = w / 2;
  const od = oh * ow;
  const x = new Float64Array(n * od);
  for (let s = 0; s < n; s++) {
    const io = s * d;
    for (let yy = 0; yy < oh; yy++) {
      for (let xx = 0; xx < ow; xx++) {
        const a = io + 2 * yy * w + 2 * xx;
        x[s * od + yy * ow + xx] = (images[a] + images[a + 1] + images[a + w] + images[a + w + 1]) / 1020;
      }
    }
  }
  return { x, y, n, d: od, classes, shape: [oh, ow, 1] };
}

/** 2×2 mean pooling of h×w images (h, w even). Works on bytes (rounded half up) or on floats. */
export function downsample2x2Bytes(img: Uint8Array, n: number, h: number, w: number): Uint8Array {
  checkEven(h, w);
  const oh = h / 2;
  const ow = w / 2;
  const out = new Uint8Array(n * oh * ow);
  for (let s = 0; s < n; s++) {
    const io = s * h * w;
    const oo = s * oh * ow;
    for (let y = 0; y < oh; y++) {
      for (let x = 0; x < ow; x++) {
        const a = io + 2 * y * w + 2 * x;
        const sum = img[a] + img[a + 1] + img[a + w] + img[a + w + 1];
        out[oo + y * ow + x] = (sum + 2) >> 2;
      }
    }
  }
  return out;
}

export function downsample2x2(ds: Dataset): Dataset {
  const [h, w, c] = ds.shape;
  if (c !== 1) throw new RangeError(`downsample2x2 supports single-channel images, got ${c} channels`);
  checkEven(h, w);
  const oh = h / 2;
  const ow = w / 2;
  const d = oh * ow;
  const x = new Float64Array(ds.n * d);
  for (let s = 0; s < ds.n; s++) {
    const io = s * h * w;
    for (let y = 0; y < oh; y++) {
      for (let xx = 0; xx < ow; xx++) {
        const a = io + 2 * y * w + 2 * xx;
        x[s * d + y * ow + xx] = 0.25 * (ds.x[a] + ds.x[a + 1] + ds.x[a + w] + ds.x[a + w + 1]);
      }
    }
  }
  return { x, y: ds.y.slice(), n: ds.n, d, classes: ds.classes, shape: [oh, ow, 1] };
}

function checkEven(h: number, w: number): void {
  if (h % 2 !== 0 || w % 2 !== 0) throw new RangeError(`2×2 downsampling needs even height and width, got ${h}×${w}`);
}

/** Copies the rows `idx` of a data set into batch buffers (allocated if not given). */
export function gatherBatch(ds: Dataset, idx: ArrayLike<number>, x = new Float64Array(idx.length * ds.d), y = new Int32Array(idx.length)): { x: Float64Array; y: Int32Array } {
  const d = ds.d;
  for (let i = 0; i < idx.length; i++) {
    const s = idx[i];
    if (!(s >= 0 && s < ds.n)) throw new RangeError(`sample index ${s} out of range [0, ${ds.n})`);
    x.set(ds.x.subarray(s * d, s * d + d), i * d);
    y[i] = ds.y[s];
  }
  return { x, y };
}

export interface BatcherState {
  seed: number;
  epoch: number;
  /** position within the epoch's permutation */
  pos: number;
}

/**
 * Seeded mini-batches without replacement. Each epoch is a fresh permutation derived from
 * (seed, epoch) alone, so the state {seed, epoch, pos} is all a checkpoint needs. A final
 * partial batch is dropped (every batch has exactly `batchSize` samples).
 */
export class Batcher {
  private perm: Int32Array;
  private epoch: number;
  private pos: number;
  readonly batchesPerEpoch: number;

  constructor(
    readonly n: number,
    readonly batchSize: number,
    readonly seed: number,
    state?: BatcherState,
  ) {
    if (!Number.isInteger(batchSize) || batchSize < 1) throw new RangeError(`batch size must be a positive integer, got ${batchSize}`);
    if (batchSize > n) throw new RangeError(`batch size ${batchSize} exceeds the data set size ${n}`);
    this.batchesPerEpoch = Math.floor(n / batchSize);
    this.epoch = 0;
    this.pos = 0;
    if (state) {
      if (state.seed !== seed) throw new RangeError(`batcher state has seed ${state.seed}, expected ${seed}`);
      if (!Number.isInteger(state.epoch) || state.epoch < 0 || !Number.isInteger(state.pos) || state.pos < 0 || state.pos > n) {
        throw new RangeError(`bad batcher state ${JSON.stringify(state)}`);
      }
      this.epoch = state.epoch;
      this.pos = state.pos;
    }
    this.perm = this.permFor(this.epoch);
  }

  private permFor(epoch: number): Int32Array {
    const rng = new Rng(this.seed, 0x62617400 + epoch);
    const p = new Int32Array(this.n);
    for (let i = 0; i < this.n; i++) p[i] = i;
    return rng.shuffle(p);
  }

  /** Indices of the next batch (a view valid until the next call) and its epoch. */
  next(): { idx: Int32Array; epoch: number } {
    if (this.pos + this.batchSize > this.n) {
      this.epoch++;
      this.pos = 0;
      this.perm = this.permFor(this.epoch);
    }
    const idx = this.perm.subarray(this.pos, this.pos + this.batchSize);
    this.pos += this.batchSize;
    return { idx, epoch: this.epoch };
  }

  getState(): BatcherState {
    return { seed: this.seed, epoch: this.epoch, pos: this.pos };
  }
}
