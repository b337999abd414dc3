// The committed subset must be exactly what scripts/make-shipped-dataset.ts makes from the
// Debian package (runs only where dataset-fashion-mnist is installed). Compared after
// decompression: the IDX content is the claim; gzip bytes may differ across zlib versions.
import { afterAll, describe, expect, it } from 'vitest';
import { existsSync, mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { gunzipSync } from 'node:zlib';
import { DEBIAN_FASHION_MNIST, makeShippedDataset } from '../../../scripts/make-shipped-dataset.ts';
import { IDX_FILES, SHIPPED_DATA_DIR } from '../../../src/host-loop/data/load.ts';

const out = mkdtempSync(join(tmpdir(), 'tngd-shipped-'));
afterAll(() => rmSync(out, { recursive: true, force: true }));

describe.runIf(existsSync(join(DEBIAN_FASHION_MNIST, 'train-images-idx3-ubyte.gz')))('shipped data set', () => {
  it('is reproduced byte for byte by the generator script', () => {
    makeShippedDataset(DEBIAN_FASHION_MNIST, out);
    for (const base of Object.values(IDX_FILES)) {
      const made = gunzipSync(readFileSync(join(out, `${base}.gz`)));
      const shipped = gunzipSync(readFileSync(join(SHIPPED_DATA_DIR, `${base}.gz`)));
      expect(made.equals(shipped), base).toBe(true);
    }
  });
});
