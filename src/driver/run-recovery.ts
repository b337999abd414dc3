// One Run request carried to its reply, whatever the link does to it. A Run is never re-sent
// blindly: a lost reply and a lost request look alike, so after a timeout the host asks Status
// first (PROTOCOL.md §6) and tells the cases apart by the device's run id:
//   aborted        the device answered ABORTED (§7.6): partial results stay readable
//   reply-lost     READY with a new run id: the run completed; read its results
//   request-lost   READY with the old run id: the device never saw it; send it again
//   failed         anything else (disconnect, device error, no Status): the run fails
import type { Logger } from 'pino';
import { ErrorCode } from '../protocol/index.ts';
import type { EventMessage, ReplyBody, RequestBody } from '../protocol/index.ts';
import type { Channel } from './channel.ts';
import { DeviceError, TimeoutError } from './errors.ts';
import type { MetricsRecorder } from './metrics.ts';

/** The id of the device's last run as far as this host knows (moved by runs, Status and Results). */
export interface RunIdTracker {
  lastRunId: number;
}

export interface RunRecoveryContext {
  ch: Channel;
  log: Logger;
  metrics: MetricsRecorder;
  runIds: RunIdTracker;
  /** times a Run found lost before the device saw it is sent again */
  retries: number;
  /** the device keeps a run counter (an emulator at protocol ≥ 1.1): report it for aborted runs */
  counted: boolean;
}

export interface RunRequestOptions {
  /** wait for the reply this long, extended while the device reports RUNNING */
  timeoutMs: number;
  /** hard bound on the wall time of the run, ms */
  maxRunMs: number;
  onEvent: (ev: EventMessage) => void;
}

type Recovery =
  | { kind: 'aborted' }
  | { kind: 'reply-lost'; status: ReplyBody<'Status'> }
  | { kind: 'request-lost' }
  | { kind: 'failed' };

/** Sends Run and resolves with its reply (or the reply reconstructed after a recovery). */
export async function requestRun(ctx: RunRecoveryContext, body: RequestBody<'Run'>, o: RunRequestOptions): Promise<ReplyBody<'Run'>> {
  const { ch, log } = ctx;
  const t0 = performance.now();
  // The reply comes when the run ends; keep waiting while the device says it is running.
  const extend = async (): Promise<boolean> => {
    if (performance.now() - t0 > o.maxRunMs) return false;
    try {
      return (await ch.request('Status', {}, { retries: 1 })).state === 'RUNNING';
    } catch {
      return false;
    }
  };
  const before = ctx.runIds.lastRunId;
  for (let attempt = 0; ; attempt++) {
    try {
      const reply = await ch.request('Run', body, { timeoutMs: o.timeoutMs, onEvent: o.onEvent, extend });
      ctx.runIds.lastRunId = reply.runId;
      return reply;
    } catch (e) {
      const r = await recoveryOf(ctx, e, before, attempt);
      switch (r.kind) {
        case 'aborted': {
          log.info('run aborted');
          const reply: ReplyBody<'Run'> = { runId: 0, analogTimeTau: 0, sampleCount: 0, flags: ['aborted'] };
          // the aborted run used its index; no reply carried the counter
          if (ctx.counted) reply.runIndex = (await ch.request('Status', {}).catch(() => null))?.runIndex;
          return reply;
        }
        case 'reply-lost': {
          const s = r.status;
          log.warn({ runId: s.runId }, 'Run reply lost; the run completed, reading its results');
          ctx.runIds.lastRunId = s.runId;
          return { runId: s.runId, analogTimeTau: 0, sampleCount: 0, flags: [], ...(s.runIndex !== undefined ? { runIndex: s.runIndex } : {}) };
        }
        case 'request-lost':
          log.warn('Run request lost before the device saw it; sending it again');
          ctx.metrics.retries++;
          continue;
        case 'failed':
          throw e;
      }
    }
  }
}

async function recoveryOf(ctx: RunRecoveryContext, e: unknown, runIdBefore: number, attempt: number): Promise<Recovery> {
  if (e instanceof DeviceError && e.code === ErrorCode.ABORTED) return { kind: 'aborted' };
  if (!(e instanceof TimeoutError)) return { kind: 'failed' };
  const s = await ctx.ch.request('Status', {}).catch(() => null);
  if (!s || s.state !== 'READY') return { kind: 'failed' };
  if (s.runId !== runIdBefore) return { kind: 'reply-lost', status: s };
  return attempt < ctx.retries ? { kind: 'request-lost' } : { kind: 'failed' };
}
