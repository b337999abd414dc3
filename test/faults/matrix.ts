// The fault matrix: one TNGD-style workload (configure → factored curvature by bulk transfer →
// gradient → run → results) against the emulator through each fault, link-side (faultyLink:
// drop, corrupt, duplicate, delay, stall, disconnect) or device-side (firmware fault switches:
// reboot with stale bytes, silence, ignored requests, delayed or CRC-damaged replies, link drop
// mid-upload / mid-run). The "application" does what a host loop would: on DisconnectedError it
// calls reconnect({ restore: true }) and resumes; on a device error meaning lost state it calls
// restore(). Each row records what happened and whether the result is bit-identical to the
// fault-free run. Never acceptable: a wrong result, or no answer within the case's budget.
//
//   npx tsx test/faults/matrix.ts        prints the table (for the closing note)
import { pathToFileURL } from 'node:url';
import { DeviceError, DisconnectedError, DriverError, HandshakeError, SpuDriver, TimeoutError, duplexLink } from '../../src/driver/index.ts';
import type { DriverMetrics, RunResult } from '../../src/driver/index.ts';
import { createEmulatedDevice, createMessageLinkDevice, faultyLink } from '../../src/emulator/index.ts';
import type { DeviceFaults, FaultyLinkOptions } from '../../src/emulator/index.ts';
import { errorCodeName } from '../../src/protocol/index.ts';
import { bitEqual, configureOptions, factoredSystem } from '../driver/helpers.ts';

export interface FaultCase {
  id: string;
  fault: string;
  /** byte faults on the link (both directions unless toDevice/toHost say otherwise) */
  link?: Omit<FaultyLinkOptions, 'seed'>;
  /** firmware fault switches */
  device?: DeviceFaults;
  /** the fault goes away after the first link (cable re-plugged, board power-cycled) */
  transient?: boolean;
  /** over the in-process message link instead of bytes (device-side faults only) */
  messages?: boolean;
  /** what the test requires */
  expect: Outcome['outcome'][];
}

export interface Outcome {
  id: string;
  fault: string;
  outcome: 'recovered' | 'reconnect+restore' | 'restore' | 'typed error' | 'WRONG RESULT' | 'HANG';
  /** typed errors seen by the application, in order */
  errors: string[];
  bitIdentical: boolean | null;
  ms: number;
  retries: number;
  lateReplies: number;
  badFrames: number;
}

const SEED = 77;
const SYS = factoredSystem(200, 8, 11); // J: 12.8 kB → 4 bulk chunks at 4096-byte frames (DEVICE_FRAME)
const DEVICE_FRAME = { maxFrameBytes: 4096 };
const RUN = { durationTau: 3, start: 'reset' as const };
const BUDGET_MS = 8000;
const DRIVER = { timeoutMs: 150, retries: 4, heartbeatIntervalMs: 0, handshakeTimeoutMs: 300 };

