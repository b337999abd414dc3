import { describe, it, expect, afterEach } from 'vitest';
import { PassThrough } from 'node:stream';
import { SerialPortStream, DisconnectedError } from '@serialport/stream';
import { faultyLink, faultyDevice, rebootableDevice, staleBytes, type FaultyLinkOptions } from '../../src/emulator/transports/faults.ts';
import { pacedLink, baudToBytesPerSecond } from '../../src/emulator/transports/pacing.ts';
import { VirtualBinding, registerVirtualDevice, type VirtualDeviceHandle } from '../../src/driver/transports/virtual-binding.ts';
import { echoDevice, reverseDevice, patternBytes, collect } from './devices.ts';

const handles: VirtualDeviceHandle[] = [];
afterEach(() => {
  for (const h of handles.splice(0)) h.unregister();
});

/** Feeds `data` through a fault wrapper around an echo device (device→host faults) and returns what comes out. */
async function throughToHost(data: Buffer, opts: FaultyLinkOptions, chunk = 4096, settleMs = 50): Promise<{ out: Buffer; link: ReturnType<typeof faultyLink> }> {
  const link = faultyLink(echoDevice(), opts);
  const parts: Buffer[] = [];
  link.on('data', (b: Buffer) => parts.push(b));
  for (let i = 0; i < data.length; i += chunk) link.write(data.subarray(i, i + chunk));
  await new Promise((r) => setTimeout(r, settleMs));
  return { out: Buffer.concat(parts), link };
}

/** Binomial tolerance: |observed - n p| ≤ 5 σ, σ = sqrt(n p (1 - p)). False-failure odds < 1e-6. */
function expectBinomial(observed: number, n: number, p: number): void {
  const sigma = Math.sqrt(n * p * (1 - p));
  expect(Math.abs(observed - n * p)).toBeLessThanOrEqual(5 * sigma);
}

describe('fault wrapper statistics (seed 20261128, 100 000 bytes each)', () => {
  const N = 100_000;
  const data = patternBytes(N, 5);

  it('drop rate 1 %: output is exactly N - dropped bytes, dropped within 5 σ (σ ≈ 31.5) of 1000', async () => {
    const { out, link } = await throughToHost(data, { seed: 20261128, toHost: { dropRate: 0.01 } });
    const dropped = link.stats.toHost.dropped;
    expect(out.length).toBe(N - dropped);
    expectBinomial(dropped, N, 0.01);
    expect(link.stats.toDevice.dropped).toBe(0); // the other direction is clean
  });

  it('corrupt rate 2 %: bytes that differ from the input, counted independently, within 5 σ (σ ≈ 44) of 2000', async () => {
    const { out, link } = await throughToHost(data, { seed: 20261128, toHost: { corruptRate: 0.02 } });
    expect(out.length).toBe(N);
    let differ = 0;
    for (let i = 0; i < N; i++) if (out[i] !== data[i]) differ++;
    expect(differ).toBe(link.stats.toHost.corrupted); // a corruption always changes the byte
    expectBinomial(differ, N, 0.02);
  });

  it('duplicate rate 0.5 %: output grows by the duplicates, within 5 σ (σ ≈ 22.3) of 500', async () => {
    const { out, link } = await throughToHost(data, { seed: 20261128, toHost: { duplicateRate: 0.005 } });
    expect(out.length).toBe(N + link.stats.toHost.duplicated);
    expectBinomial(link.stats.toHost.duplicated, N, 0.005);
  });

  it('host→device faults apply to written bytes only, at their own rate', async () => {
    const { out, link } = await throughToHost(data, { seed: 7, toDevice: { dropRate: 0.1 } });
    expectBinomial(link.stats.toDevice.dropped, N, 0.1);
    expect(out.length).toBe(N - link.stats.toDevice.dropped);
    expect(link.stats.toHost.bytesIn).toBe(out.length);
  });
});

describe('fault wrapper determinism', () => {
  const data = patternBytes(50_000, 9);
  const opts: FaultyLinkOptions = { seed: 99, dropRate: 0.01, corruptRate: 0.01, duplicateRate: 0.01 };

  it('same seed → same output, whatever the chunking; another seed → different output', async () => {
    const a = (await throughToHost(data, opts, 50_000)).out;
    const b = (await throughToHost(data, opts, 997)).out;
    const c = (await throughToHost(data, { ...opts, seed: 100 }, 997)).out;
    expect(a.equals(b)).toBe(true);
    expect(a.equals(c)).toBe(false);
  });
});

