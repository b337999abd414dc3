// Study 4 — cost per iteration against the number of parameters N (the analogue of the paper's
// Fig. 2). Measured on this CPU: SGD / Adam (gradient only), NGD exact (dense Cholesky), NGD-CG
// and NGD-Woodbury, each as gradient + curvature factors + solve; the curvature in layered form
// (J per layer: inputs and sensitivities, never the r × N Jacobian) and, up to --explicit-max,
// explicit (r × N J) for comparison. TNGD is projected for hardware from the measured host part
// (gradient, layered factors, PSD core, upload encoding, SGD update) plus the device model stated
// in lib/device-model.ts (upload of the layered factors at the link rate + t·τ + readout); the
// explicit projection (J on the host, the paper's upload model) is kept alongside.
import { createModel } from '../src/host-loop/models/model.ts';
import { makeBatchOracle } from '../src/host-loop/batch-oracle.ts';
import { createOptimizer } from '../src/host-loop/optimizers/index.ts';
import { loadDataset } from '../src/host-loop/data/load.ts';
import { lineChartSvg, formatTable, formatNumber } from '../src/host-loop/run/index.ts';
import type { Series } from '../src/host-loop/run/index.ts';
import { numberList, parseStudyArgs, positiveInt, positiveNumber, runIfMain, studyCommand } from './lib/cli.ts';
import { StudyOutput, median, timed } from './lib/output.ts';
import { PAPER_DEVICE, projectTngdDevice, projectTngdDeviceUpload, type DeviceModel, type TngdProjection } from './lib/device-model.ts';
import { connect } from '../src/connect.ts';
import { gitProvenance } from './lib/provenance.ts';
import { prepareLayered } from '../src/driver/layered.ts';
import { prepareVector } from '../src/driver/uploads.ts';
import type { Capabilities } from '../src/protocol/index.ts';
import { layeredUpload } from '../src/host-loop/optimizers/tngd-fold.ts';
import { FactorWorkspace } from '../src/host-loop/curvature/factors.ts';

/** Least-squares slope of log t against log N (the empirical scaling exponent). */
export function logLogSlope(ns: number[], ts: number[]): number {
  const pts = ns.map((n, i) => [Math.log(n), Math.log(ts[i])]).filter(([, y]) => Number.isFinite(y));
  if (pts.length < 2) return NaN;
  const mx = pts.reduce((a, p) => a + p[0], 0) / pts.length;
  const my = pts.reduce((a, p) => a + p[1], 0) / pts.length;
  let sxy = 0;
  let sxx = 0;
  for (const [x, y] of pts) {
    sxy += (x - mx) * (y - my);
    sxx += (x - mx) ** 2;
  }
  return sxy / sxx;
}

const METHODS = ['sgd', 'adam', 'ngd-exact', 'ngd-cg', 'ngd-woodbury', 'ngd-cg-explicit', 'ngd-woodbury-explicit'] as const;
type Method = (typeof METHODS)[number];
const EXPLICIT: readonly Method[] = ['ngd-cg-explicit', 'ngd-woodbury-explicit'];

interface SizeRow {
  hidden: number;
  model: string;
  n: number;
  r: number;
  /** median seconds: loss + gradient */
  gradSeconds: number;
  /** median seconds: GGN factors J (r × N) and H */
  factorSeconds: number;
  /** median seconds: layered GGN factors (per layer A, D) and H */
  layeredFactorSeconds: number;
  /** median seconds: TNGD's digital part, layered: gradient + factors + PSD core + upload encoding */
  tngdHostSeconds: number;
  /** numbers the layered upload carries (curvature + gradient), as the driver encodes them */
  wireNumbersLayered: number;
  /** numbers the explicit upload carries (r·N + r·d_z + N) */
  wireNumbersExplicit: number;
  /** median seconds of the optimizer step alone (direction + update), per method; null = skipped */
  stepSeconds: Record<Method, number | null>;
  /** per-iteration totals: gradient (+ factors for NGD) + step */
  iterSeconds: Record<Method | 'tngd-projected' | 'tngd-projected-explicit', number | null>;
  cgMatvecs: number | null;
  /** device part, layered upload */
  tngd: TngdProjection;
  /** device part, the paper's upload model (J, H, Jᵀ and g) */
  tngdExplicit: TngdProjection;
}

