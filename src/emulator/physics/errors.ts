// Typed failures of the physics core. A thrown PhysicsError never leaves a half-loaded system:
// uploads validate completely before replacing anything.
export type PhysicsErrorCode =
  | 'shape' // wrong lengths, sizes beyond the device, non-integer time ratios
  | 'non-finite' // NaN or ±Inf in an input
  | 'not-symmetric' // dense A or H not exactly symmetric
  | 'not-positive-definite' // A not PD / H not PSD / λ ≤ 0
  | 'diverged' // the state left the representable range (Euler instability, non-PD system)
  | 'unstable-step' // Euler δt·λmax(A) at or past the stability limit (an emulator artefact; EMULATOR.md §9.1.1)
  | 'limit' // a counter or size limit of the device would be exceeded
  | 'config' // invalid run/integrator configuration
  | 'state'; // operation not possible in the current state (e.g. nothing loaded)

export class PhysicsError extends Error {
  readonly code: PhysicsErrorCode;
  /** JSON-safe numbers for the host (e.g. unstable-step: lambdaMax, maxStableDtTau) */
  readonly detail: Record<string, number | string> | undefined;
  constructor(code: PhysicsErrorCode, message: string, detail?: Record<string, number | string>) {
    super(`${code}: ${message}`);
    this.name = 'PhysicsError';
    this.code = code;
    this.detail = detail;
  }
}
