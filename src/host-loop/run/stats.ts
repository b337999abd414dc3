// Small descriptive statistics for seed aggregation.
export interface MeanSd {
  mean: number;
  /** sample standard deviation (n − 1); 0 for a single value */
  sd: number;
  n: number;
}

export function meanSd(xs: readonly number[]): MeanSd {
  const v = xs.filter((x) => !Number.isNaN(x));
  const n = v.length;
  if (n === 0) return { mean: NaN, sd: NaN, n: 0 };
  let s = 0;
  for (const x of v) s += x;
  const mean = s / n;
  if (n === 1) return { mean, sd: 0, n };
  let ss = 0;
  for (const x of v) ss += (x - mean) ** 2;
  return { mean, sd: Math.sqrt(ss / (n - 1)), n };
}

/** "0.4828 ± 0.0031" with `digits` significant digits on the mean; "—" for missing. */
export function formatMeanSd(m: MeanSd, digits = 4): string {
  if (m.n === 0 || !Number.isFinite(m.mean)) return m.n === 0 ? '—' : String(m.mean);
  const mean = formatNumber(m.mean, digits);
  return m.n > 1 ? `${mean} ± ${formatNumber(m.sd, 2)}` : mean;
}

export function formatNumber(x: number, digits = 4): string {
  if (!Number.isFinite(x)) return String(x);
  const a = Math.abs(x);
  if (a !== 0 && (a >= 1e6 || a < 1e-3)) return x.toExponential(digits - 1);
  return Number(x.toPrecision(digits)).toString();
}
