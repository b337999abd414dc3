// The conformance suite: checks any device — real firmware, the emulator, anything speaking
// protocol v1 — against firmware-spec/. One library function, used by `tngd conformance URL`
// and by test runners:
//
//     const report = await runConformance('emu:?seed=1');
//     report.ok; report.checks  // [{ id, title, status: 'pass' | 'fail' | 'skip', reason?, details? }]
import pino from 'pino';
import type { Logger } from 'pino';
import { connect } from '../connect.ts';
import type { ConnectOptions } from '../connect.ts';
import type { SpuDriver } from '../driver/driver.ts';
import { atomicChecks } from './checks/atomic.ts';
import { bulkChecks } from './checks/bulk.ts';
import { argumentChecks, errorQueueChecks } from './checks/errors.ts';
import { frameChecks } from './checks/frames.ts';
import { handshakeChecks } from './checks/handshake.ts';
import { hardwareChecks } from './checks/hardware.ts';
import { layeredChecks } from './checks/layered.ts';
import { numericsChecks } from './checks/numerics.ts';
import { runCounterChecks } from './checks/run-counter.ts';
import { runChecks } from './checks/runs.ts';
import { specRuleChecks } from './checks/spec-rules.ts';
import { stateChecks } from './checks/states.ts';
import { CheckContext } from './context.ts';
import type { CheckDef, CheckResult, ConformanceReport } from './types.ts';
import { CheckFailure } from './types.ts';

export type { CheckDef, CheckResult, CheckStatus, ConformanceReport } from './types.ts';
export { CheckFailure } from './types.ts';
export { formatReport } from './report.ts';
export { meanTolerance } from './checks/numerics.ts';

/** Every check, in the order they run. */
export const CHECKS: readonly CheckDef[] = [
  ...handshakeChecks,
  ...frameChecks,
  ...specRuleChecks,
  ...stateChecks,
  ...errorQueueChecks,
  ...argumentChecks,
  ...bulkChecks,
  ...atomicChecks,
  ...layeredChecks,
  ...runChecks,
  ...runCounterChecks,
  ...numericsChecks,
  ...hardwareChecks,
];

export type DriverFactory = () => Promise<SpuDriver>;

export interface ConformanceOptions {
  logger?: Logger;
  /** Run the hardware-only checks. Default: true when the environment variable TNGD_DEVICE is set. */
  hardware?: boolean;
  /** Only checks whose id equals or starts with one of these (e.g. 'bulk', 'state.RUNNING'). */
  only?: string[];
  /** Per-request timeout of the suite's driver. Default 3000 ms. */
  timeoutMs?: number;
  /** Budget per check. Default 120 s. */
  checkTimeoutMs?: number;
  /** Options for connect() when the target is a URL. */
  connect?: ConnectOptions;
  /** Called after each check (progress output). */
  onCheck?: (r: CheckResult) => void;
}

function selected(id: string, only?: string[]): boolean {
  return !only || only.length === 0 || only.some((p) => id === p || id.startsWith(p.endsWith('.') ? p : `${p}.`) || id.startsWith(p));
}

function withTimeout<T>(p: Promise<T>, ms: number, what: string): Promise<T> {
  let timer: NodeJS.Timeout;
  return Promise.race([
    p.finally(() => clearTimeout(timer)),
    new Promise<T>((_, reject) => {
      timer = setTimeout(() => reject(new CheckFailure(`${what} did not finish within ${ms} ms`)), ms);
    }),
  ]);
}

export async function runConformance(target: string | DriverFactory, opts: ConformanceOptions = {}): Promise<ConformanceReport> {
  const log = opts.logger ?? pino({ level: 'silent' });
  const hardware = opts.hardware ?? Boolean(process.env.TNGD_DEVICE);
  const label = typeof target === 'string' ? target.replace(/([?&]secret=)[^&#]*/gi, '$1***') : 'custom driver';
  const factory: DriverFactory =
    typeof target === 'string'
      ? () =>
          connect(target, {
            heartbeatIntervalMs: 0,
            retries: 1,
            timeoutMs: opts.timeoutMs ?? 3000,
            // A mismatch is reported by handshake.identity instead of preventing every check.
            fingerprint: 'warn',
            ...opts.connect,
            logger: opts.logger ?? opts.connect?.logger ?? log,
          })
      : target;
  const started = Date.now();
  const checks: CheckResult[] = [];
  const push = (r: CheckResult): void => {
    checks.push(r);
    opts.onCheck?.(r);
  };
  let dev: SpuDriver;
  try {
    dev = await factory();
  } catch (e) {
    push({ id: 'handshake.open', title: 'Open the link and complete the handshake', status: 'fail', reason: (e as Error).message, ms: Date.now() - started });
    return finish(label, undefined, started, checks);
  }
  const ctx = new CheckContext(dev, { hardware, log: log.child({ suite: 'conformance' }), reconnect: factory });
  try {
    for (const c of CHECKS) {
      if (!selected(c.id, opts.only)) continue;
      const t0 = Date.now();
      const why = c.skip?.(ctx) ?? null;
      if (why) {
        push({ id: c.id, title: c.title, status: 'skip', reason: why, ms: 0 });
        continue;
      }
      try {
        if (!ctx.dev.isOpen) ctx.dev = await factory();
        const details = await withTimeout(c.run(ctx), opts.checkTimeoutMs ?? 120_000, c.id);
        push({ id: c.id, title: c.title, status: 'pass', ...(details ? { details } : {}), ms: Date.now() - t0 });
      } catch (e) {
        const err = e as Error;
        const details = e instanceof CheckFailure ? e.details : undefined;
        push({ id: c.id, title: c.title, status: 'fail', reason: `${err.name === 'CheckFailure' ? '' : `${err.name}: `}${err.message}`, ...(details ? { details } : {}), ms: Date.now() - t0 });
        log.debug({ check: c.id, err: err.message }, 'check failed');
      }
    }
  } finally {
    await ctx.dev.close();
  }
  return finish(label, ctx.dev, started, checks);
}

function finish(target: string, dev: SpuDriver | undefined, started: number, checks: CheckResult[]): ConformanceReport {
  const summary = { pass: 0, fail: 0, skip: 0 };
  for (const c of checks) summary[c.status]++;
  const report: ConformanceReport = {
    target,
    startedAt: new Date(started).toISOString(),
    durationMs: Date.now() - started,
    checks,
    summary,
    ok: summary.fail === 0 && summary.pass > 0,
  };
  if (dev) {
    const i = dev.info;
    report.device = { ...i.identity, protocol: `${i.protocol.major}.${i.protocol.minor}`, features: [...i.capabilities.features] };
  }
  return report;
}
