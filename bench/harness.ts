// Shared benchmark plumbing: every suite returns rows; run.ts prints one table per suite and
// writes results/bench/<suite>.json. Each row should carry its own same-run baseline.
export interface BenchRow {
  case: string;
  /** Primary measured figure, e.g. MB/s or steps/s. */
  value: number;
  unit: string;
  /** Same-run baseline figure in the same unit, when the case has one. */
  baseline?: number;
  /** value / baseline (or the inverse when lower is better; say which in `note`). */
  ratio?: number;
  note?: string;
  [extra: string]: unknown;
}

export interface BenchSuite {
  name: string;
  run(opts: { quick: boolean }): Promise<BenchRow[]>;
}

/** Median of `reps` timings of fn, in seconds; warms up first. */
export function timeIt(fn: () => void, reps = 5, warmup = 1): number {
  for (let i = 0; i < warmup; i++) fn();
  const t: number[] = [];
  for (let i = 0; i < reps; i++) {
    const s = process.hrtime.bigint();
    fn();
    t.push(Number(process.hrtime.bigint() - s) / 1e9);
  }
  t.sort((a, b) => a - b);
  return t[Math.floor(t.length / 2)];
}

export async function timeItAsync(fn: () => Promise<void>, reps = 5, warmup = 1): Promise<number> {
  for (let i = 0; i < warmup; i++) await fn();
  const t: number[] = [];
  for (let i = 0; i < reps; i++) {
    const s = process.hrtime.bigint();
    await fn();
    t.push(Number(process.hrtime.bigint() - s) / 1e9);
  }
  t.sort((a, b) => a - b);
  return t[Math.floor(t.length / 2)];
}
