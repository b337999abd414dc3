// The OS serial binding with three changes: a read that returns 0 bytes is reported as a
// disconnect, the poller keeps waiting for every pending event (see pollForAllWaiters), and reads
// and writes go straight to the non-blocking descriptor instead of through libuv's thread pool.
//
// Why: @serialport/bindings-cpp 13 (unixRead) retries a 0-byte read forever. A tty whose far end
// hung up (a pty whose socat/emulator died, some USB-serial drivers on unplug) returns 0 on every
// read, so the stock binding spins in a silent busy loop and never reports the disconnect
// (observed here: 1 in ~20 pty power-offs). The port is opened non-blocking (O_NONBLOCK), so "no
// data yet" is EAGAIN, never 0: a 0-byte read means end of file, i.e. the device is gone.
//
// Why direct I/O: on a non-blocking descriptor a read or write returns at once (data, a partial
// write, or EAGAIN, after which we wait for the poller as the stock binding does), so handing it
// to the thread pool only adds a thread hand-off and a callback per call. A pty takes a few KiB
// per write, so a 64 KiB frame is many writes, and every reply is a read: over a pty to an
// emulator process the hand-offs were a large share of the host's CPU per upload.
import { readSync, writeSync } from 'node:fs';
import { SerialPort } from 'serialport';
import type { BindingInterface, BindingPortInterface, OpenOptions } from '@serialport/bindings-interface' with { 'resolution-mode': 'require' };

interface UnixPortInternals {
  fd: number | null;
  /** what the stock binding's drain() awaits: the write in progress */
  writeOperation?: Promise<void> | null;
  poller?: {
    once(event: 'readable' | 'writable', cb: (err: Error | null) => void): unknown;
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

const retryable = (e: unknown): boolean => {
  const code = (e as NodeJS.ErrnoException).code;
  return code === 'EAGAIN' || code === 'EWOULDBLOCK' || code === 'EINTR';
};

const pollFor = (port: UnixPortInternals, event: 'readable' | 'writable'): Promise<void> =>
  new Promise<void>((resolve, reject) => port.poller!.once(event, (err) => (err ? reject(err) : resolve())));

/** Ports whose last read emptied the kernel's buffer (it returned less than asked for). */
const drained = new WeakSet<object>();

async function hangupAwareRead(port: BindingPortInterface & UnixPortInternals, path: string, buffer: Buffer, offset: number, length: number) {
  // After a short read the next one would find nothing: wait for data first rather than pay a
  // failed read (and the error object Node builds for its EAGAIN) per reply.
  if (drained.has(port)) {
    drained.delete(port);
    if (port.isOpen && port.fd !== null) await pollFor(port, 'readable');
  }
  for (;;) {
    if (!port.isOpen || port.fd === null) throw canceled();
    let n: number;
    try {
      n = readSync(port.fd, buffer, offset, length, null);
    } catch (e) {
      if (!retryable(e)) throw e;
      if (!port.isOpen) throw canceled();
      if ((e as NodeJS.ErrnoException).code !== 'EINTR') await pollFor(port, 'readable');
      continue;
    }
    if (n > 0) {
      if (n < length) drained.add(port);
      return { buffer, bytesRead: n };
    }
    throw new HangupError(path);
  }
}

/** Writes all of `buffer`; errors as the stock unixWrite reports them (disconnect flagged). */
async function directWrite(port: BindingPortInterface & UnixPortInternals, buffer: Buffer): Promise<void> {
  let offset = 0;
  while (offset < buffer.length) {
    if (!port.isOpen || port.fd === null) throw new Error('Port is not open');
    try {
      const n = writeSync(port.fd, buffer, offset, buffer.length - offset);
      offset += n;
      // a partial write means the buffer is full: the next attempt would fail, so wait for room
      if (offset < buffer.length && port.isOpen) await pollFor(port, 'writable');
    } catch (e) {
      if (!retryable(e)) {
        const err = e as NodeJS.ErrnoException & { disconnect?: boolean };
        // as the stock binding: closed under us, or the device went away (USB unplug)
        if (err.code === 'EBADF' || err.code === 'ENXIO' || err.code === 'UNKNOWN' || err.errno === -1) err.disconnect = true;
        throw err;
      }
      if (!port.isOpen) throw new Error('Port is not open');
      if ((e as NodeJS.ErrnoException).code !== 'EINTR') await pollFor(port, 'writable');
    }
  }
}

/** Wraps `base` (default: the platform binding serialport uses) with the changes above. */
export function hangupAwareBinding(base: BindingInterface = SerialPort.binding as unknown as BindingInterface): BindingInterface {
  return {
    list: () => base.list(),
    async open(options: OpenOptions) {
      const port = (await base.open(options)) as BindingPortInterface & UnixPortInternals;
      // Only the unix bindings have the fd + poller this fix relies on; others are left alone.
      if (typeof port.fd === 'number' && port.poller && typeof port.poller.once === 'function') {
        pollForAllWaiters(port.poller);
        const origRead = port.read.bind(port);
        port.read = async (buffer: Buffer, offset: number, length: number) => {
          if (!Buffer.isBuffer(buffer) || buffer.length < offset + length) return origRead(buffer, offset, length);
          return hangupAwareRead(port, options.path, buffer, offset, length);
        };
        const origWrite = port.write.bind(port);
        port.write = (buffer: Buffer) => {
          // the stock checks and messages for what is not ours to write
          if (!Buffer.isBuffer(buffer) || !port.isOpen || buffer.length === 0) return origWrite(buffer);
          const op = directWrite(port, buffer).then(() => {
            if (port.writeOperation === op) port.writeOperation = null;
          });
          port.writeOperation = op;
          return op;
        };
      }
      return port;
    },
  };
}
