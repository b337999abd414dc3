import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll } from 'vitest';
import { TIMING_KEYS } from '../../../src/host-loop/train/index.ts';
import type { IterationMetrics } from '../../../src/host-loop/run/index.ts';

/** A fresh temp folder removed after the file's tests. */
export function tempDir(prefix: string): string {
  const d = mkdtempSync(join(tmpdir(), `tngd-${prefix}-`));
  afterAll(() => rmSync(d, { recursive: true, force: true }));
  return d;
}

/** A metrics record without its timing fields, as JSON (what must match across a resume). */
export function untimed(r: IterationMetrics): string {
  const c: Record<string, unknown> = { ...r };
  for (const k of TIMING_KEYS) delete c[k];
  return JSON.stringify(c);
}

export function sameBytes(a: Float64Array, b: Float64Array): boolean {
  return Buffer.from(a.buffer, a.byteOffset, a.byteLength).equals(Buffer.from(b.buffer, b.byteOffset, b.byteLength));
}
