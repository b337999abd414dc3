import { describe, it, expect, afterEach } from 'vitest';
import { SerialPortStream, DisconnectedError } from '@serialport/stream';
import {
  VirtualBinding,
  VirtualDeviceRegistry,
  createVirtualBinding,
  registerVirtualDevice,
  type VirtualDeviceHandle,
} from '../../src/driver/transports/virtual-binding.ts';
import { echoDevice, reverseDevice, patternBytes, collect } from './devices.ts';

const handles: VirtualDeviceHandle[] = [];
afterEach(() => {
  for (const h of handles.splice(0)) h.unregister();
});

function openPort(path: string, binding = VirtualBinding): Promise<SerialPortStream> {
  return new Promise((resolve, reject) => {
    const port = new SerialPortStream({ binding, path, baudRate: 921600 }, (err) => (err ? reject(err) : resolve(port)));
  });
}
const closePort = (p: SerialPortStream): Promise<void> => new Promise((r) => p.close(() => r()));

describe('in-process serial binding under the real SerialPortStream', () => {
  it('round-trips a request/answer with a reverse device', async () => {
    handles.push(registerVirtualDevice('emu:rev', reverseDevice));
    const port = await openPort('emu:rev');
    const answer = collect(port, 6);
    port.write(Buffer.from('hello\0'));
    expect((await answer).toString()).toBe('olleh\0');
    await closePort(port);
  });

  it('echoes 1 MiB written in 4 KiB chunks, byte for byte', async () => {
    handles.push(registerVirtualDevice('emu:echo', echoDevice));
    const port = await openPort('emu:echo');
    const data = patternBytes(1 << 20, 7);
    const back = collect(port, data.length);
    for (let i = 0; i < data.length; i += 4096) port.write(data.subarray(i, i + 4096));
    const got = await back;
    expect(got.length).toBe(data.length);
    expect(got.equals(data)).toBe(true);
    await closePort(port);
  });

  it('reports a device power-off during a pending read as close with a DisconnectedError', async () => {
    const h = registerVirtualDevice('emu:dies', echoDevice);
    handles.push(h);
    const port = await openPort('emu:dies');
    port.on('data', () => {}); // keeps a read in flight, as a driver does
    const closed = new Promise<Error | null>((r) => port.once('close', (e: Error | null) => r(e)));
    await new Promise((r) => setTimeout(r, 10));
    h.powerOff();
    const err = await closed;
    expect(err).toBeInstanceOf(DisconnectedError);
    expect((err as DisconnectedError).disconnected).toBe(true);
    expect(port.isOpen).toBe(false);
    // The next open powers on a fresh instance.
    const again = await openPort('emu:dies');
    expect(h.powerOns).toBe(2);
    await closePort(again);
  });

  it('refuses a second open of the same path like a locked tty, and allows it after close', async () => {
    handles.push(registerVirtualDevice('emu:lock', echoDevice));
    const first = await openPort('emu:lock');
    await expect(openPort('emu:lock')).rejects.toThrow(/Cannot lock port/);
    await closePort(first);
    const second = await openPort('emu:lock');
    await closePort(second);
  });

  it('fails to open an unregistered path with ENOENT', async () => {
    await expect(openPort('emu:nobody')).rejects.toMatchObject({ code: 'ENOENT' });
  });

  it('keeps the device powered across close/open (state survives a host reconnect)', async () => {
    const h = registerVirtualDevice('emu:keep', reverseDevice);
    handles.push(h);
    const a = await openPort('emu:keep');
    a.write(Buffer.from('ab')); // half a message, no terminator yet
    await new Promise<void>((r) => a.drain(() => r()));
    await closePort(a);
    const b = await openPort('emu:keep');
    const answer = collect(b, 4);
    b.write(Buffer.from('c\0'));
    expect((await answer).toString()).toBe('cba\0');
    expect(h.powerOns).toBe(1);
    await closePort(b);
  });
});

describe('binding port contract (direct calls)', () => {
  it('read after close rejects canceled; pending read is canceled by close; flush discards input', async () => {
    const reg = new VirtualDeviceRegistry();
    const h = reg.register('emu:direct', echoDevice);
    const binding = createVirtualBinding(reg);
    const port = await binding.open({ path: 'emu:direct', baudRate: 115200 });
    expect(port.openOptions).toMatchObject({ dataBits: 8, stopBits: 1, parity: 'none', baudRate: 115200 });
    await port.write(Buffer.from('xyz'));
    await port.drain();
    await port.flush();
    const buf = Buffer.alloc(16);
    const pending = port.read(buf, 0, 16);
    await port.write(Buffer.from('k'));
    const r = await pending;
    expect(buf.subarray(0, r.bytesRead).toString()).toBe('k'); // 'xyz' was flushed
    const pending2 = port.read(buf, 0, 16);
    await port.close();
    await expect(pending2).rejects.toMatchObject({ canceled: true });
    await expect(port.read(buf, 0, 16)).rejects.toMatchObject({ canceled: true });
    await expect(port.close()).rejects.toThrow(/not open/);
    expect((await binding.list()).map((p: { path: string }) => p.path)).toEqual(['emu:direct']);
    h.unregister();
    expect(await binding.list()).toEqual([]);
  });

  it('update/getBaudRate/set/get behave like a port', async () => {
    const reg = new VirtualDeviceRegistry();
    reg.register('emu:b', echoDevice);
    const port = await createVirtualBinding(reg).open({ path: 'emu:b', baudRate: 9600 });
    await port.update({ baudRate: 921600 });
    expect(await port.getBaudRate()).toEqual({ baudRate: 921600 });
    await expect(port.update({ baudRate: -5 })).rejects.toThrow(/baud/i);
    await port.set({ dtr: false });
    expect(port.controlFlags.dtr).toBe(false);
    expect(await port.get()).toEqual({ cts: true, dsr: true, dcd: true });
    await port.close();
  });
});
