// Conformance report and check definitions.
import type { CheckContext } from './context.ts';

export type CheckStatus = 'pass' | 'fail' | 'skip';

export interface CheckResult {
  id: string;
  title: string;
  status: CheckStatus;
  /** why it failed or was skipped */
  reason?: string;
  /** measured values (JSON-safe) */
  details?: Record<string, unknown>;
  ms: number;
}

export interface ConformanceReport {
  target: string;
  device?: { vendor: string; model: string; serial: string; firmware: string; protocol: string; features: string[] };
  startedAt: string;
  durationMs: number;
  checks: CheckResult[];
  summary: { pass: number; fail: number; skip: number };
  /** all non-skipped checks passed */
  ok: boolean;
}

export interface CheckDef {
  id: string;
  title: string;
  /** A reason to skip on this device, or null to run. */
  skip?: (ctx: CheckContext) => string | null;
  /** Throws CheckFailure (or any error) to fail; may return details. */
  run: (ctx: CheckContext) => Promise<Record<string, unknown> | void>;
}

/** A failed expectation, with the numbers that show it. */
export class CheckFailure extends Error {
  readonly details: Record<string, unknown> | undefined;
  constructor(message: string, details?: Record<string, unknown>) {
    super(message);
    this.name = 'CheckFailure';
    this.details = details;
  }
}
