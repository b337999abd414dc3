// Run folders as the live page sees them: which folders under a root are runs, their metrics read
// incrementally (a tail that notices a file replaced on --resume), and a whole run loaded at once.
import { closeSync, existsSync, fstatSync, openSync, readdirSync, readFileSync, readSync, statSync } from 'node:fs';
import { basename, join, relative, resolve } from 'node:path';
import { z } from 'zod';
import { parseMetrics, type IterationMetrics } from '../metrics.ts';
import { DEVICE_FILE, DeviceRecordSchema, readJsonFile, RunFileError, STATE_FILE, StateRecordSchema, type DeviceRecord, type StateRecord } from './records.ts';

export const METRICS_FILE = 'metrics.jsonl';
const CONFIG_FILE = 'config.json';

export function isRunFolder(dir: string): boolean {
  return existsSync(join(dir, METRICS_FILE)) || existsSync(join(dir, CONFIG_FILE));
}

/**
 * Run folders under `root`: the root itself when it is a run (tngd train), else its sub-folders
 * that are (tngd compare), in name order.
 */
export function discoverRuns(root: string): string[] {
  const r = resolve(root);
  if (!existsSync(r) || !statSync(r).isDirectory()) return [];
  if (isRunFolder(r)) return [r];
  return readdirSync(r, { withFileTypes: true })
    .filter((d) => d.isDirectory() && isRunFolder(join(r, d.name)))
    .map((d) => join(r, d.name))
    .sort();
}

/** Reads the lines appended to metrics.jsonl since the last call; `reset` when the file was replaced or cut. */
export class MetricsTail {
  private offset = 0;
  private ino = -1;
  private partial = Buffer.alloc(0);

  constructor(readonly path: string) {}

  read(): { records: IterationMetrics[]; reset: boolean } {
    if (!existsSync(this.path)) {
      const reset = this.offset > 0;
      this.offset = 0;
      this.partial = Buffer.alloc(0);
      return { records: [], reset };
    }
    const fd = openSync(this.path, 'r');
    try {
      const st = fstatSync(fd);
      let reset = false;
      if (st.ino !== this.ino || st.size < this.offset) {
        // --resume rewrites the file (atomic rename) to the checkpoint's iteration: start over
        reset = this.ino !== -1;
        this.ino = st.ino;
        this.offset = 0;
        this.partial = Buffer.alloc(0);
      }
      if (st.size === this.offset) return { records: [], reset };
      const buf = Buffer.alloc(st.size - this.offset);
      let got = 0;
      while (got < buf.length) {
        const n = readSync(fd, buf, got, buf.length - got, this.offset + got);
        if (n === 0) break;
        got += n;
      }
      this.offset += got;
      const all = Buffer.concat([this.partial, buf.subarray(0, got)]);
      // only whole lines: a line being written is kept for the next read
      const cut = all.lastIndexOf(0x0a) + 1;
      this.partial = Buffer.from(all.subarray(cut));
      return { records: parseMetrics(all.subarray(0, cut).toString('utf8')).records, reset };
    } finally {
      closeSync(fd);
    }
  }
}

const ConfigSchema = z.looseObject({ optimizer: z.string(), seed: z.number(), model: z.string().optional(), batch: z.number().optional(), device: z.string().optional() });
export type RunConfigSummary = z.infer<typeof ConfigSchema>;

export interface LiveRun {
  /** stable id: the folder relative to its root ('.' for a root that is a run) */
  key: string;
  /** the folder's name */
  name: string;
  optimizer: string;
  seed: number;
  config: RunConfigSummary | null;
  metrics: IterationMetrics[];
  device: DeviceRecord | null;
  state: StateRecord | null;
  /** files that could not be read (shown on the page, never fatal) */
  problems: string[];
}

export function readConfig(dir: string): RunConfigSummary | null {
  const p = join(dir, CONFIG_FILE);
  if (!existsSync(p)) return null;
  try {
    const r = ConfigSchema.safeParse(JSON.parse(readFileSync(p, 'utf8')));
    return r.success ? r.data : null;
  } catch {
    return null;
  }
}

export function readOptional<T>(path: string, schema: z.ZodType<T>, problems: string[]): T | null {
  try {
    return readJsonFile(path, schema);
  } catch (e) {
    if (e instanceof RunFileError) {
      problems.push(e.message);
      return null;
    }
    throw e;
  }
}

/** Everything the page shows of one run folder, read now. `metrics` may be given (already read). */
export function loadRun(dir: string, root: string, metrics?: IterationMetrics[]): LiveRun {
  const problems: string[] = [];
  const config = readConfig(dir);
  const name = basename(dir);
  return {
    key: relative(resolve(root), dir) || '.',
    name,
    optimizer: config?.optimizer ?? name,
    seed: config?.seed ?? 0,
    config,
    metrics: metrics ?? new MetricsTail(join(dir, METRICS_FILE)).read().records,
    device: readOptional(join(dir, DEVICE_FILE), DeviceRecordSchema, problems),
    state: readOptional(join(dir, STATE_FILE), StateRecordSchema, problems),
    problems,
  };
}
