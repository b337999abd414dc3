// The training side of the live page: a RunObserver that writes what metrics.jsonl does not hold
// into each run folder (device.json: identity and link-health snapshots; state.json: the last
// few sampled state traces) and rewrites the self-contained report every few seconds, so a run
// can be watched through `tngd serve`, the --serve server, or by reloading report.html.
import { mkdirSync } from 'node:fs';
import { join } from 'node:path';
import type { SpuDriver } from '../../../driver/driver.ts';
import { parseLinkUrl } from '../../../driver/transports/link-url.ts';
import { activeCells, type StateTrace, type StateTraceSink } from '../../optimizers/tngd-trace.ts';
import { writeFileAtomic } from '../atomic.ts';
import type { IterationMetrics } from '../metrics.ts';
import type { RunObserver, RunOpening, RunWatch } from '../observer.ts';
import { buildLivePage, snapshotOfFolders } from './page.ts';
import { DEVICE_FILE, STATE_FILE, type DeviceRecord, type LinkSample, type StateRecord, type StateTraceRecord } from './records.ts';

export interface LiveRecorderOptions {
  /** folder whose report.html is rewritten while runs go on (the run folder, or a comparison's) */
  root: string;
  title: string;
  notes?: string[];
  /** ms between report rewrites; default 5000; 0 = none */
  reportEveryMs?: number;
  /** ms between link snapshots in device.json; default 1000 */
  linkEveryMs?: number;
  /** at most this share of wall time goes to state traces; default 0.05 */
  traceShare?: number;
  /** at least this many ms between traced runs; default 2000 */
  traceEveryMs?: number;
  /** traces kept in state.json; default 6 */
  keepTraces?: number;
  /**
   * Trace runs even where streaming changes their noise draws (exact integrator, κ₀ > 0): the
   * training is then statistically the same but not bit-identical to one without traces.
   * Default false: such runs are not traced and state.json says why.
   */
  traceAnyRun?: boolean;
  /** cells traced, chosen at the first traced run from its gradient; default the four largest |gᵢ| */
  cells?: (g: Float64Array) => number[];
}

/** Link snapshots kept per run: older ones are thinned, so device.json stays small on long runs. */
const MAX_LINK_SAMPLES = 600;

export function deviceRecordOf(driver: SpuDriver, url: string, label: string): DeviceRecord {
  const info = driver.info;
  const c = info.capabilities;
  let profile: string | null = null;
  try {
    const spec = parseLinkUrl(url);
    if (spec.kind === 'emu') profile = spec.params.profile ?? 'default';
  } catch {
    profile = null;
  }
  if (profile === null && c.features.includes('emulator')) profile = 'emulator (remote)';
  return {
    version: 1,
    link: label,
    identity: { ...info.identity },
    protocol: { ...info.protocol },
    schemaFingerprint: info.schemaFingerprint,
    sessionId: info.sessionId,
    profile,
    capabilities: {
      dacBits: c.dacBits,
      adcBits: c.adcBits,
      fullScale: c.fullScale,
      tauSeconds: c.tauSeconds,
      maxFrameBytes: c.maxFrameBytes,
      linkBytesPerSecond: c.linkBytesPerSecond,
      features: [...c.features],
    },
    latency: {},
    linkSamples: [],
  };
}

export function linkSampleOf(driver: SpuDriver, tSeconds: number, iter: number): { sample: LinkSample; latency: DeviceRecord['latency'] } {
  const m = driver.metrics();
  const small = m.latency.Heartbeat ?? m.latency.Status;
  const latency: DeviceRecord['latency'] = {};
  for (const [op, l] of Object.entries(m.latency)) latency[op] = { count: l.count, medianMs: l.medianMs, p90Ms: l.p90Ms, maxMs: l.maxMs };
  return {
    sample: {
      tSeconds,
      iter,
      bytesOut: m.bytesOut,
      bytesIn: m.bytesIn,
      framesOut: m.framesOut,
      framesIn: m.framesIn,
      retries: m.retries,
      timeouts: m.timeouts,
      lateReplies: m.lateReplies,
      reconnects: m.reconnects,
      deviceErrors: m.deviceErrors,
      badFrames: Object.values(m.badFramesIn).reduce((a, b) => a + b, 0),
      rttMs: small && small.count > 0 ? small.medianMs : null,
    },
    latency,
  };
}

export class LiveRecorder implements RunObserver {
  private lastReportMs = 0;

  constructor(private readonly o: LiveRecorderOptions) {}

  /** Rewrites <root>/report.html from the folders as they are now (atomic: a reader never sees half). */
  writeReport(): string {
    const path = join(this.o.root, 'report.html');
    const snapshot = snapshotOfFolders([this.o.root], this.o.title, this.o.notes ?? []);
    mkdirSync(this.o.root, { recursive: true });
    writeFileAtomic(path, Buffer.from(buildLivePage({ mode: 'static', title: this.o.title, snapshot })));
    this.lastReportMs = performance.now();
    return path;
  }

