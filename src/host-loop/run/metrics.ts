// JSON-lines metrics: one object per iteration, each written with a single write(2) straight to
// the file (no user-space buffer), so a crash of the process loses at most the line in flight.
import { closeSync, existsSync, fsyncSync, openSync, readFileSync, writeSync } from 'node:fs';
import { writeFileAtomic } from './atomic.ts';

export interface IterationMetrics {
  /** 1-based iteration counter (optimizer steps completed) */
  iter: number;
  epoch: number;
  /** seconds since the run started (excluding time before a resume) */
  wallSeconds: number;
  trainLoss: number;
  trainAccuracy?: number;
  testLoss?: number;
  testAccuracy?: number;
  hostSeconds?: number;
  deviceTau?: number;
  deviceSeconds?: number;
  bytesOut?: number;
  bytesIn?: number;
  matvecs?: number;
  [key: string]: unknown;
}

// JSON has no NaN/Infinity; a diverged loss must survive as such, so write them as strings.
function replacer(_k: string, v: unknown): unknown {
  if (typeof v === 'number' && !Number.isFinite(v)) return Number.isNaN(v) ? 'NaN' : v > 0 ? 'Infinity' : '-Infinity';
  return v;
}
function reviver(_k: string, v: unknown): unknown {
  if (v === 'NaN') return NaN;
  if (v === 'Infinity') return Infinity;
  if (v === '-Infinity') return -Infinity;
  return v;
}

export function formatMetricsLine(rec: Record<string, unknown>): string {
  return JSON.stringify(rec, replacer) + '\n';
}

export interface MetricsWriterOptions {
  /** keep existing lines (resume) instead of truncating; default false */
  append?: boolean;
  /** fsync after every line (survives power loss too, slower); default false */
  durable?: boolean;
}

export class MetricsWriter {
  private fd: number | null;
  private readonly durable: boolean;
  lines = 0;

  constructor(
    readonly path: string,
    opts: MetricsWriterOptions = {},
  ) {
    this.fd = openSync(path, opts.append ? 'a' : 'w');
    this.durable = opts.durable ?? false;
  }

  write(rec: IterationMetrics | Record<string, unknown>): void {
    if (this.fd === null) throw new Error(`metrics writer for ${this.path} is closed`);
    const buf = Buffer.from(formatMetricsLine(rec), 'utf8');
    let off = 0;
    while (off < buf.length) off += writeSync(this.fd, buf, off, buf.length - off);
    if (this.durable) fsyncSync(this.fd);
    this.lines++;
  }

  /** Forces written lines to stable storage (e.g. right before a checkpoint). */
  sync(): void {
    if (this.fd !== null) fsyncSync(this.fd);
  }

  close(): void {
    if (this.fd === null) return;
    fsyncSync(this.fd);
    closeSync(this.fd);
    this.fd = null;
  }
}

export interface MetricsFile {
  records: IterationMetrics[];
  /** the last line had no newline or did not parse: a write cut short by a crash */
  truncatedTail: boolean;
  /** 1-based numbers of lines other than the last that did not parse */
  badLines: number[];
}

export function parseMetrics(text: string): MetricsFile {
  const lines = text.split('\n');
  const complete = text.endsWith('\n') || text.length === 0;
  if (complete) lines.pop();
  const records: IterationMetrics[] = [];
  const badLines: number[] = [];
  let truncatedTail = false;
  lines.forEach((line, i) => {
    const last = i === lines.length - 1;
    if (last && !complete) {
      truncatedTail = true;
      return;
    }
    try {
      const v = JSON.parse(line, reviver) as unknown;
      if (typeof v !== 'object' || v === null || Array.isArray(v) || typeof (v as { iter?: unknown }).iter !== 'number')
        throw new Error('not a metrics object');
      records.push(v as IterationMetrics);
    } catch {
      if (last) truncatedTail = true;
      else badLines.push(i + 1);
    }
  });
  return { records, truncatedTail, badLines };
}

export function readMetrics(path: string): MetricsFile {
  return parseMetrics(readFileSync(path, 'utf8'));
}

/**
 * For --resume: keep only records with iter ≤ lastIter (what the checkpoint covers), dropping a
 * torn last line, so the resumed file matches an uninterrupted run. Atomic (replaces the file),
 * so call it before opening the MetricsWriter in append mode. Returns the number of lines kept.
 */
export function truncateMetrics(path: string, lastIter: number): number {
  if (!existsSync(path)) return 0;
  const { records } = readMetrics(path);
  const kept = records.filter((r) => r.iter <= lastIter);
  writeFileAtomic(path, Buffer.from(kept.map((r) => formatMetricsLine(r)).join(''), 'utf8'));
  return kept.length;
}
