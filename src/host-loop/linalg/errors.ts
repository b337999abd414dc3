// Typed failures of the hand-written linear algebra, so callers can tell a bad input from a bug.

import { HostLoopError } from '../errors.ts';

/** A matrix that must be positive definite is not (Cholesky met a non-positive pivot). */
export class NotPositiveDefiniteError extends HostLoopError {
  readonly category = 'numerics';
  constructor(
    readonly pivot: number,
    readonly value: number,
    context = 'matrix',
  ) {
    super(`${context} is not positive definite: Cholesky pivot ${pivot} is ${Number(value.toPrecision(6))} (must be > 0); increase the damping λ or check the curvature core`);
  }
}

/** A curvature core that must be positive semi-definite has a clearly negative direction. */
export class NotPsdError extends HostLoopError {
  readonly category = 'numerics';
}

/** Factor shapes disagree (J length, core size, vector length). */
export class ShapeError extends HostLoopError {
  // shapes come from the loop's own bookkeeping: a mismatch is a bug, not a user input
  readonly category = 'internal';
}
