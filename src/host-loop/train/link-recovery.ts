// Link loss mid-run, for the training loop: bounded reconnects with backoff around one optimizer
// step, and the internal error that tells the loop to stop with a checkpoint.
import type { BatchOracle, Optimizer, StepStats } from '../types.ts';
import type { RunDevice } from './device.ts';

export interface ReconnectPolicy {
  /** attempts per lost link before the run stops with a checkpoint (0: stop at once) */
  attempts?: number;
  /** wait before the first attempt; doubles per attempt */
  initialDelayMs?: number;
  maxDelayMs?: number;
}

/** A step lost with the link and not recovered (internal: becomes a LinkLostError). */
export class LinkDown extends Error {
  constructor(
    readonly lost: unknown,
    readonly reason: string,
  ) {
    super(reason, { cause: lost });
  }
}

/** The command that continues a run in `out`, quoted for a POSIX shell when needed. */
export function resumeCommandFor(out: string): string {
  const q = /^[\w@%+=:,./-]+$/.test(out) ? out : `'${out.replace(/'/g, `'\\''`)}'`;
  return `tngd train --resume ${q}`;
}

export interface RecoveringStepDeps {
  optimizer: Optimizer;
  params: Float64Array;
  device: RunDevice | null;
  pipelined: boolean;
  policy?: ReconnectPolicy;
  log: (line: string) => void;
}

/** optimizer.step with link-loss recovery; throws LinkDown when the link stays down. */
export function recoveringStep(d: RecoveringStepDeps): (iter: number, batch: BatchOracle) => Promise<StepStats> {
  const { optimizer, params, device, pipelined, log } = d;
  const policy = { attempts: d.policy?.attempts ?? 5, initialDelayMs: d.policy?.initialDelayMs ?? 250, maxDelayMs: d.policy?.maxDelayMs ?? 4000 };
  // Link loss mid-step: reconnect (bounded backoff) and repeat the step, which then computes the
  // same bits: the step changed nothing before failing, and the driver's restore puts back the
  // device state and run counter of the last completed step. A pipelined run in flight cannot be
  // repeated that way, so a pipelined run stops at once.
  return async (iter: number, batch: BatchOracle): Promise<StepStats> => {
    let budget = policy.attempts;
    for (;;) {
      try {
        return await optimizer.step(params, batch);
      } catch (e) {
        if (!device?.isLinkLoss?.(e)) throw e;
        log(`link to ${device.label} lost at iteration ${iter}: ${(e as Error).message}`);
        if (!device.reconnect || pipelined || budget === 0) throw new LinkDown(e, pipelined ? 'a pipelined run in flight cannot be repeated' : 'no reconnect attempts left');
        let lastError: unknown = e;
        let back = false;
        while (budget > 0 && !back) {
          const attempt = policy.attempts - budget + 1;
          const delay = Math.min(policy.maxDelayMs, policy.initialDelayMs * 2 ** (attempt - 1));
          budget--;
          log(`reconnecting to ${device.label} in ${delay} ms (attempt ${attempt}/${policy.attempts})`);
          await new Promise((r) => setTimeout(r, delay));
          try {
            await device.reconnect();
            back = true;
            log(`reconnected to ${device.label} and restored the device state; repeating iteration ${iter}`);
          } catch (re) {
            lastError = re;
            log(`reconnect attempt ${attempt} failed: ${(re as Error).message}`);
          }
        }
        if (!back) throw new LinkDown(lastError, `${policy.attempts} reconnect attempts failed`);
      }
    }
  };
}
