// `tngd compare`: several optimizers × seeds on the same data into one report (mean ± sd) and a
// summary table. Hyperparameter flags apply to every listed optimizer that takes them;
// `--set adam.lr=0.003` targets one. Exit codes as for `tngd train`.
import type { Command } from 'commander';
import { createHash } from 'node:crypto';
import { join, resolve } from 'node:path';
import { sortedKeyJson, compare, sanitize, splitDeviceSecret, terminalProgress, TrainUsageError, type CompareConfig, type CompareRunSpec } from '../../host-loop/train/index.ts';
import { getPreset, listPresets } from '../../host-loop/train/presets.ts';
import { lineProgress } from '../../host-loop/run/progress-line.ts';
import { addServeOptions, liveSessionFromFlags, type LiveSession } from '../live-session.ts';
import {
  EXIT,
  addHyperparameterOptions,
  addRunOptions,
  addSecretOptions,
  defineCommand,
  hyperparametersFromFlags,
  installInterruptHandlers,
  optimizerOptionKeys,
  parseSetPairs,
  resolveSecret,
  runConfigFromFlags,
  runReportOptions,
} from '../support.ts';

function parseList(flag: string, s: string): string[] {
  const items = s.split(',').map((x) => x.trim());
  if (items.some((x) => x === '')) throw new TrainUsageError([`${flag}: empty item in '${s}' (expected a comma-separated list)`]);
  return items;
}

function parseSeeds(s: string): number[] {
  const out: number[] = [];
  for (const t of parseList('--seeds', s)) {
    const range = /^(\d+)\.\.(\d+)$/.exec(t);
    if (range) {
      const [a, b] = [Number(range[1]), Number(range[2])];
      if (b < a || b - a > 1000) throw new TrainUsageError([`--seeds: bad range '${t}'`]);
      for (let k = a; k <= b; k++) out.push(k);
    } else if (/^\d+$/.test(t)) out.push(Number(t));
    else throw new TrainUsageError([`--seeds: '${t}' is not a non-negative integer (e.g. --seeds 1,2,3 or 1..5)`]);
  }
  return out;
}

/** Command line (plus an optional preset) → a comparison config and its run folder. */
export function buildCompare(flags: Record<string, unknown>): { config: CompareConfig; out: string } {
  const presetName = typeof flags.preset === 'string' ? flags.preset : undefined;
  const preset = presetName === undefined ? undefined : getPreset(presetName);
  if (presetName !== undefined && !preset)
    throw new TrainUsageError([`--preset: unknown preset '${presetName}'; available: ${listPresets().map((p) => p.name).join(', ') || '(none)'}`]);
  const problems: string[] = [];
  const run = runConfigFromFlags(flags, problems);
  const names = typeof flags.optimizers === 'string' ? parseList('--optimizers', flags.optimizers) : (preset?.runs.map((r) => r.optimizer) ?? ['tngd', 'adam', 'ngd-woodbury']);
  const seeds = typeof flags.seeds === 'string' ? parseSeeds(flags.seeds) : (preset?.seeds ?? [1]);
  const runs: CompareRunSpec[] = names.map((n) => ({ optimizer: n, options: { ...(preset?.runs.find((r) => r.optimizer === n)?.options ?? {}) } }));

  // Global hyperparameter flags: to every optimizer that takes the key.
  for (const [key, { value, flag }] of Object.entries(hyperparametersFromFlags(flags, problems))) {
    const takers = runs.filter((r) => optimizerOptionKeys(r.optimizer)?.includes(key));
    if (takers.length === 0) problems.push(`${flag} applies to none of ${names.join(', ')}`);
    for (const r of takers) r.options![key] = value;
  }
  for (const { key, value } of parseSetPairs(flags.set as string[] | undefined, problems)) {
    const dot = key.indexOf('.');
    const target = dot > 0 ? key.slice(0, dot) : null;
    const k = dot > 0 ? key.slice(dot + 1) : key;
    const selected = target === null ? runs.filter((r) => optimizerOptionKeys(r.optimizer)?.includes(k)) : runs.filter((r) => r.optimizer === target);
    if (target !== null && selected.length === 0) problems.push(`--set ${key}: '${target}' is not one of --optimizers ${names.join(',')}`);
    else if (selected.length === 0) problems.push(`--set ${key}: no listed optimizer takes option '${k}'`);
    for (const r of selected) r.options![k] = value;
  }
  if (problems.length) throw new TrainUsageError(problems);

  const base = { ...(preset?.base ?? {}), ...run.base };
  // Every result-changing setting is in the name or its hash, so two comparisons never share a folder.
  const hashed = { base: { ...base, ...(base.device !== undefined ? { device: splitDeviceSecret(base.device).url } : {}) }, runs, seeds };
  for (const k of ['evalEvery', 'checkpointEvery', 'keepCheckpoints'] as const) delete hashed.base[k];
  const hash = createHash('sha256').update(sortedKeyJson(hashed)).digest('hex').slice(0, 8);
  const out =
    typeof flags.out === 'string'
      ? resolve(flags.out)
      : resolve(
          preset && typeof flags.optimizers !== 'string' && Object.keys(run.base).length === 0 && typeof flags.seeds !== 'string'
            ? preset.out
            : join('results', sanitize(`compare-${names.join('+')}-${base.model ?? 'mlp:196-32-10'}-b${base.batch ?? 32}-${base.iters !== undefined ? `i${base.iters}` : `e${base.epochs ?? 1}`}-s${seeds.join(',')}-${hash}`)),
        );
  return { config: { base, runs, seeds }, out };
}

