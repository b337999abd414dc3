// Errors of the training loop, each with the category the CLI maps to an exit code (usage → 2,
// the rest → 1; see ../error-category.ts). Data-file, checkpoint and device errors keep their
// own types.
import type { ErrorCategory } from '../error-category.ts';

/** A bad configuration or command line; `problems` lists every issue by option name. */
export class TrainUsageError extends Error {
  readonly category: ErrorCategory = 'usage';
  constructor(readonly problems: string[]) {
    super(problems.length === 1 ? problems[0] : `invalid options:\n  - ${problems.join('\n  - ')}`);
    this.name = 'TrainUsageError';
  }
}

/** The run itself failed (e.g. the loss diverged, a resume target holds no usable checkpoint). */
export class TrainRunError extends Error {
  readonly category: ErrorCategory = 'run';
  constructor(message: string) {
    super(message);
    this.name = 'TrainRunError';
  }
}

/** A fresh run aimed at a folder that already holds files: refused, so no run is overwritten. */
export class RunFolderInUseError extends Error {
  readonly category: ErrorCategory = 'usage';
  constructor(
    readonly out: string,
    readonly entries: string[],
  ) {
    super(`run folder ${out} is not empty (${entries.slice(0, 3).join(', ')}${entries.length > 3 ? ', …' : ''}): continue it with --resume, replace it with --overwrite, or choose another --out`);
    this.name = 'RunFolderInUseError';
  }
}

/** The device cannot hold the run's problem; `fix` says which option makes it fit. */
export class DeviceTooSmallError extends Error {
  readonly category: ErrorCategory = 'device';
  constructor(
    readonly limit: 'maxCells' | 'maxRank',
    readonly needed: number,
    readonly available: number,
    readonly fix: string,
  ) {
    const what = limit === 'maxCells' ? `N = ${needed} cells` : `rank r = ${needed}`;
    super(`the run needs ${what} but the device accepts at most ${available}; ${fix}`);
    this.name = 'DeviceTooSmallError';
  }
}

/**
 * The device link went down mid-run and did not come back within the reconnect budget. The run
 * stopped; `checkpointIteration` is where `resumeCommand` continues from.
 */
export class LinkLostError extends Error {
  readonly category: ErrorCategory = 'device';
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
    this.name = 'LinkLostError';
  }
}
