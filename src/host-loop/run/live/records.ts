// The two files a run folder gains for the live page, beside config.json and metrics.jsonl:
//   device.json  who the device is (identity, versions, profile) and link-health snapshots
//   state.json   the last few sampled state traces of the SPU (a few cells' x(t), target, spread)
// Both are rewritten atomically and validated when read (a folder may come from anywhere).
import { existsSync, readFileSync } from 'node:fs';
import { z } from 'zod';

const finite = z.number().finite();
const count = z.number().int().min(0);

/** One look at the driver's counters, `tSeconds` after the run opened. */
export const LinkSampleSchema = z.object({
  tSeconds: finite.min(0),
  iter: count,
  bytesOut: count,
  bytesIn: count,
  framesOut: count,
  framesIn: count,
  retries: count,
  timeouts: count,
  lateReplies: count,
  reconnects: count,
  deviceErrors: count,
  badFrames: count,
  /** median round trip of the small requests (Heartbeat, else Status), ms; null before any */
  rttMs: finite.min(0).nullable(),
});
export type LinkSample = z.infer<typeof LinkSampleSchema>;

export const LatencySchema = z.object({ count, medianMs: finite, p90Ms: finite, maxMs: finite });

export const DeviceRecordSchema = z.object({
  version: z.literal(1),
  /** the device URL with any secret removed */
  link: z.string(),
  identity: z.object({ vendor: z.string(), model: z.string(), serial: z.string(), firmware: z.string() }),
  protocol: z.object({ major: count, minor: count }),
  schemaFingerprint: z.string(),
  sessionId: count,
  /** emulator profile named in the URL, 'default' for an emulator without one, null for hardware */
  profile: z.string().nullable(),
  capabilities: z.object({
    dacBits: count,
    adcBits: count,
    fullScale: finite,
    tauSeconds: finite,
    maxFrameBytes: count,
    linkBytesPerSecond: finite,
    features: z.array(z.string()),
  }),
  /** per-operation latency at the last snapshot */
  latency: z.record(z.string(), LatencySchema),
  /** link snapshots over the run (thinned to a bounded count) */
  linkSamples: z.array(LinkSampleSchema),
});
export type DeviceRecord = z.infer<typeof DeviceRecordSchema>;

export const StateTraceRecordSchema = z.object({
  /** iteration whose step ran (or, pipelined, started) the traced run */
  iter: count,
  runId: count,
  samplePeriodTau: finite.positive(),
  kappa0: finite.min(0),
  cells: z.array(count),
  tTau: z.array(finite),
  /** x[c][k]; null where a sample was lost on the link */
  x: z.array(z.array(finite.nullable())),
  target: z.array(finite).nullable(),
  sd: z.array(finite).nullable(),
  costSeconds: finite.min(0),
});
export type StateTraceRecord = z.infer<typeof StateTraceRecordSchema>;

export const StateRecordSchema = z.object({
  version: z.literal(1),
  /** traced runs so far (only the last few are kept in `traces`) */
  traced: count,
  /** seconds the traces cost in total: host work plus traced runs' device time above the usual (budget: 5% of the run) */
  costSeconds: finite.min(0),
  traces: z.array(StateTraceRecordSchema),
  /** why runs are not being traced, if they are not */
  note: z.string().nullable().default(null),
});
export type StateRecord = z.infer<typeof StateRecordSchema>;

export class RunFileError extends Error {
  constructor(
    readonly path: string,
    message: string,
  ) {
    super(`${path}: ${message}`);
    this.name = new.target.name;
  }
}

export const DEVICE_FILE = 'device.json';
export const STATE_FILE = 'state.json';

/** Reads and validates a JSON file; null when it does not exist, RunFileError when it is bad. */
export function readJsonFile<T>(path: string, schema: z.ZodType<T>): T | null {
  if (!existsSync(path)) return null;
  let raw: unknown;
  try {
    raw = JSON.parse(readFileSync(path, 'utf8'), (_k, v: unknown) => (v === 'NaN' ? null : v));
  } catch (e) {
    throw new RunFileError(path, `not JSON (${(e as Error).message})`);
  }
  const r = schema.safeParse(raw);
  if (!r.success) throw new RunFileError(path, r.error.issues.map((i) => `${i.path.join('.') || '(root)'}: ${i.message}`).join('; '));
  return r.data;
}
