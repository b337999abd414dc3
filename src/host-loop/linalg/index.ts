export { NotPositiveDefiniteError, NotPsdError, ShapeError } from './errors.ts';
export { FactoredOperator, applyCore, validateFactors } from './factored.ts';
export { formDenseCurvature, choleskyInPlace, choleskySolve } from './dense.ts';
export { pivotedCholesky, PSD_ABS_TOL } from './psd.ts';
export type { PsdFactor } from './psd.ts';
export { WoodburySolver } from './woodbury.ts';
export { conjugateGradient, CgWorkspace } from './cg.ts';
export type { CgOptions, CgResult } from './cg.ts';
export { encodeF64, decodeF64, F64DecodeError } from './f64codec.ts';
