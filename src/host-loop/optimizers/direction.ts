// An optimizer = a direction source (what to step along) + an update rule (how to step).
// Digital SGD/Adam use the gradient as direction; NGD variants a damped curvature solve; TNGD
// (src/host-loop/optimizers/tngd*.ts, later) the device readout — all share DirectionOptimizer.
import { z } from 'zod';
import { ShapeError } from '../linalg/errors.ts';
import type { BatchOracle, Optimizer, StepStats } from '../types.ts';
import { parseState } from './state-codec.ts';
import { OptimizerStateError } from './errors.ts';
import type { UpdateRule } from './update-rules.ts';

/**
 * Accounting a direction source adds to the step's stats. Leave hostSeconds out to have the whole
 * compute() timed as host work; a source that waits on a device should report its own host time
 * (e.g. excluding the analog run) and the update rule's time is added to it.
 */
export type DirectionStats = Partial<StepStats>;

export interface DirectionSource {
  /** Writes the search direction for the batch at `params` into `out` (length N). */
  compute(params: Float64Array, batch: BatchOracle, out: Float64Array): Promise<DirectionStats> | DirectionStats;
  saveState(): unknown;
  loadState(state: unknown): void;
}

/** The gradient itself: plain SGD / Adam. */
export class GradientDirection implements DirectionSource {
  compute(_params: Float64Array, batch: BatchOracle, out: Float64Array): DirectionStats {
    out.set(batch.grad);
    return {};
  }
  saveState(): unknown {
    return null;
  }
  loadState(state: unknown): void {
    if (state !== null) throw new OptimizerStateError('gradient direction has no state; expected null');
  }
}

const stateSchema = z.strictObject({
  optimizer: z.string(),
  version: z.literal(1),
  steps: z.number().int().min(0),
  direction: z.unknown(),
  rule: z.unknown(),
});

export class DirectionOptimizer implements Optimizer {
  private dir: Float64Array | null = null;
  private steps = 0;

  constructor(
    readonly name: string,
    readonly source: DirectionSource,
    readonly rule: UpdateRule,
  ) {}

  /** number of completed steps */
  get stepCount(): number {
    return this.steps;
  }

  async step(params: Float64Array, batch: BatchOracle): Promise<StepStats> {
    const t0 = process.hrtime.bigint();
    const n = params.length;
    if (batch.grad.length !== n) throw new ShapeError(`gradient has length ${batch.grad.length}, parameters ${n}`);
    if (this.dir === null || this.dir.length !== n) this.dir = new Float64Array(n);
    const extra = await this.source.compute(params, batch, this.dir);
    const t1 = process.hrtime.bigint();
    this.rule.apply(params, this.dir);
    this.steps++;
    const t2 = process.hrtime.bigint();
    const hostSeconds = extra.hostSeconds === undefined ? Number(t2 - t0) / 1e9 : extra.hostSeconds + Number(t2 - t1) / 1e9;
    return { ...extra, hostSeconds };
  }

  saveState(): unknown {
    return { optimizer: this.name, version: 1, steps: this.steps, direction: this.source.saveState(), rule: this.rule.saveState() };
  }

  loadState(state: unknown): void {
    const s = parseState(stateSchema, state, `optimizer '${this.name}'`);
    if (s.optimizer !== this.name)
      throw new OptimizerStateError(`saved state is for optimizer '${s.optimizer}', not '${this.name}'`);
    // Validate both parts before committing either, so a bad state leaves this optimizer intact.
    const backupRule = this.rule.saveState();
    const backupDir = this.source.saveState();
    try {
      this.rule.loadState(s.rule);
      this.source.loadState(s.direction);
    } catch (e) {
      this.rule.loadState(backupRule);
      this.source.loadState(backupDir);
      throw e;
    }
    this.steps = s.steps;
  }
}
