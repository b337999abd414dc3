// Paired comparisons by seed: arm − reference per seed, mean and Student-t 95 % confidence
// interval of that difference, and the verdict the interval supports. Pairing removes the
// seed-to-seed spread both arms share (initialisation, batch order), which dominates the sd.

/** Two-sided 97.5 % quantiles of Student's t for 1..30 degrees of freedom. */
const T975 = [
  12.706, 4.303, 3.182, 2.776, 2.571, 2.447, 2.365, 2.306, 2.262, 2.228, 2.201, 2.179, 2.16, 2.145, 2.131, 2.12, 2.11, 2.101, 2.093, 2.086, 2.08, 2.074, 2.069,
  2.064, 2.06, 2.056, 2.052, 2.048, 2.045, 2.042,
];

/** t_{0.975, df}; beyond 30 df the Cornish–Fisher expansion around z = 1.95996 (error < 1e-3). */
export function tQuantile975(df: number): number {
  if (!Number.isInteger(df) || df < 1) throw new RangeError(`degrees of freedom must be a positive integer, got ${df}`);
  if (df <= T975.length) return T975[df - 1];
  const z = 1.959964;
  return z + (z ** 3 + z) / (4 * df) + (5 * z ** 5 + 16 * z ** 3 + 3 * z) / (96 * df * df);
}

export interface PairedDiff {
  arm: string;
  reference: string;
  metric: string;
  /** seeds present (finite) in both arms */
  n: number;
  /** mean of arm − reference over the paired seeds */
  mean: number;
  sd: number;
  /** 95 % CI of the mean difference (NaN when n < 2) */
  lo: number;
  hi: number;
  /** 'lower' / 'higher' when the CI excludes 0, else 'no difference shown' */
  verdict: 'lower' | 'higher' | 'no difference shown';
  perSeed: { seed: number; diff: number }[];
}

/** arm − reference per seed (only seeds finite in both), with the 95 % t interval of the mean. */
export function pairedDiff(
  metric: string,
  arm: { label: string; bySeed: Map<number, number> },
  reference: { label: string; bySeed: Map<number, number> },
): PairedDiff {
  const perSeed: { seed: number; diff: number }[] = [];
  for (const [seed, v] of arm.bySeed) {
    const r = reference.bySeed.get(seed);
    if (r !== undefined && Number.isFinite(v) && Number.isFinite(r)) perSeed.push({ seed, diff: v - r });
  }
  perSeed.sort((a, b) => a.seed - b.seed);
  const n = perSeed.length;
  const mean = n ? perSeed.reduce((s, d) => s + d.diff, 0) / n : NaN;
  const sd = n > 1 ? Math.sqrt(perSeed.reduce((s, d) => s + (d.diff - mean) ** 2, 0) / (n - 1)) : NaN;
  const half = n > 1 ? tQuantile975(n - 1) * (sd / Math.sqrt(n)) : NaN;
  const lo = mean - half;
  const hi = mean + half;
  const verdict = n > 1 && lo > 0 ? 'higher' : n > 1 && hi < 0 ? 'lower' : 'no difference shown';
  return { arm: arm.label, reference: reference.label, metric, n, mean, sd, lo, hi, verdict, perSeed };
}

/** "+0.012 [−0.003, +0.027]" */
export function formatDiff(d: PairedDiff, digits = 3): string {
  const f = (x: number) => (Number.isFinite(x) ? `${x >= 0 ? '+' : '−'}${Math.abs(x).toFixed(digits)}` : '—');
  return `${f(d.mean)} [${f(d.lo)}, ${f(d.hi)}]`;
}
