// Errors of the training loop, each with the category the CLI maps to an exit code (usage → 2,
// the rest → 1; see ../errors.ts). Data-file, checkpoint and device errors keep their own types.
import { HostLoopError } from '../errors.ts';

/** A bad configuration or command line; `problems` lists every issue by option name. */
export class TrainUsageError extends HostLoopError {
  readonly category = 'usage';
  constructor(readonly problems: string[]) {
    super(problems.length === 1 ? problems[0] : `invalid options:\n  - ${problems.join('\n  - ')}`);
  }
}

/** The run itself failed: a resume target holds no usable checkpoint ('data'), the loss diverged ('numerics'). */
export class TrainRunError extends HostLoopError {
  constructor(
    message: string,
    readonly category: 'data' | 'numerics',
  ) {
    super(message);
  }
}

/** A fresh run aimed at a folder that already holds files: refused, so no run is overwritten. */
export class RunFolderInUseError extends HostLoopError {
  readonly category = 'usage';
  constructor(
    readonly out: string,
    readonly entries: string[],
  ) {
    super(`run folder ${out} is not empty (${entries.slice(0, 3).join(', ')}${entries.length > 3 ? ', …' : ''}): continue it with --resume, replace it with --overwrite, or choose another --out`);
  }
}

/** The device cannot hold the run's problem; `fix` says which option makes it fit. */
export class DeviceTooSmallError extends HostLoopError {
  readonly category = 'device';
  constructor(
    readonly limit: 'maxCells' | 'maxRank',
    readonly needed: number,
    readonly available: number,
    readonly fix: string,
  ) {
    const what = limit === 'maxCells' ? `N = ${needed} cells` : `rank r = ${needed}`;
    super(`the run needs ${what} but the device accepts at most ${available}; ${fix}`);
  }
}

/**
 * The device link went down mid-run and did not come back within the reconnect budget. The run
 * stopped; `checkpointIteration` is where `resumeCommand` continues from.
 */
export class LinkLostError extends HostLoopError {
  readonly category = 'link';
  constructor(
    readonly out: string,
    /** the iteration being computed when the link went down */
    readonly iteration: number,
    /** iteration of the checkpoint to resume from (0: none was written) */
    readonly checkpointIteration: number,
    readonly resumeCommand: string,
    options?: ErrorOptions,
  ) {
    const cause = options?.cause instanceof Error ? `: ${options.cause.message}` : '';
    super(
      `link to the device lost at iteration ${iteration} and not restored${cause}; ` +
        (checkpointIteration > 0 ? `checkpoint at iteration ${checkpointIteration} in ${out}` : 'no iteration completed, nothing to resume'),
      options,
    );
  }
}
