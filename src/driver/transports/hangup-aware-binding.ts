// The OS serial binding with two fixes: a read that returns 0 bytes is reported as a disconnect,
// and the poller keeps waiting for every pending event (see pollForAllWaiters).
//
// Why: @serialport/bindings-cpp 13 (unixRead) retries a 0-byte read forever. A tty whose far end
// hung up (a pty whose socat/emulator died, some USB-serial drivers on unplug) returns 0 on every
// read, so the stock binding spins in a silent busy loop and never reports the disconnect
// (observed here: 1 in ~20 pty power-offs). The port is opened non-blocking, so "no data yet"
// is EAGAIN, never 0: a 0-byte read means end of file, i.e. the device is gone.
import { read as fsRead } from 'node:fs';
import { SerialPort } from 'serialport';
import type { BindingInterface, BindingPortInterface, OpenOptions } from '@serialport/bindings-interface' with { 'resolution-mode': 'require' };

interface UnixPortInternals {
  fd: number | null;
  poller?: {
    once(event: 'readable', cb: (err: Error | null) => void): unknown;
    poll?(flag?: number): void;
    listenerCount?(event: string): number;
  };
}

// Poller event flags of bindings-cpp (UV_READABLE, UV_WRITABLE, UV_DISCONNECT).
const POLL_FLAGS = { readable: 1, writable: 2, disconnect: 4 } as const;

/**
 * bindings-cpp 13's Poller.poll(flag) restarts the OS poll with `flag` alone, dropping what else
 * was being waited for: a read re-arming 'readable' silences a write waiting for 'writable' (the
 * pty/tty buffer was full). If the device then waits for the rest of that frame, nothing ever
 * fires again and the link stalls (observed on ptys with 64 KiB frames, ~1 upload in 8). Poll
 * for every event that still has a waiter.
 */
function pollForAllWaiters(poller: NonNullable<UnixPortInternals['poller']>): void {
  if (typeof poller.poll !== 'function' || typeof poller.listenerCount !== 'function') return;
  const poll = poller.poll.bind(poller);
  const count = poller.listenerCount.bind(poller);
  poller.poll = (flag = 0) => {
    let all = flag;
    for (const [event, bit] of Object.entries(POLL_FLAGS)) if (count(event) > 0) all |= bit;
    poll(all);
  };
}

class HangupError extends Error {
  readonly disconnect = true;
  readonly canceled = false;
  constructor(path: string) {
    super(`${path}: the device hung up (end of file on the port)`);
    this.name = 'HangupError';
  }
}

const canceled = (): Error => Object.assign(new Error('Port is not open'), { canceled: true });

function readOnce(fd: number, buffer: Buffer, offset: number, length: number): Promise<number> {
  return new Promise((resolve, reject) => fsRead(fd, buffer, offset, length, null, (err, n) => (err ? reject(err) : resolve(n))));
}

async function hangupAwareRead(port: BindingPortInterface & UnixPortInternals, path: string, buffer: Buffer, offset: number, length: number) {
  for (;;) {
    if (!port.isOpen || port.fd === null) throw canceled();
    try {
      const n = await readOnce(port.fd, buffer, offset, length);
      if (n > 0) return { buffer, bytesRead: n };
    } catch (e) {
      const code = (e as NodeJS.ErrnoException).code;
      if (code !== 'EAGAIN' && code !== 'EWOULDBLOCK' && code !== 'EINTR') throw e;
      if (!port.isOpen) throw canceled();
      await new Promise<void>((resolve, reject) => port.poller!.once('readable', (err) => (err ? reject(err) : resolve())));
      continue;
    }
    throw new HangupError(path);
  }
}

/** Wraps `base` (default: the platform binding serialport uses) with the 0-byte-read fix. */
export function hangupAwareBinding(base: BindingInterface = SerialPort.binding as unknown as BindingInterface): BindingInterface {
  return {
    list: () => base.list(),
    async open(options: OpenOptions) {
      const port = (await base.open(options)) as BindingPortInterface & UnixPortInternals;
      // Only the unix bindings have the fd + poller this fix relies on; others are left alone.
      if (typeof port.fd === 'number' && port.poller && typeof port.poller.once === 'function') {
        pollForAllWaiters(port.poller);
        const orig = port.read.bind(port);
        port.read = async (buffer: Buffer, offset: number, length: number) => {
          if (!Buffer.isBuffer(buffer) || buffer.length < offset + length) return orig(buffer, offset, length);
          return hangupAwareRead(port, options.path, buffer, offset, length);
        };
      }
      return port;
    },
  };
}
