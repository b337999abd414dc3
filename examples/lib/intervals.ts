// 95% Student-t intervals for a mean over seeds and for paired differences between two arms run
// on the same seeds (same initialisation and batch order), so verdicts can be worded by what the
// intervals show rather than by which mean is larger.

/** Two-sided 95% quantiles t_{0.975, df} for df = 1 … 30 (standard tables). */
const T975 = [12.706, 4.303, 3.182, 2.776, 2.571, 2.447, 2.365, 2.306, 2.262, 2.228, 2.201, 2.179, 2.16, 2.145, 2.131, 2.12, 2.11, 2.101, 2.093, 2.086, 2.08, 2.074, 2.069, 2.064, 2.06, 2.056, 2.052, 2.048, 2.045, 2.042];

export function t975(df: number): number {
  if (!Number.isInteger(df) || df < 1) throw new RangeError(`degrees of freedom must be a positive integer, got ${df}`);
  return df <= 30 ? T975[df - 1] : 1.96;
}

export interface Interval {
  mean: number;
  lo: number;
  hi: number;
  n: number;
}

/** Mean and 95% t-interval; n = 1 gives an unbounded interval. */
export function meanInterval(xs: readonly number[]): Interval {
  const n = xs.length;
  if (n === 0) return { mean: NaN, lo: NaN, hi: NaN, n };
  const mean = xs.reduce((a, b) => a + b, 0) / n;
  if (n === 1) return { mean, lo: -Infinity, hi: Infinity, n };
  const sd = Math.sqrt(xs.reduce((a, b) => a + (b - mean) ** 2, 0) / (n - 1));
  const h = (t975(n - 1) * sd) / Math.sqrt(n);
  return { mean, lo: mean - h, hi: mean + h, n };
}

/** Interval of the per-seed differences a_i − b_i (seeds paired by index). */
export function pairedDifference(a: readonly number[], b: readonly number[]): Interval {
  if (a.length !== b.length) throw new RangeError(`paired difference of ${a.length} and ${b.length} values`);
  return meanInterval(a.map((x, i) => x - b[i]));
}

/** "lower", "higher" or "no difference shown" for an interval of a − b. */
export function verdict(d: Interval): 'lower' | 'higher' | 'no difference shown' {
  if (d.hi < 0) return 'lower';
  if (d.lo > 0) return 'higher';
  return 'no difference shown';
}

export function formatInterval(x: Interval, digits = 3): string {
  const f = (v: number) => (Number.isFinite(v) ? Number(v.toPrecision(digits)).toString() : String(v));
  return `${f(x.mean)} [${f(x.lo)}, ${f(x.hi)}]`;
}