interface CompareFlags extends Record<string, unknown> {
  resume?: boolean;
  overwrite?: boolean;
  json?: boolean;
  progress?: boolean;
  secretFile?: string;
}

export function register(program: Command): void {
  defineCommand<CompareFlags>(program, {
    name: 'compare',
    description: 'run several optimizers × seeds on the same data, model and budget into one report (mean ± sd) and a summary table',
    configure: (cmd) => {
      cmd
        .option('--optimizers <list>', "comma-separated (default: the preset's, else tngd,adam,ngd-woodbury)")
        .option('--seeds <list>', 'seeds, e.g. 1,2,3 or 1..5 (default 1)')
        .option('--preset <name>', `a named set-up whose settings the other options override (${listPresets().map((p) => p.name).join(', ') || 'none yet'})`)
        .option('--out <dir>', "folder for the report and one sub-folder per run (default results/compare-…-<hash of the settings>, or the preset's)")
        .option('--resume', 'reuse finished runs in --out and continue interrupted ones from their checkpoints')
        .option('--overwrite', 'replace what --out holds (default: refuse a folder that is not empty)');
      addRunOptions(cmd);
      addHyperparameterOptions(cmd);
      addSecretOptions(cmd, 'tcp devices');
      addServeOptions(cmd);
      cmd.addHelpText(
        'after',
        '\nHyperparameter flags apply to every listed optimizer that takes them; --set NAME.key=value targets one,\n' +
          'e.g. --set adam.lr=0.003 --set tngd.tTau=10.\n' +
          'Exit codes: 0 done, 1 run-time failure, 2 bad usage, 130 interrupted (rerun with --resume).\n',
      );
    },
    run: runCompare,
    report: () => runReportOptions(),
  });
}

async function runCompare(flags: CompareFlags): Promise<number> {
  const { signal, dispose } = installInterruptHandlers();
  let live: LiveSession | null = null;
  try {
    const { config, out } = buildCompare(flags);
    const secret = resolveSecret(flags);
    live = await liveSessionFromFlags(flags, out, `tngd compare: ${config.runs.map((r) => r.optimizer).join(' vs ')}`);
    const t0 = performance.now();
    const res = await compare(config, {
      out,
      resume: flags.resume === true,
      overwrite: flags.overwrite === true,
      ...(secret !== undefined ? { secret } : {}),
      resumeHint: 'the same tngd compare command plus --resume',
      signal,
      progress: flags.progress === false || flags.json ? null : (terminalProgress() ?? lineProgress()),
      log: (l) => process.stderr.write(`${l}\n`),
      observer: live.recorder,
    });
    const wall = (performance.now() - t0) / 1e3;
    if (flags.json) {
      process.stdout.write(JSON.stringify({ out: res.out, report: res.reportPath, wallSeconds: wall, interrupted: res.interrupted, rows: res.rows, runs: res.runs }, null, 2) + '\n');
    } else {
      const diverged = res.runs.filter((r) => r.diverged).map((r) => `${r.optimizer} (seed ${r.seed})`);
      process.stdout.write(`${res.table}\n\n`);
      if (diverged.length) process.stdout.write(`diverged: ${diverged.join(', ')}\n`);
      process.stdout.write(`report: ${res.reportPath}\n(${res.runs.length} runs in ${wall.toFixed(1)} s)\n`);
    }
    if (res.interrupted) {
      process.stderr.write(`interrupted; continue with the same command plus --resume\n`);
      return EXIT.interrupted;
    }
    return EXIT.ok;
  } finally {
    await live?.close();
    dispose();
  }
}
