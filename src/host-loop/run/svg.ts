// Self-contained SVG line charts, hand-written: axes with nice ticks (round values on log axes
// too), one line per series, optional mean ± sd band, legend beside the plot (never over the
// lines). Non-finite points break the line instead of emitting NaN.
export interface SeriesPoint {
  x: number;
  y: number;
  /** band bounds, e.g. mean ± sd over seeds */
  lo?: number;
  hi?: number;
}

export interface Series {
  name: string;
  points: SeriesPoint[];
  color?: string;
}

export interface LineChartOptions {
  title: string;
  xLabel: string;
  yLabel: string;
  series: Series[];
  width?: number;
  height?: number;
  logY?: boolean;
  /** log x axis (e.g. time, where optimizers differ by decades); points with x ≤ 0 are dropped */
  logX?: boolean;
}

export const PALETTE = ['#1f77b4', '#d62728', '#2ca02c', '#ff7f0e', '#9467bd', '#8c564b', '#e377c2', '#17becf', '#7f7f7f', '#bcbd22'];

export function escapeXml(s: string): string {
  return s.replace(/[<>&"']/g, (c) => ({ '<': '&lt;', '>': '&gt;', '&': '&amp;', '"': '&quot;', "'": '&#39;' })[c]!);
}

/** About `count` round tick values covering [lo, hi]. */
export function niceTicks(lo: number, hi: number, count = 5): number[] {
  if (!(hi > lo)) return [lo];
  const raw = (hi - lo) / Math.max(1, count);
  const mag = Math.pow(10, Math.floor(Math.log10(raw)));
  const step = [1, 2, 2.5, 5, 10].map((m) => m * mag).find((s) => s >= raw) ?? 10 * mag;
  const out: number[] = [];
  for (let t = Math.ceil(lo / step) * step; t <= hi + step * 1e-9; t += step) out.push(Math.abs(t) < step * 1e-9 ? 0 : t);
  return out;
}

/**
 * Round tick values for a log axis spanning [lo, hi] (data units, both > 0): powers of ten over
 * many decades, 1-2-5 steps over a few, and round linear steps inside one decade (so a loss
 * between 0.3 and 2.3 reads 0.5, 1, 1.5, 2 rather than 10^k·0.251189…).
 */
export function logTicks(lo: number, hi: number, count = 5): number[] {
  if (!(lo > 0) || !(hi > lo)) return lo > 0 ? [lo] : [];
  const decades = Math.log10(hi / lo);
  if (decades < 1) return niceTicks(lo, hi, count).filter((t) => t > 0);
  const mults = decades <= 2.5 ? [1, 2, 5] : [1];
  const stride = Math.max(1, Math.ceil(decades / (count + 1)));
  const out: number[] = [];
  for (let e = Math.floor(Math.log10(lo)); e <= Math.ceil(Math.log10(hi)); e++) {
    if (mults.length === 1 && e % stride !== 0) continue;
    for (const m of mults) {
      const t = Number((m * Math.pow(10, e)).toPrecision(12));
      if (t >= lo * (1 - 1e-9) && t <= hi * (1 + 1e-9)) out.push(t);
    }
  }
  return out;
}

/** Short label of a round tick value: no float noise (0.6000000000000001 → 0.6), exponent form for tiny/huge. */
export function tickLabel(v: number): string {
  const a = Math.abs(v);
  if (a !== 0 && (a >= 1e5 || a < 1e-3)) return Number(v.toPrecision(3)).toExponential().replace(/\.?0+e/, 'e').replace('e+', 'e');
  return Number(v.toPrecision(6)).toString();
}

const f2 = (v: number): string => v.toFixed(2);

export function lineChartSvg(o: LineChartOptions): string {
  const H = o.height ?? 400;
  // Legend to the right of the plot area: it can never cover a line.
  const longest = Math.max(0, ...o.series.map((s) => s.name.length));
  const legendW = o.series.length ? Math.min(240, 34 + 7 * longest) : 0;
  const W = (o.width ?? 640) + legendW;
  const m = { l: 70, r: 20 + legendW, t: 36, b: 50 };
  const pw = W - m.l - m.r;
  const ph = H - m.t - m.b;
  const ty = (y: number): number => (o.logY ? Math.log10(y) : y);
  const tx = (x: number): number => (o.logX ? Math.log10(x) : x);
  const usable = (v: number | undefined): v is number => v !== undefined && Number.isFinite(v) && (!o.logY || v > 0);
  const usableX = (v: number): boolean => Number.isFinite(v) && (!o.logX || v > 0);

  let x0 = Infinity;
  let x1 = -Infinity;
  let y0 = Infinity;
  let y1 = -Infinity;
  for (const s of o.series)
    for (const p of s.points) {
      if (!usableX(p.x) || !usable(p.y)) continue;
      x0 = Math.min(x0, tx(p.x));
      x1 = Math.max(x1, tx(p.x));
      for (const v of [p.y, p.lo, p.hi]) {
        if (!usable(v)) continue;
        y0 = Math.min(y0, ty(v));
        y1 = Math.max(y1, ty(v));
      }
    }
  const parts: string[] = [];
  parts.push(
    `<svg xmlns="http://www.w3.org/2000/svg" width="${W}" height="${H}" viewBox="0 0 ${W} ${H}" font-family="sans-serif" font-size="12">`,
    `<rect x="0" y="0" width="${W}" height="${H}" fill="white"/>`,
    `<text x="${f2(m.l + pw / 2)}" y="20" text-anchor="middle" font-size="14" font-weight="bold">${escapeXml(o.title)}</text>`,
  );
  if (!(x0 <= x1)) {
    parts.push(`<text x="${f2(W / 2)}" y="${f2(H / 2)}" text-anchor="middle" fill="#888">no data</text>`, '</svg>');
    return parts.join('\n');
  }
  if (x1 === x0) {
    const pad = o.logX ? 0.25 : 0.5;
    x0 -= pad;
    x1 += pad;
  }
  if (y1 === y0) {
    const pad = o.logY ? 0.05 : Math.abs(y0) * 0.05 || 0.5;
    y0 -= pad;
    y1 += pad;
  } else {
    const pad = (y1 - y0) * 0.04;
    y0 -= pad;
    y1 += pad;
  }
  // positions from transformed coordinates (log10 on log axes)
  const px = (t: number): number => m.l + ((t - x0) / (x1 - x0)) * pw;
  const py = (t: number): number => m.t + ph - ((t - y0) / (y1 - y0)) * ph;
  const sx = (x: number): number => px(tx(x));
  const sy = (y: number): number => py(ty(y));
  const ticks = (lo: number, hi: number, log: boolean | undefined, count: number): number[] =>
    log ? logTicks(Math.pow(10, lo), Math.pow(10, hi), count) : niceTicks(lo, hi, count);

  // axes and grid
  parts.push(`<rect x="${m.l}" y="${m.t}" width="${pw}" height="${ph}" fill="none" stroke="#333"/>`);
  for (const t of ticks(x0, x1, o.logX, 6)) {
    const x = f2(o.logX ? sx(t) : px(t));
    parts.push(
      `<line x1="${x}" y1="${m.t}" x2="${x}" y2="${m.t + ph}" stroke="#eee"/>`,
      `<text x="${x}" y="${m.t + ph + 16}" text-anchor="middle">${escapeXml(tickLabel(t))}</text>`,
    );
  }
  for (const t of ticks(y0, y1, o.logY, 5)) {
    const y = f2(o.logY ? sy(t) : py(t));
    parts.push(
      `<line x1="${m.l}" y1="${y}" x2="${m.l + pw}" y2="${y}" stroke="#eee"/>`,
      `<text x="${m.l - 6}" y="${y}" text-anchor="end" dy="0.35em">${escapeXml(tickLabel(t))}</text>`,
    );
  }
  parts.push(
    `<text x="${f2(m.l + pw / 2)}" y="${H - 10}" text-anchor="middle">${escapeXml(o.xLabel + (o.logX ? ' (log)' : ''))}</text>`,
    `<text x="16" y="${f2(m.t + ph / 2)}" text-anchor="middle" transform="rotate(-90 16 ${f2(m.t + ph / 2)})">${escapeXml(o.yLabel + (o.logY ? ' (log)' : ''))}</text>`,
  );

  o.series.forEach((s, si) => {
    const color = s.color ?? PALETTE[si % PALETTE.length];
    // contiguous runs of plottable points
    const runs: SeriesPoint[][] = [];
    let cur: SeriesPoint[] = [];
    for (const p of s.points) {
      if (usableX(p.x) && usable(p.y)) cur.push(p);
      else if (cur.length) {
        runs.push(cur);
        cur = [];
      }
    }
    if (cur.length) runs.push(cur);
    for (const run of runs) {
      const band = run.filter((p) => usable(p.lo) && usable(p.hi));
      if (band.length === run.length && band.length > 1) {
        const pts = [...band.map((p) => `${f2(sx(p.x))},${f2(sy(p.hi!))}`), ...band.reverse().map((p) => `${f2(sx(p.x))},${f2(sy(p.lo!))}`)];
        parts.push(`<polygon points="${pts.join(' ')}" fill="${color}" fill-opacity="0.18" stroke="none"/>`);
      }
      if (run.length === 1) parts.push(`<circle cx="${f2(sx(run[0].x))}" cy="${f2(sy(run[0].y))}" r="2.5" fill="${color}"/>`);
      else parts.push(`<path d="${run.map((p, i) => `${i ? 'L' : 'M'}${f2(sx(p.x))} ${f2(sy(p.y))}`).join(' ')}" fill="none" stroke="${color}" stroke-width="1.5"/>`);
    }
    const ly = m.t + 10 + si * 16;
    const lx = m.l + pw + 12;
    parts.push(
      `<line x1="${lx}" y1="${ly}" x2="${lx + 18}" y2="${ly}" stroke="${color}" stroke-width="2.5"/>`,
      `<text x="${lx + 24}" y="${ly}" dy="0.35em">${escapeXml(s.name)}</text>`,
    );
  });
  parts.push('</svg>');
  return parts.join('\n');
}
