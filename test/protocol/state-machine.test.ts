import { describe, expect, it } from 'vitest';
import { DEVICE_STATES, LEGALITY, OPERATIONS, ErrorCode, errorClassOf, isLegal, legality } from '../../src/protocol/index.ts';
import type { OpName } from '../../src/protocol/index.ts';

const OPS = Object.keys(OPERATIONS) as OpName[];

describe('device state machine legality table', () => {
  it('has a verdict for every request in every state, and every refusal is a state-class error', () => {
    expect(Object.keys(LEGALITY).sort()).toEqual([...OPS].sort());
    for (const op of OPS)
      for (const s of DEVICE_STATES) {
        const v = legality(s, op);
        expect(v === null || errorClassOf(v) === 'state', `${op} in ${s}`).toBe(true);
        expect(isLegal(s, op)).toBe(v === null);
      }
  });
  it('keeps liveness, diagnostics and recovery available in every state', () => {
    for (const op of ['Status', 'Heartbeat', 'ErrorsRead', 'ErrorsClear', 'DeviceReset', 'Abort'] as OpName[])
      for (const s of DEVICE_STATES) expect(isLegal(s, op), `${op} in ${s}`).toBe(true);
  });
  it('FAULT allows only diagnostics and recovery; RUNNING refuses what would disturb the run with BUSY', () => {
    expect(OPS.filter((op) => isLegal('FAULT', op)).sort()).toEqual(['Abort', 'BulkAbort', 'DeviceReset', 'ErrorsClear', 'ErrorsRead', 'Heartbeat', 'Hello', 'Status']);
    for (const op of ['Run', 'Configure', 'Curvature', 'Gradient', 'StateSet', 'StateReset', 'Results', 'ResultsRead', 'Hello'] as OpName[]) expect(legality('RUNNING', op)).toBe(ErrorCode.BUSY);
    // uploads may be staged while a run is in flight (the delay pipeline), committed later
    for (const op of ['BulkBegin', 'BulkChunk', 'BulkCommit'] as OpName[]) expect(isLegal('RUNNING', op)).toBe(true);
    for (const op of ['Run', 'Curvature', 'Gradient', 'Results'] as OpName[]) expect(legality('IDLE', op)).toBe(ErrorCode.NOT_CONFIGURED);
  });
});