  openRun(run: RunOpening): RunWatch {
    mkdirSync(run.out, { recursive: true });
    const o = this.o;
    const t0 = performance.now();
    const now = (): number => performance.now();
    let iter = 0;
    let device: DeviceRecord | null = null;
    let lastLinkMs = -Infinity;
    const writeDevice = (): void => {
      if (!device || !run.device) return;
      const { sample, latency } = linkSampleOf(run.device.driver, (now() - t0) / 1e3, iter);
      device.latency = latency;
      device.linkSamples.push(sample);
      if (device.linkSamples.length > MAX_LINK_SAMPLES) device.linkSamples = device.linkSamples.filter((_, i) => i % 2 === 0 || i === device!.linkSamples.length - 1);
      writeFileAtomic(join(run.out, DEVICE_FILE), Buffer.from(JSON.stringify(device) + '\n'));
      lastLinkMs = now();
    };
    if (run.device) {
      device = deviceRecordOf(run.device.driver, run.device.url, run.device.label);
      writeDevice();
    }

    // ---- state traces: a time budget keeps them off the training's critical path ----
    const share = o.traceShare ?? 0.05;
    const every = o.traceEveryMs ?? 2000;
    const state: StateRecord = { version: 1, traced: 0, costSeconds: 0, traces: [], note: null };
    const NOT_NEUTRAL =
      'not sampled: with the exact integrator and κ₀ > 0, streaming samples changes the noise draws (EMULATOR.md §9.4) and so the training; ' +
      'use --integrator euler, or --sample-state to sample anyway (statistically equivalent, not bit-identical)';
    let lastTraceMs = -Infinity;
    let lastCostMs = 0;
    let tracedIter = 0;
    let chosen: number[] | undefined;
    // Streaming also costs the device side (and, in process, the emulator's encoding): charge a
    // traced iteration's device seconds above the usual (mean of untraced ones) to the budget too.
    let usualDevice = NaN;
    let untraced = 0;
    const traces: StateTraceSink = {
      wantRun: (neutral) => {
        if (!neutral && !o.traceAnyRun) {
          if (state.note === null) {
            state.note = NOT_NEUTRAL;
            writeFileAtomic(join(run.out, STATE_FILE), Buffer.from(JSON.stringify(state) + '\n'));
          }
          return false;
        }
        const t = now();
        if (t - lastTraceMs < Math.max(every, lastCostMs / share)) return false;
        lastTraceMs = t;
        tracedIter = iter + 1;
        return true;
      },
      cellsFor: (g) => (chosen ??= (o.cells ?? activeCells)(g)),
      record: (tr: StateTrace) => {
        lastCostMs = tr.costSeconds * 1e3;
        const rec: StateTraceRecord = { iter: tracedIter, ...tr, x: tr.x.map((col) => col.map((v) => (Number.isFinite(v) ? v : null))) };
        state.traced++;
        state.costSeconds += tr.costSeconds;
        state.traces = [...state.traces, rec].slice(-(o.keepTraces ?? 6));
        writeFileAtomic(join(run.out, STATE_FILE), Buffer.from(JSON.stringify(state) + '\n'));
      },
    };

    // a fresh start in a reused folder: no traces of an earlier run
    if (run.device) writeFileAtomic(join(run.out, STATE_FILE), Buffer.from(JSON.stringify(state) + '\n'));

    let closed = false;
    const reportEvery = o.reportEveryMs ?? 5000;
    return {
      traces: run.device ? traces : undefined,
      iteration: (rec: IterationMetrics) => {
        iter = rec.iter;
        const dev = typeof rec.deviceSeconds === 'number' ? rec.deviceSeconds : NaN;
        if (rec.iter === tracedIter) {
          const extra = Number.isFinite(usualDevice) && Number.isFinite(dev) ? Math.max(0, dev - usualDevice) : 0;
          lastCostMs += extra * 1e3;
          state.costSeconds += extra;
        } else if (Number.isFinite(dev)) {
          untraced++;
          usualDevice = untraced === 1 ? dev : usualDevice + (dev - usualDevice) / Math.min(untraced, 20);
        }
        if (device && now() - lastLinkMs >= (o.linkEveryMs ?? 1000)) writeDevice();
        if (reportEvery > 0 && now() - this.lastReportMs >= reportEvery) this.writeReport();
      },
      close: () => {
        if (closed) return;
        closed = true;
        writeDevice();
        if (run.device) writeFileAtomic(join(run.out, STATE_FILE), Buffer.from(JSON.stringify(state) + '\n'));
      },
    };
  }
}
