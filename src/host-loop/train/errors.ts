// Errors of the training loop, split by who must act: the user's command line (exit 2) or the
// environment at run time (exit 1). Data-file, checkpoint and device errors keep their own types.

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
