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
