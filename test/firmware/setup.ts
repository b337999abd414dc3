// Puts a fresh emulated device into a given state for the firmware tests.
import { SCHEMA_FINGERPRINT, crc32c, tensorFromFloat64 } from '../../src/protocol/index.ts';
import type { DeviceState, OpName, RequestBody } from '../../src/protocol/index.ts';
import { createEmulatedDevice } from '../../src/emulator/index.ts';
import type { EmulatorOptions } from '../../src/emulator/index.ts';
import { CONFIG, TestHost, f64 } from './host.ts';

/** A 4×4 SPD matrix (eigenvalues in [1.1, 5.3]) and a gradient, as hand-written numbers. */
export const A4 = [4, 1, 0, 0.5, 1, 3, 0.5, 0, 0, 0.5, 2, 0.25, 0.5, 0, 0.25, 1.5];
export const G4 = [1, -2, 0.5, 3];

export const LONG_RUN: RequestBody<'Run'> = { durationTau: 1e6, start: 'reset' };

export interface Prepared {
  host: TestHost;
  /** open transfer whose single chunk has not been sent */
  openId: number;
  /** transfer whose chunk arrived, not yet committed */
  fullId: number;
  /** the Run request pending while RUNNING */
  run?: ReturnType<TestHost['send']>;
}

const small = tensorFromFloat64([1, 2, 3, 4], [4], 'f64');

async function twoTransfers(h: TestHost): Promise<{ openId: number; fullId: number }> {
  const begin: RequestBody<'BulkBegin'> = { dtype: 'f64', shape: [4], totalBytes: 32, crc32c: crc32c(small.data) };
  const openId = (await h.ok('BulkBegin', begin)).transferId;
  const fullId = (await h.ok('BulkBegin', begin)).transferId;
  await h.ok('BulkChunk', { transferId: fullId, seq: 0, offset: 0, data: small.data });
  return { openId, fullId };
}

export async function loadSystem(h: TestHost, config: RequestBody<'Configure'> = CONFIG): Promise<void> {
  await h.ok('Configure', config);
  await h.ok('Curvature', { form: 'dense', a: f64(A4, [4, 4]), lambda: 0 });
  await h.ok('Gradient', { g: f64(G4) });
}

/** A device in `state`, with an open and a filled transfer, after Hello. */
export async function prepare(state: DeviceState, opts: EmulatorOptions = {}): Promise<Prepared> {
  if (state === 'FAULT') {
    // 4 setup requests, then the next request finds the device faulted
    const host = new TestHost(createEmulatedDevice({ maxCells: 16, maxRank: 8, ...opts, faults: { hardwareFaultAfterRequests: 4 } }));
    await host.hello();
    const t = await twoTransfers(host);
    return { host, ...t };
  }
  const host = new TestHost(createEmulatedDevice({ maxCells: 16, maxRank: 8, ...opts }));
  await host.hello();
  if (state === 'IDLE') return { host, ...(await twoTransfers(host)) };
  await loadSystem(host);
  await host.ok('Run', { durationTau: 2, start: 'reset' });
  const t = await twoTransfers(host);
  if (state === 'READY') return { host, ...t };
  const run = host.send('Run', LONG_RUN);
  // Heartbeat round trip: the Run has been read and the device is running.
  const hb = await host.ok('Heartbeat', { nonce: 1 });
  if (hb.state !== 'RUNNING') throw new Error(`expected RUNNING, got ${hb.state}`);
  return { host, ...t, run };
}

/** A valid request body for each operation, given the prepared transfers. */
export function bodyFor(op: OpName, p: Prepared): RequestBody<OpName> {
  const bodies: { [K in OpName]: RequestBody<K> } = {
    Hello: { major: 1, minor: 0, host: 'sweep', maxFrameBytes: 65535, schemaFingerprint: SCHEMA_FINGERPRINT },
    Status: {},
    Heartbeat: { nonce: 42 },
    DeviceReset: {},
    ErrorsRead: { max: 4 },
    ErrorsClear: {},
    Configure: CONFIG,
    Curvature: { form: 'dense', a: f64(A4, [4, 4]), lambda: 0.5 },
    Gradient: { g: f64([0, 1, 0, 1]) },
    StateSet: { x: f64([0.1, 0.2, 0.3, 0.4]) },
    StateReset: {},
    BulkBegin: { dtype: 'f64', shape: [2], totalBytes: 16, crc32c: 0 },
    BulkChunk: { transferId: p.openId, seq: 0, offset: 0, data: small.data },
    BulkCommit: { transferId: p.fullId },
    BulkAbort: { transferId: p.openId },
    Run: { durationTau: 1, start: 'carry' },
    Abort: {},
    Results: { vectors: 'both', dtype: 'f64' },
    ResultsRead: { field: 'mean', dtype: 'f32', offset: 1, count: 2 },
    SamplesRead: { fromSeq: 0, maxBlocks: 4 },
  };
  return bodies[op];
}
