// Copies the non-TypeScript files the sources load at run time (the WASM kernels, the run page's
// client script) into dist/ beside their compiled modules: tsc emits only .js and .d.ts, and a
// build without them silently falls back to the scalar kernels and cannot write a report.
import { copyFileSync, mkdirSync, readdirSync } from 'node:fs';
import { dirname, join, relative } from 'node:path';
import { fileURLToPath } from 'node:url';

const ASSET = /\.(wasm|js)$/;
const root = join(dirname(fileURLToPath(import.meta.url)), '..');

function walk(dir) {
  for (const e of readdirSync(dir, { withFileTypes: true })) {
    const p = join(dir, e.name);
    if (e.isDirectory()) walk(p);
    else if (ASSET.test(e.name)) {
      const to = join(root, 'dist', relative(join(root, 'src'), p));
      mkdirSync(dirname(to), { recursive: true });
      copyFileSync(p, to);
    }
  }
}
walk(join(root, 'src'));
