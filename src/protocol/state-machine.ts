// Device state machine shared by the spec, the emulated firmware and the conformance suite.
//   IDLE    after power-up or DeviceReset: nothing configured
//   READY   configured; uploads, runs and result reads allowed
//   RUNNING a Run is in progress (its reply is sent when it ends)
//   FAULT   the device detected a hardware/internal fault; only DeviceReset leaves it
// Bulk transfers are orthogonal: open transfers live in a staging area in any state but FAULT.
import { ErrorCode } from './errors.ts';
import type { OpName } from './registry.ts';
import type { DeviceState } from './schemas.ts';

export const DEVICE_STATES: readonly DeviceState[] = ['IDLE', 'READY', 'RUNNING', 'FAULT'];

/** null = legal; otherwise the error code the device answers with. */
export type Legality = null | number;

const L = null;
const NC = ErrorCode.NOT_CONFIGURED;
const BUSY = ErrorCode.BUSY;
const ILL = ErrorCode.ILLEGAL_IN_STATE;

/** Legality of each request in each state (checks beyond state, e.g. NO_CURVATURE, come after). */
export const LEGALITY: Record<OpName, Record<DeviceState, Legality>> = {
  Hello: { IDLE: L, READY: L, RUNNING: BUSY, FAULT: L },
  Status: { IDLE: L, READY: L, RUNNING: L, FAULT: L },
  Heartbeat: { IDLE: L, READY: L, RUNNING: L, FAULT: L },
  DeviceReset: { IDLE: L, READY: L, RUNNING: L, FAULT: L },
  ErrorsRead: { IDLE: L, READY: L, RUNNING: L, FAULT: L },
  ErrorsClear: { IDLE: L, READY: L, RUNNING: L, FAULT: L },
  Configure: { IDLE: L, READY: L, RUNNING: BUSY, FAULT: ILL },
  Curvature: { IDLE: NC, READY: L, RUNNING: BUSY, FAULT: ILL },
  Gradient: { IDLE: NC, READY: L, RUNNING: BUSY, FAULT: ILL },
  StateSet: { IDLE: NC, READY: L, RUNNING: BUSY, FAULT: ILL },
  StateReset: { IDLE: NC, READY: L, RUNNING: BUSY, FAULT: ILL },
  BulkBegin: { IDLE: L, READY: L, RUNNING: L, FAULT: ILL },
  BulkChunk: { IDLE: L, READY: L, RUNNING: L, FAULT: ILL },
  BulkCommit: { IDLE: L, READY: L, RUNNING: L, FAULT: ILL },
  BulkAbort: { IDLE: L, READY: L, RUNNING: L, FAULT: L },
  Run: { IDLE: NC, READY: L, RUNNING: BUSY, FAULT: ILL },
  Abort: { IDLE: L, READY: L, RUNNING: L, FAULT: L },
  Results: { IDLE: NC, READY: L, RUNNING: BUSY, FAULT: ILL },
  ResultsRead: { IDLE: NC, READY: L, RUNNING: BUSY, FAULT: ILL },
  SamplesRead: { IDLE: NC, READY: L, RUNNING: L, FAULT: ILL },
};

export function legality(state: DeviceState, op: OpName): Legality {
  return LEGALITY[op][state];
}

export function isLegal(state: DeviceState, op: OpName): boolean {
  return LEGALITY[op][state] === null;
}

/** State after a request succeeds (Run: RUNNING until its reply, then READY). */
export const TRANSITIONS: Partial<Record<OpName, { from: DeviceState | '*'; to: DeviceState }[]>> = {
  Configure: [{ from: 'IDLE', to: 'READY' }],
  Run: [{ from: 'READY', to: 'RUNNING' }],
  DeviceReset: [{ from: '*', to: 'IDLE' }],
};