export async function main(argv: string[]): Promise<{ out: StudyOutput; rows: SizeRow[] }> {
  const cmd = studyCommand('cost', 'runtime per iteration against N: NGD exact/CG/Woodbury measured, TNGD projected', 1)
    .option('--hidden <list>', 'hidden widths H of mlp:196-H-10 (N = 207·H + 10)', numberList('--hidden', true))
    .option('--batch <b>', 'batch size b', positiveInt('--batch', 4096), 32)
    .option('--reps <n>', 'timed repetitions per case (median; one extra warm-up)', positiveInt('--reps', 100))
    .option('--exact-max <n>', 'largest N for NGD exact (dense N×N Cholesky)', positiveInt('--exact-max', 8192))
    .option('--explicit-max <n>', 'largest N for NGD-CG and NGD-Woodbury on the explicit r × N J (comparison)', positiveInt('--explicit-max', 1_000_000))
    .option('--damping <λ>', 'damping λ', positiveNumber('--damping'), 0.01)
    .option('--cg-tol <tol>', 'NGD-CG relative residual tolerance', positiveNumber('--cg-tol'), 1e-4)
    .option('--cg-max-iter <n>', 'NGD-CG iteration cap', positiveInt('--cg-max-iter', 10000), 100)
    .option('--t-tau <t>', 'TNGD analog time per iteration, in τ', positiveNumber('--t-tau'), 50)
    .option('--device <url>', 'device whose advertised τ, DAC/ADC bits and link rate feed the projection', 'emu:?profile=prototype')
    .option('--tau-seconds <s>', 'override the device τ = RC', positiveNumber('--tau-seconds'))
    .option('--bits <b>', 'override the DAC/ADC word size (default: the device, else 16)', positiveInt('--bits', 64))
    .option('--link-gbps <g>', 'override the link rate in Gb/s (default: the device, else the paper’s 50)', positiveNumber('--link-gbps'));
  const o = parseStudyArgs<{
    hidden?: number[];
    batch: number;
    reps?: number;
    exactMax?: number;
    explicitMax?: number;
    damping: number;
    cgTol: number;
    cgMaxIter: number;
    tTau: number;
    device: string;
    tauSeconds?: number;
    bits?: number;
    linkGbps?: number;
  }>(cmd, argv);
  const hidden = o.hidden ?? (o.quick ? [2, 4, 8] : [2, 4, 8, 16, 32, 64, 128, 256]);
  const reps = o.reps ?? (o.quick ? 1 : 5);
  const exactMax = o.exactMax ?? (o.quick ? 900 : 3400);
  const explicitMax = o.explicitMax ?? (o.quick ? 900 : 14000);
  // What the device advertises (Hello capabilities); 0 means "not stated" for bits and link rate.
  const drv = await connect(o.device);
  const caps = drv.capabilities;
  await drv.close();
  // encode as for a device taking the layered form and sized for every N here (the upload such a
  // device gets; only the encoding is timed, nothing is sent)
  const layeredCaps: Capabilities = {
    ...caps,
    maxCells: Math.max(caps.maxCells, 1 << 24),
    maxRank: Math.max(caps.maxRank, 1 << 16),
    features: [...new Set([...caps.features, 'layered-curvature'])] as Capabilities['features'],
  };
  const advertised = { tauSeconds: caps.tauSeconds, dacBits: caps.dacBits, adcBits: caps.adcBits, linkBytesPerSecond: caps.linkBytesPerSecond };
  const deviceBits = Math.max(caps.dacBits, caps.adcBits);
  const device: DeviceModel = {
    tauSeconds: o.tauSeconds ?? caps.tauSeconds,
    analogTimeTau: o.tTau,
    bits: o.bits ?? (deviceBits > 0 ? deviceBits : 16),
    linkBytesPerSecond: o.linkGbps !== undefined ? (o.linkGbps * 1e9) / 8 : caps.linkBytesPerSecond > 0 ? caps.linkBytesPerSecond : PAPER_DEVICE.linkBytesPerSecond,
  };
  const out = new StudyOutput('cost', o.out, argv, { ...o, hidden, reps, exactMax, explicitMax, advertised, device, provenance: gitProvenance() });

  const { train } = loadDataset();
  const b = o.batch;
  if (b > train.n) throw new RangeError(`--batch ${b} exceeds the ${train.n} training samples`);
  const X = train.x.subarray(0, b * train.d);
  const y = train.y.subarray(0, b);
  const rows: SizeRow[] = [];

  // The first width is measured twice and its first pass discarded: JIT warm-up of every path.
  for (const [pass, h] of [[0, hidden[0]] as const, ...hidden.map((w) => [1, w] as const)]) {
    const model = createModel(`mlp:${train.d}-${h}-${train.classes}`);
    const n = model.numParams;
    const params = model.init(1);
    const dz = model.outputDim;
    const times = async (fn: () => unknown): Promise<number> => (await timesTogether([fn], reps))[0];
    // the cheap parts are timed in turn, one of each per round, so that load on a shared machine
    // hits the digital part and the Adam baseline alike (their ratio is what the table reports)
    const timesTogether = async (fns: (() => unknown)[], rounds: number): Promise<number[]> => {
      for (const fn of fns) await fn(); // warm-up (JIT, buffers)
      const t: number[][] = fns.map(() => []);
      for (let i = 0; i < rounds; i++) for (let j = 0; j < fns.length; j++) t[j].push((await timed(fns[j])).seconds);
      return t.map(median);
    };
    // factor buffers reused across iterations, as the training loop does
    const ws = new FactorWorkspace();
    const foldPool = new FactorWorkspace();
    let wireNumbersLayered = 0;
    const tngdHost = (): void => {
      const ob = makeBatchOracle(model, params, X, y, b, 'ce', ws);
      // as TNGD uploads them (core folded into D)
      const f = layeredUpload(ob, 'ggn', 'auto', foldPool);
      if (!('layers' in f)) throw new Error('internal: the layered factors of an MLP fold per layer');
      const cu = prepareLayered({ form: 'layered', ...f, lambda: o.damping }, layeredCaps, 'f64');
      const gu = prepareVector('Gradient', ob.grad, n, layeredCaps, 'f64');
      wireNumbersLayered = [...cu.slots, ...gu.slots].reduce((a, sl) => a + sl.tensor.shape.reduce((p, q) => p * q, 1), 0);
    };
    const oracle = makeBatchOracle(model, params, X, y, b, 'ce');
    const sgd = createOptimizer('sgd', { lr: 0.1, momentum: 0.9 });
    const adam = createOptimizer('adam', { lr: 1e-3 });
    const [gradSeconds, factorSeconds, layeredFactorSeconds, tngdHostSeconds, sgdStep, adamStep] = await timesTogether([
      () => makeBatchOracle(model, params, X, y, b, 'ce', ws),
      () => makeBatchOracle(model, params, X, y, b, 'ce', ws).curvature('ggn'),
      () => makeBatchOracle(model, params, X, y, b, 'ce', ws).layered!('ggn'),
      tngdHost,
      () => sgd.step(params.slice(), oracle),
      () => adam.step(params.slice(), oracle),
    ], 3 * reps); // cheap: more rounds against load spikes
    const lf = oracle.layered!('ggn');
    const r = lf.r;
    const wireNumbersExplicit = r * n + r * dz + n;
    const stepSeconds = { sgd: sgdStep, adam: adamStep } as Record<Method, number | null>;
    let cgMatvecs: number | null = null;
    for (const m of METHODS) {
      if (m === 'sgd' || m === 'adam') continue;
      if ((m === 'ngd-exact' && n > exactMax) || (EXPLICIT.includes(m) && n > explicitMax)) {
        stepSeconds[m] = null;
        continue;
      }
      const name = m.replace('-explicit', '');
      const opts: Record<string, unknown> = { lr: 0.1, damping: o.damping };
      if (m === 'ngd-exact') opts.maxParams = Math.max(n, 1);
      if (name === 'ngd-cg') Object.assign(opts, { tol: o.cgTol, maxIter: o.cgMaxIter });
      if (name === 'ngd-cg' || name === 'ngd-woodbury') opts.curvatureForm = EXPLICIT.includes(m) ? 'explicit' : 'layered';
      const opt = createOptimizer(name, opts);
      stepSeconds[m] = await times(async () => {
        const s = await opt.step(params.slice(), oracle);
        if (m === 'ngd-cg') cgMatvecs = s.matvecs ?? null;
      });
    }
    const tngd = projectTngdDeviceUpload(wireNumbersLayered, n, device);
    const tngdExplicit = projectTngdDevice(n, b, dz, device);
    const plus = (v: number | null, extra: number): number | null => (v === null ? null : v + extra);
    const iterSeconds: SizeRow['iterSeconds'] = {
      sgd: plus(stepSeconds.sgd, gradSeconds),
      adam: plus(stepSeconds.adam, gradSeconds),
      'ngd-exact': plus(stepSeconds['ngd-exact'], gradSeconds + factorSeconds),
      'ngd-cg': plus(stepSeconds['ngd-cg'], gradSeconds + layeredFactorSeconds),
      'ngd-woodbury': plus(stepSeconds['ngd-woodbury'], gradSeconds + layeredFactorSeconds),
      'ngd-cg-explicit': plus(stepSeconds['ngd-cg-explicit'], gradSeconds + factorSeconds),
      'ngd-woodbury-explicit': plus(stepSeconds['ngd-woodbury-explicit'], gradSeconds + factorSeconds),
      // host: gradient + layered factors (core folded into D) + encoding + the SGD update of the readout
      'tngd-projected': tngdHostSeconds + (stepSeconds.sgd ?? 0) + tngd.deviceSeconds,
      // as before the layered form: J and H on the host, the paper's upload model
      'tngd-projected-explicit': gradSeconds + factorSeconds + (stepSeconds.sgd ?? 0) + tngdExplicit.deviceSeconds,
    };
    const row: SizeRow = {
      hidden: h,
      model: model.name,
      n,
      r,
      gradSeconds,
      factorSeconds,
      layeredFactorSeconds,
      tngdHostSeconds,
      wireNumbersLayered,
      wireNumbersExplicit,
      stepSeconds,
      iterSeconds,
      cgMatvecs,
      tngd,
      tngdExplicit,
    };
    if (pass === 0) continue;
    rows.push(row);
    console.log(
      `[cost] N=${n} r=${r}: ` +
        Object.entries(iterSeconds)
          .map(([k, v]) => `${k} ${v === null ? '—' : formatNumber(v * 1e3, 3) + ' ms'}`)
          .join(', '),
    );
  }

  const keys = [...METHODS, 'tngd-projected', 'tngd-projected-explicit'] as const;
  const slopes: Record<string, number> = {};
  for (const k of keys) {
    const pts = rows.filter((r) => r.iterSeconds[k] !== null);
    slopes[k] = logLogSlope(pts.map((r) => r.n), pts.map((r) => r.iterSeconds[k]!));
  }
  const solveSlopes: Record<string, number> = {};
  for (const k of ['ngd-exact', 'ngd-cg', 'ngd-woodbury', 'ngd-cg-explicit', 'ngd-woodbury-explicit'] as const) {
    const pts = rows.filter((r) => r.stepSeconds[k] !== null);
    solveSlopes[k] = logLogSlope(pts.map((r) => r.n), pts.map((r) => r.stepSeconds[k]!));
  }
  const largest = rows[rows.length - 1];
  const ratios = {
    n: largest.n,
    tngdOverAdam: largest.iterSeconds['tngd-projected']! / largest.iterSeconds.adam!,
    woodburyOverTngd: largest.iterSeconds['ngd-woodbury']! / largest.iterSeconds['tngd-projected']!,
    cgOverTngd: largest.iterSeconds['ngd-cg']! / largest.iterSeconds['tngd-projected']!,
    /** device part alone against the Woodbury solve alone */
    woodburySolveOverTngdDevice: largest.stepSeconds['ngd-woodbury']! / largest.tngd.deviceSeconds,
    /** TNGD's measured digital part (layered) against an Adam iteration */
    tngdHostOverAdam: largest.tngdHostSeconds / largest.iterSeconds.adam!,
    wireExplicitOverLayered: largest.wireNumbersExplicit / largest.wireNumbersLayered,
  };
  out.json('results.json', { model: 'mlp:196-H-10 (ReLU), GGN of softmax cross-entropy', batch: b, dz: 10, deviceUrl: o.device, advertised, device, rows, slopes, solveSlopes, ratios });
  const csvKeys = ['n', 'r', 'gradSeconds', 'factorSeconds', 'layeredFactorSeconds', 'tngdHostSeconds', 'wireNumbersExplicit', 'wireNumbersLayered'] as const;
  out.text(
    'per-size.csv',
    [
      [...csvKeys, ...keys.map((k) => `${k}_iterSeconds`), 'tngd_deviceSeconds', 'tngd_explicit_deviceSeconds', 'cgMatvecs'].join(','),
      ...rows.map((r) =>
        [...csvKeys.map((k) => r[k]), ...keys.map((k) => r.iterSeconds[k] ?? ''), r.tngd.deviceSeconds, r.tngdExplicit.deviceSeconds, r.cgMatvecs ?? ''].join(','),
      ),
    ].join('\n'),
  );

  const label = (k: string): string => (k === 'tngd-projected' ? 'TNGD (projected, layered)' : k === 'tngd-projected-explicit' ? 'TNGD (projected, explicit J)' : k);
  const series: Series[] = keys.map((k) => ({
    name: label(k),
    points: rows.filter((r) => r.iterSeconds[k] !== null).map((r) => ({ x: Math.log10(r.n), y: r.iterSeconds[k]! })),
  }));
  out.svg(
    'cost-per-iteration.svg',
    lineChartSvg({
      title: `Seconds per iteration against N (b = ${b}, d_z = 10)`,
      xLabel: 'log10 N (parameters)',
      yLabel: 'seconds per iteration',
      series,
      logY: true,
    }),
  );
  const parts: Series[] = [
    { name: 'host: gradient', points: rows.map((r) => ({ x: Math.log10(r.n), y: r.gradSeconds })) },
    { name: 'host: layered factors + encoding', points: rows.map((r) => ({ x: Math.log10(r.n), y: Math.max(r.tngdHostSeconds - r.gradSeconds, 1e-9) })) },
    { name: 'host: explicit J, H (before)', points: rows.map((r) => ({ x: Math.log10(r.n), y: r.factorSeconds })) },
    { name: 'device: upload', points: rows.map((r) => ({ x: Math.log10(r.n), y: r.tngd.uploadSeconds })) },
    { name: `device: analog ${o.tTau}τ`, points: rows.map((r) => ({ x: Math.log10(r.n), y: r.tngd.analogSeconds })) },
    { name: 'device: readout', points: rows.map((r) => ({ x: Math.log10(r.n), y: r.tngd.readoutSeconds })) },
  ];
  out.svg(
    'tngd-breakdown.svg',
    lineChartSvg({ title: 'Projected TNGD iteration (layered upload), by part', xLabel: 'log10 N (parameters)', yLabel: 'seconds', series: parts, logY: true }),
  );

  const ms = (v: number | null): string => (v === null ? '—' : formatNumber(v * 1e3, 3));
  const table = formatTable(
    ['N', 'r', 'grad ms', 'J,H ms', 'layered ms', 'TNGD host ms', 'wire ×', ...keys.map((k) => `${label(k)} ms`), 'CG matvecs'],
    rows.map((r) => [
      String(r.n),
      String(r.r),
      ms(r.gradSeconds),
      ms(r.factorSeconds),
      ms(r.layeredFactorSeconds),
      ms(r.tngdHostSeconds),
      formatNumber(r.wireNumbersExplicit / r.wireNumbersLayered, 3),
      ...keys.map((k) => ms(r.iterSeconds[k])),
      String(r.cgMatvecs ?? '—'),
    ]),
  );
  const slopeLine = keys.map((k) => `${label(k)} ${formatNumber(slopes[k], 3)}`).join(', ');
  out.text(
    'summary.md',
    [
      `# Cost per iteration (median of ${reps} after a warm-up; gradient, factors, TNGD host part, SGD and Adam steps: median of ${3 * reps} rounds, timed in turn)`,
      '',
      '```',
      table,
      '```',
      '',
      `log-log slope of seconds/iteration against N: ${slopeLine}`,
      `log-log slope of the solve alone: ${Object.entries(solveSlopes).map(([k, v]) => `${k} ${formatNumber(v, 3)}`).join(', ')}`,
      `at N = ${ratios.n}: TNGD/Adam ${formatNumber(ratios.tngdOverAdam, 3)} (digital part alone ${formatNumber(ratios.tngdHostOverAdam, 3)}), Woodbury/TNGD ${formatNumber(ratios.woodburyOverTngd, 3)}, CG/TNGD ${formatNumber(ratios.cgOverTngd, 3)}, wire numbers explicit/layered ${formatNumber(ratios.wireExplicitOverLayered, 3)}`,
      `device model: τ = ${device.tauSeconds} s, t = ${device.analogTimeTau}τ, ${device.bits}-bit words, link ${formatNumber((device.linkBytesPerSecond * 8) / 1e9, 3)} Gb/s ` +
        `(advertised by ${o.device}: τ = ${advertised.tauSeconds} s, DAC ${advertised.dacBits} / ADC ${advertised.adcBits} bits, link ${advertised.linkBytesPerSecond || 'not stated'} B/s)`,
    ].join('\n'),
  );
  console.log(table);
  out.finish();
  return { out, rows };
}

runIfMain(import.meta.url, main);