export const CASES: FaultCase[] = [
  { id: 'none', fault: 'no fault (reference)', expect: ['recovered'] },
  { id: 'drop', fault: 'drop 2·10⁻⁴ of bytes, both ways', link: { dropRate: 2e-4 }, expect: ['recovered'] },
  { id: 'corrupt', fault: 'corrupt 2·10⁻⁴ of bytes, both ways', link: { corruptRate: 2e-4 }, expect: ['recovered'] },
  { id: 'duplicate', fault: 'duplicate 2·10⁻⁴ of bytes, both ways', link: { duplicateRate: 2e-4 }, expect: ['recovered'] },
  { id: 'mixed', fault: 'drop + corrupt + duplicate 10⁻⁴ each', link: { dropRate: 1e-4, corruptRate: 1e-4, duplicateRate: 1e-4 }, expect: ['recovered'] },
  { id: 'delay', fault: 'delay 30 ms each way (RTT 60 ms < 150 ms timeout)', link: { delayMs: 30 }, expect: ['recovered'] },
  { id: 'delay-long', fault: 'delay 100 ms each way (RTT 200 ms > 150 ms timeout)', link: { delayMs: 100 }, expect: ['typed error'] },
  { id: 'stall', fault: 'replies stall 400 ms after 3 kB (hiccup)', link: { toHost: { stallAfterBytes: 3000, stallMs: 400 } }, expect: ['recovered'] },
  { id: 'stall-forever', fault: 'replies stop after 3 kB (hung USB bridge); re-plugged', link: { toHost: { stallAfterBytes: 3000 } }, transient: true, expect: ['reconnect+restore'] },
  { id: 'cut-upload', fault: 'link cut after 6 kB host→device (mid-upload); re-plugged', link: { toDevice: { disconnectAfterBytes: 6000 } }, transient: true, expect: ['reconnect+restore'] },
  { id: 'drop-at-chunk', fault: 'device drops the link at bulk chunk 3', device: { dropLinkAtChunk: 3 }, transient: true, expect: ['reconnect+restore'] },
  { id: 'cut-run', fault: 'device drops the link 1.5τ into the run', device: { dropLinkAfterRunTau: 1.5 }, transient: true, expect: ['reconnect+restore'] },
  { id: 'reboot', fault: 'firmware reboots at request 8 (state lost, 64 stale bytes)', device: { rebootAfterRequests: 8, staleBytes: 64 }, expect: ['restore'] },
  { id: 'silent', fault: 'device silent after request 6', device: { silentAfterRequests: 6 }, expect: ['typed error'] },
  { id: 'ignore-run', fault: 'device never answers Run', device: { ignore: ['Run'] }, expect: ['typed error'] },
  { id: 'ignore-commit', fault: 'device never answers BulkCommit', device: { ignore: ['BulkCommit'] }, expect: ['typed error'] },
  { id: 'slow-replies', fault: 'every reply 400 ms late (> timeout)', device: { replyDelayMs: 400 }, expect: ['typed error'] },
  { id: 'bad-crc-replies', fault: 'every 4th reply with a damaged CRC', device: { corruptCrcEvery: 4 }, expect: ['recovered'] },
];

/**
 * The firmware fault switches again over the in-process message link: the same firmware meets
 * them there (a damaged CRC becomes a lost message), so the same outcomes are required.
 */
export const MESSAGE_LINK_CASES: FaultCase[] = CASES.filter((c) => c.device && !c.link).map((c) => ({
  ...c,
  id: `${c.id}@messages`,
  fault: `${c.fault} (message link)`,
  messages: true,
}));

function describeError(e: unknown): string {
  if (e instanceof DeviceError) return `DeviceError ${errorCodeName(e.code)} (${e.op})`;
  if (e instanceof DisconnectedError) return `DisconnectedError ${e.reason}`;
  if (e instanceof HandshakeError) return `HandshakeError ${e.reason}`;
  if (e instanceof DriverError) return `${e.name}${'op' in e ? ` (${String((e as { op: unknown }).op)})` : ''}`;
  return `UNTYPED ${(e as Error)?.name}: ${(e as Error)?.message}`;
}

/** Device errors that mean the device lost what the host had loaded (a reboot). */
function lostState(e: unknown): boolean {
  return e instanceof DeviceError && ['NOT_CONFIGURED', 'NO_SUCH_TRANSFER', 'NO_CURVATURE', 'NO_GRADIENT', 'TRANSFER_INCOMPLETE'].includes(e.codeName);
}

async function openDriver(c: FaultCase): Promise<SpuDriver> {
  let opens = 0;
  return SpuDriver.open(async () => {
    const faulty = opens++ === 0 || !c.transient;
    if (c.messages) {
      const md = createMessageLinkDevice({ seed: SEED, ...DEVICE_FRAME, ...(faulty && c.device ? { faults: c.device } : {}) });
      return { ...duplexLink(md, `fault:${c.id}`), messages: md.messages };
    }
    const dev = createEmulatedDevice({ seed: SEED, ...DEVICE_FRAME, ...(faulty && c.device ? { faults: c.device } : {}) });
    const wrapped = faulty && c.link ? faultyLink(dev, { ...c.link, seed: 1000 + opens }) : dev;
    return duplexLink(wrapped, `fault:${c.id}`);
  }, DRIVER);
}

