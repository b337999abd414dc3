// Every failure the host loop can raise carries the category a front end maps to an exit code:
// each case below provokes a real failure through the public function that raises it.
import { setTimeout as sleep } from 'node:timers/promises';
import { describe, expect, it } from 'vitest';
import { connect } from '../../src/connect.ts';
import { ArgumentError, DeviceError, DisconnectedError, HandshakeError, TimeoutError } from '../../src/driver/index.ts';
import { parseIdx } from '../../src/host-loop/data/idx.ts';
import { ERROR_CATEGORIES, HostLoopError, errorCategoryOf } from '../../src/host-loop/errors.ts';
import { choleskyInPlace, decodeF64 } from '../../src/host-loop/linalg/index.ts';
import { parseModelSpec } from '../../src/host-loop/models/spec.ts';
import { createOptimizer } from '../../src/host-loop/optimizers/registry.ts';
import { locateCheckpoint } from '../../src/host-loop/train/loop.ts';
import '../../src/host-loop/optimizers/index.ts';

function thrown(f: () => unknown): unknown {
  try {
    f();
  } catch (e) {
    return e;
  }
  throw new Error('expected a throw');
}

describe('host-loop error categories', () => {
  it('input mistakes are usage, unusable files data, failed maths numerics; name stays the class name', () => {
    const cases: [unknown, string, string][] = [
      [thrown(() => parseModelSpec('mlp:')), 'ModelSpecError', 'usage'],
      [thrown(() => createOptimizer('adam', { lr: -1 })), 'OptimizerOptionsError', 'usage'],
      [thrown(() => locateCheckpoint('/nonexistent/tngd-run')), 'CheckpointError', 'data'],
      [thrown(() => decodeF64('not base64!')), 'F64DecodeError', 'data'],
      [thrown(() => parseIdx(Uint8Array.of(1, 2, 3))), 'DataFileError', 'data'],
      [thrown(() => choleskyInPlace(Float64Array.of(1, 2, 2, 1), 2)), 'NotPositiveDefiniteError', 'numerics'],
    ];
    for (const [e, name, category] of cases) {
      expect(e).toBeInstanceOf(HostLoopError);
      expect({ name: (e as Error).name, category: errorCategoryOf(e) }).toEqual({ name, category });
      expect(ERROR_CATEGORIES).toContain(errorCategoryOf(e));
    }
  });

  it('driver and link failures: device refusals are device, lost links link, bad URLs usage', async () => {
    const dev = await connect('emu:?seed=1', { heartbeatIntervalMs: 0 });
    const refused = await dev.uploadGradient([1, 2]).catch((e: unknown) => e);
    expect(refused).toBeInstanceOf(DeviceError);
    expect(errorCategoryOf(refused)).toBe('device');
    await dev.close();
    const closed = await dev.status().catch((e: unknown) => e);
    expect(closed).toBeInstanceOf(DisconnectedError);
    expect(errorCategoryOf(closed)).toBe('link');
    expect(errorCategoryOf(await connect('tcp://127.0.0.1').catch((e: unknown) => e))).toBe('usage');
    expect(errorCategoryOf(await connect('tcp://127.0.0.1:1', { linkTimeoutMs: 500 }).catch((e: unknown) => e))).toBe('link');
    expect(errorCategoryOf(new TimeoutError('Status', 10, 1))).toBe('link');
    expect(errorCategoryOf(new HandshakeError('no-reply', 'x'))).toBe('link');
    expect(errorCategoryOf(new HandshakeError('fingerprint', 'x'))).toBe('device');
    expect(errorCategoryOf(new ArgumentError('x'))).toBe('internal');
  });

  it('an aborted signal is interrupted; anything unknown is internal', async () => {
    const ac = new AbortController();
    ac.abort();
    expect(errorCategoryOf(await sleep(10, undefined, { signal: ac.signal }).catch((e: unknown) => e))).toBe('interrupted');
    expect(errorCategoryOf(new TypeError('x'))).toBe('internal');
    expect(errorCategoryOf('a string')).toBe('internal');
  });
});
