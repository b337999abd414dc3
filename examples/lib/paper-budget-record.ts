// The committed per-seed record of the paper-budget study (docs/data/paper-budget/): what one
// training run wrote, in a small JSON file the report stage (tables, figures) reads back. The
// reader validates every field it uses, so a record of another shape fails loudly instead of
// producing a silently wrong figure.
import { readdirSync, readFileSync } from 'node:fs';
import { join } from 'node:path';

export const RUN_SCHEMA = 'tngd-paper-budget-run/1';
export const TUNE_SCHEMA = 'tngd-paper-budget-tune/1';

/** One evaluation point of a run. */
export interface EvalRow {
  iter: number;
  /** mean mini-batch train loss / accuracy over the iterations since the previous evaluation */
  trainLoss: number;
  trainAccuracy: number;
  testLoss: number;
  testAccuracy: number;
  /** cumulative host seconds (gradient, J, H, optimizer step; the emulated device excluded) */
  hostSeconds: number;
  /** cumulative host seconds + projected device seconds (stated hardware model) */
  computeSeconds: number;
}

export interface Provenance {
  command: string;
  commit: string;
  dirty: boolean;
}

export interface PaperRunRecord {
  schema: typeof RUN_SCHEMA;
  arm: string;
  label: string;
  optimizer: string;
  /** optimizer options, lr included */
  options: Record<string, unknown>;
  lr: number;
  seed: number;
  epochs: number;
  /** epochs × batches per epoch */
  targetIterations: number;
  /** iterations reached (less than targetIterations while complete is false) */
  iterations: number;
  /** false: the run was stopped (or is still running) before targetIterations */
  complete: boolean;
  diverged: boolean;
  /** the device's refusal that ended the run before its target (the record holds its last checkpoint) */
  stoppedBy?: string;
  model: string;
  numParams: number;
  batch: number;
  trainSamples: number;
  testSamples: number;
  evals: EvalRow[];
  /** final parameters on the whole training set (trainSamples) and the whole test set */
  finalTrain: { loss: number; accuracy: number };
  finalTest: { loss: number; accuracy: number };
  hostSecondsPerIter: number;
  projectedDeviceSecondsPerIter: number;
  /** wall and process CPU seconds of the training (summed over resumed segments) */
  wallSeconds: number;
  cpuSeconds: number;
  segments: number;
  provenance: Provenance;
  finishedAt: string;
}

export interface TunePointRecord {
  schema: typeof TUNE_SCHEMA;
  arm: string;
  lr: number;
  seed: number;
  iterations: number;
  trainSamples: number;
  validationSamples: number;
  diverged: boolean;
  validationLoss: number;
  validationAccuracy: number;
  wallSeconds: number;
  cpuSeconds: number;
  provenance: Provenance;
}

class RecordError extends Error {
  constructor(file: string, what: string) {
    super(`${file}: ${what}`);
    this.name = 'RecordError';
  }
}

// JSON has no NaN or Infinity; they are written as strings and read back as numbers.
export const jsonReplacer = (_k: string, v: unknown): unknown => (typeof v === 'number' && !Number.isFinite(v) ? String(v) : v);
const jsonReviver = (_k: string, v: unknown): unknown => (v === 'NaN' ? NaN : v === 'Infinity' ? Infinity : v === '-Infinity' ? -Infinity : v);

function num(file: string, o: Record<string, unknown>, k: string): number {
  const v = o[k];
  if (typeof v !== 'number') throw new RecordError(file, `field '${k}' must be a number, got ${JSON.stringify(v)}`);
  return v;
}

