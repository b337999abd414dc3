import type { z } from 'zod';

/** Bad hyperparameters for an optimizer; the message lists every problem by option name. */
export class OptimizerOptionsError extends Error {
  readonly category = 'usage' as const;
  constructor(
    readonly optimizer: string,
    readonly problems: string[],
  ) {
    super(`invalid options for optimizer '${optimizer}':\n  - ${problems.join('\n  - ')}`);
    this.name = 'OptimizerOptionsError';
  }

  static fromZod(optimizer: string, err: z.ZodError): OptimizerOptionsError {
    const problems = err.issues.map((i) => {
      if (i.code === 'unrecognized_keys') return `unknown option${i.keys.length > 1 ? 's' : ''} ${i.keys.map((k) => `'${k}'`).join(', ')}`;
      const path = i.path.length > 0 ? i.path.join('.') : '(options)';
      return `${path}: ${i.message}`;
    });
    return new OptimizerOptionsError(optimizer, problems);
  }
}

/** A saved optimizer state that does not fit this optimizer (wrong kind, size or format). */
export class OptimizerStateError extends Error {
  constructor(message: string) {
    super(message);
    this.name = 'OptimizerStateError';
  }
}

/** An optimizer refuses a problem it cannot handle (e.g. exact NGD with too many parameters). */
export class OptimizerLimitError extends Error {
  readonly category = 'run' as const;
  constructor(message: string) {
    super(message);
    this.name = 'OptimizerLimitError';
  }
}
