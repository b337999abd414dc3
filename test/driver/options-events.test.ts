// Driver options are resolved once, at open, into a complete object (every default in one place,
// every bad field named before any link is opened); driver events are typed (the @ts-expect-error
// lines below are checked by `npm run typecheck`: each must stay a compile error).
import { describe, expect, it } from 'vitest';
import { connect } from '../../src/connect.ts';
import { ArgumentError, DRIVER_DEFAULTS, SpuDriver, resolveDriverOptions } from '../../src/driver/index.ts';
import type { DeviceInfo, DriverOptions } from '../../src/driver/index.ts';

describe('driver options', () => {
  it('resolve to a complete object: defaults for what is missing, handshake timeout following timeoutMs', () => {
    const r = resolveDriverOptions({});
    expect(r).toMatchObject({ ...DRIVER_DEFAULTS, handshakeTimeoutMs: DRIVER_DEFAULTS.timeoutMs, require: { features: [] } });
    expect(r.hostName).toMatch(/^tngd-driver@/);
    expect(Object.keys(r).sort()).toEqual(
      ['dtype', 'fingerprint', 'handshakeTimeoutMs', 'heartbeatIntervalMs', 'heartbeatMisses', 'hostMaxFrameBytes', 'hostName', 'logger', 'maxInFlightBytes', 'maxRunMs', 'require', 'retries', 'timeoutMs'],
    );
    const set = resolveDriverOptions({ timeoutMs: 500, retries: 0, heartbeatIntervalMs: 0, dtype: 'f32', hostName: 'x'.repeat(80), require: { cells: 64, features: ['delay'] } });
    expect(set).toMatchObject({ timeoutMs: 500, handshakeTimeoutMs: 500, retries: 0, heartbeatIntervalMs: 0, dtype: 'f32', require: { cells: 64, features: ['delay'] } });
    expect(set.hostName).toHaveLength(64);
  });

  it('one ArgumentError names every bad field, and ignores the link options connect() adds', () => {
    const bad = { timeoutMs: 0, retries: 1.5, heartbeatMisses: 0, hostMaxFrameBytes: 100, dtype: 'f16', fingerprint: 'loose', require: { features: ['warp-drive'] } } as unknown as DriverOptions;
    const e = (() => {
      try {
        resolveDriverOptions(bad);
      } catch (x) {
        return x as Error;
      }
      throw new Error('expected a throw');
    })();
    expect(e).toBeInstanceOf(ArgumentError);
    for (const field of ['timeoutMs', 'retries', 'heartbeatMisses', 'hostMaxFrameBytes', 'dtype', 'fingerprint', 'require.features'])
      expect(e.message).toContain(`${field}`);
    expect(e.message.split('\n  - ')).toHaveLength(8);
    expect(() => resolveDriverOptions({ seed: 3, secret: 's' } as DriverOptions)).not.toThrow();
  });

  it('are checked before the link is opened', async () => {
    let opened = 0;
    const opener = async () => {
      opened++;
      throw new Error('must not be reached');
    };
    await expect(SpuDriver.open(opener, { heartbeatMisses: -1 })).rejects.toThrow(/heartbeatMisses must be an integer in \[1, 1000\], got -1/);
    expect(opened).toBe(0);
  });
});

describe('driver events', () => {
  it('are declared once with their payloads (SpuDriverEvents): wrong names and payloads do not compile', async () => {
    const dev = await connect('emu:?seed=1', { heartbeatIntervalMs: 0 });
    try {
      const seen: DeviceInfo[] = [];
      dev.on('reconnected', (info) => seen.push(info));
      // @ts-expect-error misspelt event name
      dev.on('disconected', () => {});
      // @ts-expect-error the 'reboot' payload is a Heartbeat reply, not a number
      dev.on('reboot', (uptime: number) => void uptime);
      const neverCalled = (): void => {
        // @ts-expect-error 'reconnected' carries the DeviceInfo
        dev.emit('reconnected', 5);
      };
      void neverCalled;
      await dev.reconnect({ restore: false });
      expect(seen.map((i) => i.identity.model)).toEqual(['spu-emulator']);
    } finally {
      await dev.close();
    }
  });
});
