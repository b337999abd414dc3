// Several optimizers × several seeds on the same data, model, batch size and iteration budget,
// into one report (mean ± sd over seeds) and one summary table. Each run is an ordinary train()
// run in its own folder <out>/<optimizer>-s<seed>, so an interrupted comparison resumes run by run.
import { existsSync, readdirSync } from 'node:fs';
import { join, resolve } from 'node:path';
import { formatSummaryTable, summarizeRuns, writeReport, type RunRecord, type SummaryRow } from '../run/index.ts';
import { CheckpointError } from '../run/checkpoint.ts';
import { parseTrainConfig, sanitize, totalIterations, type TrainConfig, type TrainConfigInput } from './config.ts';
import { loadRunData } from './data-cache.ts';
import { LinkLostError, RunFolderInUseError, TrainUsageError } from './errors.ts';
import { locateCheckpoint, train, type TrainResult } from './loop.ts';
import type { ProgressSink } from './progress.ts';
import type { RunObserver } from '../run/observer.ts';

export interface CompareRunSpec {
  optimizer: string;
  options?: Record<string, unknown>;
}

export interface CompareConfig {
  /** everything but optimizer, options and seed, shared by all runs */
  base: Omit<TrainConfigInput, 'optimizer' | 'optimizerOptions' | 'seed'>;
  runs: CompareRunSpec[];
  seeds: number[];
}

export interface CompareOptions {
  out: string;
  /** continue runs that have checkpoints in `out` (finished runs are reused as they are) */
  resume?: boolean;
  /**
   * replace what is in `out` (without it or resume, a non-empty `out` is refused; with resume,
   * run folders whose config differs are replaced instead of refused)
   */
  overwrite?: boolean;
  /** tcp devices: the shared secret (never stored) */
  secret?: string;
  /** how the caller continues an interrupted comparison, for messages (default: "rerun with resume") */
  resumeHint?: string;
  signal?: AbortSignal;
  /** one progress display per run */
  progress?: ProgressSink | null;
  log?: (line: string) => void;
  title?: string;
  /** told of each run (live page, periodic report) */
  observer?: RunObserver;
}

export interface CompareRunResult {
  optimizer: string;
  seed: number;
  out: string;
  diverged: boolean;
  reused: boolean;
  iterations: number;
}

export interface CompareResult {
  out: string;
  reportPath: string;
  rows: SummaryRow[];
  table: string;
  runs: CompareRunResult[];
  interrupted: boolean;
}

/** Validates every run's config before any run starts, so a typo fails fast. */
export function planCompare(cfg: CompareConfig): { label: string; config: TrainConfig }[] {
  const problems: string[] = [];
  if (cfg.runs.length === 0) problems.push('optimizers: give at least one');
  if (cfg.seeds.length === 0) problems.push('seeds: give at least one');
  const names = cfg.runs.map((r) => r.optimizer);
  const dup = names.filter((n, i) => names.indexOf(n) !== i);
  if (dup.length) problems.push(`optimizers: '${dup[0]}' is listed twice`);
  const sd = cfg.seeds.filter((s, i) => cfg.seeds.indexOf(s) !== i);
  if (sd.length) problems.push(`seeds: ${sd[0]} is listed twice`);
  const plan: { label: string; config: TrainConfig }[] = [];
  for (const r of cfg.runs) {
    for (const seed of cfg.seeds) {
      try {
        plan.push({ label: r.optimizer, config: parseTrainConfig({ ...cfg.base, optimizer: r.optimizer, optimizerOptions: r.options ?? {}, seed }) });
      } catch (e) {
        if (!(e instanceof TrainUsageError)) throw e;
        for (const p of e.problems) if (!problems.includes(p)) problems.push(p);
      }
    }
  }
  if (problems.length) throw new TrainUsageError(problems);
  return plan;
}

export function runFolderName(label: string, seed: number): string {
  return sanitize(`${label}-s${seed}`);
}

