// Damped conjugate gradient, matrix-free, preconditioner-free.
import { ShapeError } from './errors.ts';

export interface CgOptions {
  /** stop when ‖b − A x‖ ≤ tol·‖b‖ */
  tol: number;
  maxIter: number;
}

export interface CgResult {
  iterations: number;
  /** operator applications, including the initial residual of a warm start */
  matvecs: number;
  /** ‖r‖/‖b‖ from the recurrence at exit */
  relResidual: number;
  converged: boolean;
}

/** Scratch vectors for CG, reusable across solves of the same size. */
export class CgWorkspace {
  readonly r: Float64Array;
  readonly p: Float64Array;
  readonly ap: Float64Array;
  constructor(readonly n: number) {
    this.r = new Float64Array(n);
    this.p = new Float64Array(n);
    this.ap = new Float64Array(n);
  }
}

/**
 * Solves A x = b for SPD A given as `apply(v, out)`. `x` holds the initial guess (zeros for a
 * cold start) and receives the solution.
 */
export function conjugateGradient(
  apply: (v: Float64Array, out: Float64Array) => void,
  b: Float64Array,
  x: Float64Array,
  opts: CgOptions,
  ws: CgWorkspace = new CgWorkspace(b.length),
): CgResult {
  const n = b.length;
  if (x.length !== n || ws.n !== n) throw new ShapeError(`CG vectors must all have length ${n}`);
  const { r, p, ap } = ws;
  let bb = 0;
  for (let i = 0; i < n; i++) bb += b[i] * b[i];
  const bnorm = Math.sqrt(bb);
  if (bnorm === 0) {
    x.fill(0);
    return { iterations: 0, matvecs: 0, relResidual: 0, converged: true };
  }
  let matvecs = 0;
  let cold = true;
  for (let i = 0; i < n; i++) if (x[i] !== 0) cold = false;
  if (cold) {
    r.set(b);
  } else {
    apply(x, ap);
    matvecs++;
    for (let i = 0; i < n; i++) r[i] = b[i] - ap[i];
  }
  let rr = 0;
  for (let i = 0; i < n; i++) rr += r[i] * r[i];
  p.set(r);
  const target = opts.tol * bnorm;
  let it = 0;
  while (Math.sqrt(rr) > target && it < opts.maxIter) {
    apply(p, ap);
    matvecs++;
    let pap = 0;
    for (let i = 0; i < n; i++) pap += p[i] * ap[i];
    if (!(pap > 0)) break; // operator not SPD along p (or breakdown): keep the current iterate
    const alpha = rr / pap;
    let rrNew = 0;
    for (let i = 0; i < n; i++) {
      x[i] += alpha * p[i];
      const ri = r[i] - alpha * ap[i];
      r[i] = ri;
      rrNew += ri * ri;
    }
    const beta = rrNew / rr;
    rr = rrNew;
    for (let i = 0; i < n; i++) p[i] = r[i] + beta * p[i];
    it++;
  }
  const rel = Math.sqrt(rr) / bnorm;
  return { iterations: it, matvecs, relResidual: rel, converged: rel <= opts.tol };
}
