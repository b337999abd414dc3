// Typed failures of the host driver. Every promise the driver returns rejects with one of these
// (or a LinkError from the transports when a link cannot be opened), so callers can branch on the
// class: retry on TimeoutError, reconnect on DisconnectedError, fix the request on DeviceError.
import { ErrorCode, errorClassOf, errorCodeName } from '../protocol/index.ts';
import type { ErrorClass, OpName } from '../protocol/index.ts';

export class DriverError extends Error {
  constructor(message: string, options?: { cause?: unknown }) {
    super(message, options);
    this.name = new.target.name;
  }
}

/** The device answered with an Error reply. `code` is the wire code (firmware-spec §Errors). */
export class DeviceError extends DriverError {
  readonly code: number;
  readonly codeName: string;
  readonly errorClass: ErrorClass;
  readonly op: OpName | 'raw';
  readonly detail: Record<string, unknown> | undefined;
  constructor(op: OpName | 'raw', code: number, message: string, detail?: Record<string, unknown>) {
    super(`${op} failed: ${errorCodeName(code)} (0x${code.toString(16).padStart(3, '0')}): ${message}`);
    this.op = op;
    this.code = code;
    this.codeName = errorCodeName(code);
    this.errorClass = errorClassOf(code);
    this.detail = detail;
  }
}

/** No reply in time (after `attempts` tries for idempotent requests). */
export class TimeoutError extends DriverError {
  readonly op: string;
  readonly timeoutMs: number;
  readonly attempts: number;
  constructor(op: string, timeoutMs: number, attempts: number) {
    super(`${op}: no reply within ${timeoutMs} ms${attempts > 1 ? ` (${attempts} attempts)` : ''}`);
    this.op = op;
    this.timeoutMs = timeoutMs;
    this.attempts = attempts;
  }
}

export type DisconnectReason = 'link-closed' | 'heartbeat-lost' | 'closed-by-host' | 'device-reset';

/** The link went down (or the driver was closed) while the request was pending. */
export class DisconnectedError extends DriverError {
  readonly reason: DisconnectReason;
  constructor(reason: DisconnectReason, message: string, options?: { cause?: unknown }) {
    super(message, options);
    this.reason = reason;
  }
}

export type HandshakeFailure = 'no-reply' | 'version' | 'fingerprint' | 'refused' | 'capabilities';

/** The device could not be identified as a compatible SPU. */
export class HandshakeError extends DriverError {
  readonly reason: HandshakeFailure;
  constructor(reason: HandshakeFailure, message: string, options?: { cause?: unknown }) {
    super(message, options);
    this.reason = reason;
  }
}

/** The request needs more than the device advertised (cells, rank, dtype, feature, κ₀ range…). */
export class CapabilityError extends DriverError {
  readonly capability: string;
  readonly limit: unknown;
  readonly requested: unknown;
  constructor(capability: string, limit: unknown, requested: unknown, message: string) {
    super(message);
    this.capability = capability;
    this.limit = limit;
    this.requested = requested;
  }
}

/** The caller's arguments are malformed (wrong lengths, non-finite values); nothing was sent. */
export class ArgumentError extends DriverError {}

/** The device sent something the protocol does not allow as an answer (a device or link bug). */
export class ProtocolMismatchError extends DriverError {}

/** What an emulator reports when it refuses an Euler run with an unstable step (EMULATOR.md §9.1.1). */
export interface UnstableStep {
  /** λmax(A) estimate the device used */
  lambdaMax: number;
  /** the device accepts Euler steps δt below this (τ) */
  maxStableDtTau: number;
  /** the refused step (τ) */
  dtTau: number;
  /** 'main' (the new system) or 'delay' (the previous system, during a delay) */
  segment: string;
}

/**
 * The unstable-step refusal carried by a Run's OUT_OF_RANGE error (detail.reason 'unstable-step',
 * PROTOCOL.md §7.6), or null for any other error.
 */
export function unstableStepOf(e: unknown): UnstableStep | null {
  if (!(e instanceof DeviceError) || e.code !== ErrorCode.OUT_OF_RANGE || e.detail?.reason !== 'unstable-step') return null;
  const d = e.detail;
  const num = (v: unknown): number => (typeof v === 'number' ? v : NaN);
  return { lambdaMax: num(d.lambdaMax), maxStableDtTau: num(d.maxStableDtTau), dtTau: num(d.dtTau), segment: typeof d.segment === 'string' ? d.segment : 'main' };
}

/** A Curvature refused by the upload rules of PROTOCOL.md §7.4.1 (OUT_OF_RANGE with one of these reasons). */
export interface CurvatureRefusal {
  reason: 'not-symmetric' | 'lambda-not-positive' | 'negative-diagonal' | 'not-positive-semidefinite';
  /** the request field that broke the rule ('a', 'lambda', 'core.d', 'core.blocks', 'core.h') */
  field: string;
}

const CURVATURE_REASONS: readonly string[] = ['not-symmetric', 'lambda-not-positive', 'negative-diagonal', 'not-positive-semidefinite'];

/** The upload-rule refusal carried by a Curvature's OUT_OF_RANGE error, or null for any other error. */
export function curvatureRefusalOf(e: unknown): CurvatureRefusal | null {
  if (!(e instanceof DeviceError) || e.code !== ErrorCode.OUT_OF_RANGE || e.op !== 'Curvature') return null;
  const reason = e.detail?.reason;
  if (typeof reason !== 'string' || !CURVATURE_REASONS.includes(reason)) return null;
  return { reason: reason as CurvatureRefusal['reason'], field: typeof e.detail?.field === 'string' ? e.detail.field : '' };
}