/** The host loop: resumable steps, with the recovery a real application would do. */
async function workload(dev: SpuDriver, errors: string[]): Promise<{ res: RunResult; recovery: Outcome['outcome'] }> {
  const steps: (() => Promise<unknown>)[] = [
    () => dev.configure(configureOptions),
    () => dev.uploadCurvature({ form: 'factored', ...SYS }),
    () => dev.uploadGradient(SYS.g),
  ];
  let recovery: Outcome['outcome'] = 'recovered';
  let res: RunResult | null = null;
  let i = 0;
  for (let attempts = 0; res === null; ) {
    try {
      if (i < steps.length) {
        await steps[i]();
        i++;
      } else res = await dev.run(RUN).result;
    } catch (e) {
      errors.push(describeError(e));
      if (++attempts > 2) throw e;
      if (e instanceof DisconnectedError || e instanceof TimeoutError) {
        // link gone or hung: open it again and rebuild the device state
        await dev.reconnect({ restore: true });
        recovery = 'reconnect+restore';
      } else if (lostState(e)) {
        await dev.restore();
        recovery = 'restore';
      } else throw e;
    }
  }
  return { res, recovery };
}

export async function reference(): Promise<RunResult> {
  const dev = await openDriver({ id: 'reference', fault: '', expect: [] });
  try {
    return (await workload(dev, [])).res;
  } finally {
    await dev.close();
  }
}

export async function runCase(c: FaultCase, ref: RunResult): Promise<Outcome> {
  const t0 = performance.now();
  const errors: string[] = [];
  let dev: SpuDriver | null = null;
  let metrics: DriverMetrics | null = null;
  const attempt = (async (): Promise<Pick<Outcome, 'outcome' | 'bitIdentical'>> => {
    try {
      dev = await openDriver(c);
      const { res, recovery } = await workload(dev, errors);
      const same = bitEqual(res.mean, ref.mean) && bitEqual(res.final, ref.final);
      return { outcome: same ? recovery : 'WRONG RESULT', bitIdentical: same };
    } catch (e) {
      if (!errors.includes(describeError(e))) errors.push(describeError(e));
      return { outcome: errors.some((x) => x.startsWith('UNTYPED')) ? 'WRONG RESULT' : 'typed error', bitIdentical: null };
    } finally {
      metrics = (dev as SpuDriver | null)?.metrics() ?? null;
      await (dev as SpuDriver | null)?.close();
    }
  })();
  let timer: NodeJS.Timeout | undefined;
  const hang = new Promise<Pick<Outcome, 'outcome' | 'bitIdentical'>>((r) => (timer = setTimeout(() => r({ outcome: 'HANG', bitIdentical: null }), BUDGET_MS)));
  const o = await Promise.race([attempt, hang]);
  clearTimeout(timer);
  const m = metrics as DriverMetrics | null;
  return {
    id: c.id,
    fault: c.fault,
    ...o,
    errors,
    ms: Math.round(performance.now() - t0),
    retries: m?.retries ?? 0,
    lateReplies: m?.lateReplies ?? 0,
    badFrames: m ? Object.values(m.badFramesIn).reduce((a, b) => a + b, 0) : 0,
  };
}

/** Runs the cases, `concurrency` at a time (they mostly wait on timeouts, not the CPU). */
export async function runMatrix(cases: FaultCase[] = CASES, concurrency = 1): Promise<Outcome[]> {
  const ref = await reference();
  const out: Outcome[] = new Array(cases.length);
  let next = 0;
  const worker = async (): Promise<void> => {
    while (next < cases.length) {
      const k = next++;
      out[k] = await runCase(cases[k], ref);
    }
  };
  await Promise.all(Array.from({ length: Math.max(1, concurrency) }, worker));
  return out;
}

export function formatMatrix(rows: Outcome[]): string {
  const head = ['fault', 'outcome', 'result', 'typed errors seen by the application', 'retries', 'late', 'bad frames', 'ms'];
  const body = rows.map((r) => [
    r.fault,
    r.outcome,
    r.bitIdentical === null ? '—' : r.bitIdentical ? 'bit-identical' : 'DIFFERENT',
    r.errors.join('; ') || '—',
    String(r.retries),
    String(r.lateReplies),
    String(r.badFrames),
    String(r.ms),
  ]);
  const w = head.map((h, i) => Math.max(h.length, ...body.map((b) => b[i].length)));
  const line = (cells: string[]) => `| ${cells.map((c, i) => c.padEnd(w[i])).join(' | ')} |`;
  return [line(head), `|${w.map((x) => '-'.repeat(x + 2)).join('|')}|`, ...body.map(line)].join('\n');
}

if (process.argv[1] && import.meta.url === pathToFileURL(process.argv[1]).href) {
  const rows = await runMatrix();
  console.log(formatMatrix(rows));
}