describe('timing faults', () => {
  it('delays every chunk by delayMs', async () => {
    const link = faultyLink(echoDevice(), { seed: 1, toHost: { delayMs: 40 } });
    const t0 = performance.now();
    const back = collect(link, 3);
    link.write(Buffer.from('abc'));
    expect((await back).toString()).toBe('abc');
    expect(performance.now() - t0).toBeGreaterThanOrEqual(39);
  });

  it('a finite stall holds bytes after stallAfterBytes, then releases them in order', async () => {
    const link = faultyLink(echoDevice(), { seed: 1, toHost: { stallAfterBytes: 100, stallMs: 60 } });
    const data = patternBytes(300, 2);
    const first = collect(link, 100);
    const t0 = performance.now();
    link.write(data);
    expect((await first).equals(data.subarray(0, 100))).toBe(true);
    const rest = await collect(link, 200);
    expect(performance.now() - t0).toBeGreaterThanOrEqual(55);
    expect(rest.equals(data.subarray(100))).toBe(true);
  });

  it('an endless stall silences the link without closing it', async () => {
    const link = faultyLink(echoDevice(), { seed: 1, toHost: { stallAfterBytes: 10 } });
    const parts: Buffer[] = [];
    link.on('data', (b: Buffer) => parts.push(b));
    link.write(patternBytes(50));
    await new Promise((r) => setTimeout(r, 60));
    expect(Buffer.concat(parts).length).toBe(10);
    expect(link.stats.toHost.stalledBytes).toBe(40);
    expect(link.destroyed).toBe(false);
    link.destroy();
  });
});

describe('faults under the real SerialPortStream', () => {
  it('disconnectAfterBytes mid-upload: the host port closes with a DisconnectedError', async () => {
    const factory = faultyDevice(echoDevice, { seed: 3, toDevice: { disconnectAfterBytes: 1000 } });
    handles.push(registerVirtualDevice('emu:cut', factory));
    const port = await new Promise<SerialPortStream>((res, rej) => {
      const p = new SerialPortStream({ binding: VirtualBinding, path: 'emu:cut', baudRate: 921600 }, (e) => (e ? rej(e) : res(p)));
    });
    let received = 0;
    port.on('data', (b: Buffer) => (received += b.length));
    port.on('error', () => {});
    const closed = new Promise<Error | null>((r) => port.once('close', (e: Error | null) => r(e)));
    port.write(patternBytes(5000));
    expect(await closed).toBeInstanceOf(DisconnectedError);
    expect(factory.instances[0].stats.toDevice.disconnected).toBe(true);
    expect(factory.instances[0].stats.toDevice.bytesIn).toBe(1000);
    expect(received).toBeLessThanOrEqual(1000);
  });

  it('a firmware reboot under a live link: garbage first, state lost, link kept', async () => {
    const board = rebootableDevice(reverseDevice, { seed: 5, staleBytes: 64 });
    handles.push(registerVirtualDevice('emu:reboot', board.factory));
    const port = await new Promise<SerialPortStream>((res, rej) => {
      const p = new SerialPortStream({ binding: VirtualBinding, path: 'emu:reboot', baudRate: 921600 }, (e) => (e ? rej(e) : res(p)));
    });
    let closed = false;
    port.once('close', () => (closed = true));
    port.write(Buffer.from('ab')); // half a message, lost in the reboot
    await new Promise<void>((r) => port.drain(() => r()));
    const garbage = collect(port, 64);
    board.reboot();
    expect((await garbage).equals(staleBytes(5, 64))).toBe(true);
    const answer = collect(port, 2);
    port.write(Buffer.from('c\0'));
    expect((await answer).toString()).toBe('c\0'); // not 'cba\0': the new firmware never saw 'ab'
    expect(board.reboots).toBe(1);
    expect(closed).toBe(false);
    await new Promise<void>((r) => port.close(() => r()));
  });
});

describe('pacing', () => {
  it('delivers no faster than the configured link rate (20 000 bytes at 200 000 B/s ≥ 100 ms)', async () => {
    const rate = 200_000;
    const link = pacedLink(new PassThrough(), { bytesPerSecond: rate, toDevice: false });
    const data = patternBytes(20_000, 4);
    const t0 = performance.now();
    const back = collect(link, data.length);
    link.write(data);
    expect((await back).equals(data)).toBe(true);
    const ms = performance.now() - t0;
    expect(ms).toBeGreaterThanOrEqual(95);
    expect(ms).toBeLessThan(2000); // not stuck (generous: shared CI cores)
    expect(baudToBytesPerSecond(921600)).toBe(92160);
  });

  it('rejects a nonsensical rate', () => {
    expect(() => pacedLink(new PassThrough(), { bytesPerSecond: 0 })).toThrow(/positive/);
  });
});