function checkRun(file: string, o: Record<string, unknown>): PaperRunRecord {
  if (o.schema !== RUN_SCHEMA) throw new RecordError(file, `schema '${String(o.schema)}', expected '${RUN_SCHEMA}'`);
  for (const k of ['arm', 'label', 'optimizer', 'model']) if (typeof o[k] !== 'string') throw new RecordError(file, `field '${k}' must be a string`);
  if (typeof o.complete !== 'boolean' || typeof o.diverged !== 'boolean') throw new RecordError(file, "fields 'complete' and 'diverged' must be booleans");
  for (const k of ['lr', 'seed', 'epochs', 'targetIterations', 'iterations', 'numParams', 'batch', 'trainSamples', 'testSamples', 'hostSecondsPerIter', 'projectedDeviceSecondsPerIter', 'wallSeconds', 'cpuSeconds'])
    num(file, o, k);
  if (!Array.isArray(o.evals) || o.evals.length === 0) throw new RecordError(file, "field 'evals' must be a non-empty array");
  for (const e of o.evals as Record<string, unknown>[])
    for (const k of ['iter', 'trainLoss', 'trainAccuracy', 'testLoss', 'testAccuracy', 'hostSeconds', 'computeSeconds']) num(file, e, k);
  for (const k of ['finalTrain', 'finalTest']) {
    const f = o[k] as Record<string, unknown> | undefined;
    if (!f) throw new RecordError(file, `field '${k}' missing`);
    num(file, f, 'loss');
    num(file, f, 'accuracy');
  }
  const p = o.provenance as Record<string, unknown> | undefined;
  if (!p || typeof p.command !== 'string' || typeof p.commit !== 'string') throw new RecordError(file, 'provenance (command, commit) missing');
  return o as unknown as PaperRunRecord;
}

function checkTune(file: string, o: Record<string, unknown>): TunePointRecord {
  if (o.schema !== TUNE_SCHEMA) throw new RecordError(file, `schema '${String(o.schema)}', expected '${TUNE_SCHEMA}'`);
  if (typeof o.arm !== 'string') throw new RecordError(file, "field 'arm' must be a string");
  for (const k of ['lr', 'seed', 'iterations', 'validationLoss', 'validationAccuracy', 'cpuSeconds']) num(file, o, k);
  return o as unknown as TunePointRecord;
}

function readJsonFiles(dir: string): { file: string; value: Record<string, unknown> }[] {
  let names: string[];
  try {
    names = readdirSync(dir);
  } catch {
    return [];
  }
  return names
    .filter((n) => n.endsWith('.json'))
    .sort()
    .map((n) => ({ file: join(dir, n), value: JSON.parse(readFileSync(join(dir, n), 'utf8'), jsonReviver) as Record<string, unknown> }));
}

/** Every per-seed run record under <dataDir>/runs, validated. */
export function readRunRecords(dataDir: string): PaperRunRecord[] {
  return readJsonFiles(join(dataDir, 'runs')).map((f) => checkRun(f.file, f.value));
}

/** Every tuning point under <dataDir>/tuning, validated. */
export function readTunePoints(dataDir: string): TunePointRecord[] {
  return readJsonFiles(join(dataDir, 'tuning')).map((f) => checkTune(f.file, f.value));
}

export interface TuneChoice {
  arm: string;
  /** per lr: mean validation loss over the tuning seeds (+∞ if any diverged) */
  grid: { lr: number; validationLoss: number; validationAccuracy: number; seeds: number[]; iterations: number }[];
  best: number;
  atEdge: boolean;
}

/** The learning rate with the lowest mean final validation loss; a diverged seed scores +∞. */
export function chooseLr(points: TunePointRecord[], arm: string): TuneChoice | null {
  const mine = points.filter((p) => p.arm === arm);
  if (mine.length === 0) return null;
  const lrs = [...new Set(mine.map((p) => p.lr))].sort((a, b) => a - b);
  const grid = lrs.map((lr) => {
    const ps = mine.filter((p) => p.lr === lr);
    const loss = ps.some((p) => p.diverged || !Number.isFinite(p.validationLoss)) ? Infinity : ps.reduce((s, p) => s + p.validationLoss, 0) / ps.length;
    const acc = ps.reduce((s, p) => s + p.validationAccuracy, 0) / ps.length;
    return { lr, validationLoss: loss, validationAccuracy: acc, seeds: ps.map((p) => p.seed), iterations: ps[0].iterations };
  });
  let bi = 0;
  for (let i = 1; i < grid.length; i++) if (grid[i].validationLoss < grid[bi].validationLoss) bi = i;
  return { arm, grid, best: grid[bi].lr, atEdge: grid.length > 1 && (bi === 0 || bi === grid.length - 1) };
}