export async function compare(cfg: CompareConfig, opts: CompareOptions): Promise<CompareResult> {
  const plan = planCompare(cfg);
  const out = resolve(opts.out);
  const entries = existsSync(out) ? readdirSync(out) : [];
  if (entries.length > 0 && !opts.resume && !opts.overwrite) throw new RunFolderInUseError(out, entries);
  const data = loadRunData(plan[0].config.data);
  const log = opts.log ?? (() => {});
  const records: RunRecord[] = [];
  const runs: CompareRunResult[] = [];
  let interrupted = false;
  for (const { label, config } of plan) {
    if (opts.signal?.aborted) {
      interrupted = true;
      break;
    }
    const dir = join(out, runFolderName(label, config.seed));
    const prior = opts.resume ? findPrior(dir, config, data.train.n) : null;
    const reused = prior === 'done';
    let res: TrainResult;
    try {
      res = await train(config, {
        out: dir,
        // with resume, a run folder of another config is replaced only when overwrite says so
        overwrite: !prior && opts.overwrite === true,
        ...(opts.secret !== undefined ? { secret: opts.secret } : {}),
        ...(prior ? { resume: dir, overrides: { iters: config.iters, epochs: config.epochs } } : {}),
        signal: opts.signal,
        progress: opts.progress,
        log,
        label,
        progressLabel: `${label} (seed ${config.seed})`,
        report: false,
        data,
        observer: opts.observer,
      });
    } catch (e) {
      // The resume command of a comparison is the comparison's, not the run's.
      if (e instanceof LinkLostError) throw new LinkLostError(e.out, e.iteration, e.checkpointIteration, opts.resumeHint ?? 'rerun the comparison with resume', { cause: e.cause });
      throw e;
    }
    if (res.interrupted) interrupted = true;
    records.push({ optimizer: label, seed: config.seed, metrics: res.records, dir });
    runs.push({ optimizer: label, seed: config.seed, out: dir, diverged: res.diverged, reused, iterations: res.iterations });
    if (interrupted) break;
  }
  const rows = summarizeRuns(records);
  const base = plan[0].config;
  const notes = [
    `model ${base.model}, loss ${base.loss}, batch ${base.batch}, ${totalIterations(base, Math.floor(data.train.n / base.batch))} iterations, seeds ${cfg.seeds.join(', ')}`,
    `data: ${base.data.dir ?? 'shipped Fashion-MNIST subset'} (${data.train.n} train / ${data.test.n} test)`,
    ...cfg.runs.map((r) => `${r.optimizer}: ${JSON.stringify(plan.find((p) => p.label === r.optimizer)!.config.optimizerOptions)}`),
    ...(interrupted ? ['interrupted: some runs are missing or partial; rerun with --resume to finish'] : []),
  ];
  const reportPath = writeReport(out, opts.title ?? `tngd compare: ${cfg.runs.map((r) => r.optimizer).join(' vs ')}`, records, notes).html;
  return { out, reportPath, rows, table: formatSummaryTable(rows), runs, interrupted };
}

/**
 * 'done' if the run folder holds a checkpoint of this exact config at its final iteration,
 * 'partial' if it holds an earlier one, null if none (or one of another config: start afresh).
 */
function findPrior(dir: string, config: TrainConfig, nTrain: number): 'done' | 'partial' | null {
  if (!existsSync(join(dir, 'checkpoints'))) return null;
  let found;
  try {
    found = locateCheckpoint(dir);
  } catch (e) {
    if (e instanceof CheckpointError || (e instanceof Error && e.name === 'TrainRunError')) return null;
    throw e;
  }
  let saved: TrainConfig;
  try {
    saved = parseTrainConfig(found.checkpoint.config);
  } catch {
    return null;
  }
  const strip = (c: TrainConfig) => JSON.stringify({ ...c, iters: undefined, epochs: undefined, evalEvery: undefined, checkpointEvery: undefined });
  if (strip(saved) !== strip(config)) return null;
  const total = totalIterations(config, Math.floor(nTrain / config.batch));
  return found.checkpoint.iteration >= total ? 'done' : 'partial';
}
