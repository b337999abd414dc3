import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { existsSync, mkdtempSync, rmSync, writeFileSync, mkdirSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { DataFileError, encodeIdx } from '../../../src/host-loop/data/idx.ts';
import { IDX_FILES, loadDataset, SHIPPED_DATA_DIR } from '../../../src/host-loop/data/load.ts';

let root: string;
beforeAll(() => {
  root = mkdtempSync(join(tmpdir(), 'tngd-idx-'));
});
afterAll(() => rmSync(root, { recursive: true, force: true }));

interface Files {
  trainImg?: Buffer;
  trainLbl?: Buffer;
  testImg?: Buffer;
  testLbl?: Buffer;
}
const img = (n: number, h: number, w: number, gz = false) => encodeIdx([n, h, w], Uint8Array.from({ length: n * h * w }, (_, i) => (i * 37) % 256), gz);
const lbl = (labels: number[], gz = false) => encodeIdx([labels.length], Uint8Array.from(labels), gz);

let dirCount = 0;
function makeDir(f: Files, gz = { trainImg: true, trainLbl: false, testImg: false, testLbl: true }): string {
  const dir = join(root, `d${dirCount++}`);
  mkdirSync(dir);
  const put = (name: string, buf: Buffer | undefined, z: boolean) => buf && writeFileSync(join(dir, z ? `${name}.gz` : name), buf);
  put(IDX_FILES.trainImages, f.trainImg, gz.trainImg);
  put(IDX_FILES.trainLabels, f.trainLbl, gz.trainLbl);
  put(IDX_FILES.testImages, f.testImg, gz.testImg);
  put(IDX_FILES.testLabels, f.testLbl, gz.testLbl);
  return dir;
}
const valid = (): Files => ({ trainImg: img(5, 4, 4, true), trainLbl: lbl([0, 9, 3, 3, 1]), testImg: img(2, 4, 4), testLbl: lbl([7, 2], true) });

function loadError(dir: string): DataFileError {
  try {
    loadDataset({ dir });
  } catch (e) {
    expect(e).toBeInstanceOf(DataFileError);
    return e as DataFileError;
  }
  throw new Error('expected loadDataset to fail');
}

describe('loadDataset', () => {
  it('loads a folder mixing raw and gzipped files, scaling pixels by 1/255', () => {
    const { train, test } = loadDataset({ dir: makeDir(valid()) });
    expect([train.n, train.d, train.classes, train.shape]).toEqual([5, 16, 10, [4, 4, 1]]);
    expect(Array.from(train.y)).toEqual([0, 9, 3, 3, 1]);
    expect(train.x[3]).toBeCloseTo(((3 * 37) % 256) / 255, 15);
    expect(train.x[79]).toBeCloseTo(((79 * 37) % 256) / 255, 15);
    expect([test.n, Array.from(test.y)]).toEqual([2, [7, 2]]);
  });

  it('downsample option pools 2×2 blocks', () => {
    const { train } = loadDataset({ dir: makeDir(valid()), downsample: true });
    expect(train.shape).toEqual([2, 2, 1]);
    const px = (i: number) => ((i * 37) % 256) / 255;
    expect(train.x[0]).toBeCloseTo((px(0) + px(1) + px(4) + px(5)) / 4, 15);
  });

  it('downsample rejects odd image sizes with a clear error', () => {
    const dir = makeDir({ trainImg: img(5, 3, 4), trainLbl: lbl([0, 1, 2, 3, 4]), testImg: img(2, 3, 4), testLbl: lbl([1, 2]) });
    expect(loadDataset({ dir }).train.shape).toEqual([3, 4, 1]);
    try {
      loadDataset({ dir, downsample: true });
      expect.unreachable();
    } catch (e) {
      expect((e as Error).message).toMatch(/train-images-idx3-ubyte.*cannot downsample 3×4 images/);
    }
  });

  it('names the missing file', () => {
    const e = loadError(makeDir({ ...valid(), testLbl: undefined }));
    expect(e.message).toMatch(/t10k-labels-idx1-ubyte: missing \(looked for t10k-labels-idx1-ubyte and t10k-labels-idx1-ubyte\.gz/);
    expect(loadError(join(root, 'nope')).message).toMatch(/nope: data directory not found/);
  });

  it('rejects a label count that differs from the image count', () => {
    const e = loadError(makeDir({ ...valid(), trainLbl: lbl([0, 1, 2, 3]) }));
    expect(e.file).toMatch(/train-labels-idx1-ubyte$/);
    expect(e.reason).toMatch(/has 4 labels but .*train-images-idx3-ubyte\.gz has 5 images/);
  });

  it('rejects labels out of range, naming the item', () => {
    const e = loadError(makeDir({ ...valid(), testLbl: lbl([7, 10], true) }));
    expect(e.file).toMatch(/t10k-labels-idx1-ubyte\.gz$/);
    expect(e.reason).toBe('label 10 of item 1 is out of range [0, 10)');
  });

  it('rejects truncated, bad-magic and wrongly-shaped files', () => {
    const t = img(5, 4, 4);
    expect(loadError(makeDir({ ...valid(), trainImg: t.subarray(0, t.length - 3) }, { trainImg: false, trainLbl: false, testImg: false, testLbl: false })).reason).toMatch(/truncated: dimensions 5×4×4 need 80 data bytes, file has 77/);
    const bad = Buffer.from(img(2, 4, 4));
    bad[1] = 8;
    expect(loadError(makeDir({ ...valid(), testImg: bad })).reason).toMatch(/bad magic number/);
    expect(loadError(makeDir({ ...valid(), trainLbl: encodeIdx([5, 1], Uint8Array.of(0, 1, 2, 3, 4)) })).reason).toMatch(/expected 1 dimension/);
    expect(loadError(makeDir({ ...valid(), testImg: encodeIdx([2, 16], new Uint8Array(32)) })).reason).toMatch(/expected 3 dimensions/);
    expect(loadError(makeDir({ ...valid(), testImg: img(2, 3, 3) })).reason).toMatch(/train images are 4×4×1 but test images are 3×3×1/);
  });

  it('default: the shipped Fashion-MNIST subset, 14×14, class-balanced 6000/1000', () => {
    const { train, test, dir } = loadDataset();
    expect(dir).toBe(SHIPPED_DATA_DIR);
    expect([train.n, train.d, train.shape, test.n, test.d]).toEqual([6000, 196, [14, 14, 1], 1000, 196]);
    const counts = (y: Int32Array) => Array.from({ length: 10 }, (_, c) => y.filter((v) => v === c).length);
    expect(counts(train.y)).toEqual(new Array(10).fill(600));
    expect(counts(test.y)).toEqual(new Array(10).fill(100));
    let mn = Infinity;
    let mx = -Infinity;
    let mean = 0;
    for (const v of train.x) {
      mn = Math.min(mn, v);
      mx = Math.max(mx, v);
      mean += v / train.x.length;
    }
    expect([mn, mx]).toEqual([0, 1]);
    // Fashion-MNIST's mean pixel is ≈ 0.286; pooling keeps the mean up to rounding
    expect(mean).toBeGreaterThan(0.25);
    expect(mean).toBeLessThan(0.32);
    // classes are interleaved (stored in permutation order), not sorted
    expect(new Set(Array.from(train.y.subarray(0, 50))).size).toBeGreaterThan(5);
  });
});

const DEBIAN = '/usr/share/datasets/fashion-mnist';
describe.runIf(existsSync(join(DEBIAN, 'train-images-idx3-ubyte.gz')))('full Fashion-MNIST from the Debian package', () => {
  it('loads 60000 + 10000 images, downsampled to 14×14, 6000/1000 per class', () => {
    const { train, test } = loadDataset({ dir: DEBIAN, downsample: true });
    expect([train.n, train.shape, test.n, test.shape]).toEqual([60000, [14, 14, 1], 10000, [14, 14, 1]]);
    expect(Array.from({ length: 10 }, (_, c) => test.y.filter((v) => v === c).length)).toEqual(new Array(10).fill(1000));
  });
});
