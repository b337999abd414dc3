// Errors of the training loop, split by who must act: the user's command line (exit 2) or the
// environment at run time (exit 1). Data-file, checkpoint and device errors keep their own types.

/** A bad configuration or command line; `problems` lists every issue by option name. */
export class TrainUsageError extends Error {
  constructor(readonly problems: string[]) {
    super(problems.length === 1 ? problems[0] : `invalid options:\n  - ${problems.join('\n  - ')}`);
    this.name = 'TrainUsageError';
  }
}

/** The run itself failed (e.g. the loss diverged, a resume target holds no usable checkpoint). */
export class TrainRunError extends Error {
  constructor(message: string) {
    super(message);
    this.name = 'TrainRunError';
  }
}
