// Link-rate pacing (off by default): bytes leave no faster than a real UART would carry them,
// so host timeouts and pipelining see hardware-like timing. Each direction has its own budget
// (serial links are full duplex). 8N1 framing puts 10 bits on the wire per byte.
import { Duplex } from 'node:stream';
import type { DeviceEndpoint, DeviceFactory } from './device.ts';
import { TimedQueue } from './timed-queue.ts';

export function baudToBytesPerSecond(baud: number, bitsPerByte = 10): number {
  return baud / bitsPerByte;
}

export interface PacingOptions {
  bytesPerSecond: number;
  /** Pace host→device bytes (written into the wrapper). Default true. */
  toDevice?: boolean;
  /** Pace device→host bytes (read out of the wrapper). Default true. */
  toHost?: boolean;
}

/** Serialises chunks onto a virtual wire of `rate` bytes/s, slicing them at ~1 ms granularity. */
class Wire {
  private freeAt = 0;
  private readonly slice: number;

  constructor(
    private readonly rate: number,
    private readonly queue: TimedQueue,
  ) {
    this.slice = Math.max(1, Math.floor(rate / 1000));
  }

  send(buf: Buffer): void {
    let t = Math.max(performance.now(), this.freeAt);
    for (let i = 0; i < buf.length; i += this.slice) {
      const part = buf.subarray(i, i + this.slice);
      t += (part.length / this.rate) * 1000;
      this.queue.push(part, t); // a byte is available once its last bit arrived
    }
    this.freeAt = t;
  }
}

export class PacedLink extends Duplex {
  private readonly downQ: TimedQueue;
  private readonly upQ: TimedQueue;
  private readonly down: Wire | null;
  private readonly up: Wire | null;

  constructor(
    private readonly inner: Duplex,
    opts: PacingOptions,
  ) {
    super({ allowHalfOpen: true });
    if (!(opts.bytesPerSecond > 0) || !Number.isFinite(opts.bytesPerSecond)) {
      throw new RangeError(`bytesPerSecond must be a positive number, got ${opts.bytesPerSecond}`);
    }
    this.downQ = new TimedQueue((b) => void inner.write(b));
    this.upQ = new TimedQueue((b) => {
      if (!this.push(b)) inner.pause();
    });
    this.down = opts.toDevice === false ? null : new Wire(opts.bytesPerSecond, this.downQ);
    this.up = opts.toHost === false ? null : new Wire(opts.bytesPerSecond, this.upQ);
    inner.on('data', (c: Buffer) => {
      if (this.up) this.up.send(c);
      else if (!this.push(c)) inner.pause();
    });
    inner.once('end', () => void this.upQ.idle().then(() => this.push(null)));
    inner.once('close', () => this.destroy());
    inner.on('error', (e: Error) => this.destroy(e));
  }

  override _read(): void {
    if (this.inner.isPaused()) this.inner.resume();
  }

  override _write(chunk: Buffer, _enc: BufferEncoding, cb: (e?: Error | null) => void): void {
    if (!this.down) {
      if (this.inner.write(chunk)) cb();
      else this.inner.once('drain', () => cb());
      return;
    }
    this.down.send(chunk);
    // Like a UART driver with a small FIFO: accept more once the wire has caught up.
    void this.downQ.idle().then(() => cb());
  }

  override _final(cb: (e?: Error | null) => void): void {
    void this.downQ.idle().then(() => {
      this.inner.end();
      cb();
    });
  }

  override _destroy(err: Error | null, cb: (e: Error | null) => void): void {
    this.downQ.stop();
    this.upQ.stop();
    if (!this.inner.destroyed) this.inner.destroy();
    cb(err);
  }
}

export function pacedLink(inner: Duplex, opts: PacingOptions): PacedLink {
  return new PacedLink(inner, opts);
}

/** A factory whose devices talk at `opts.bytesPerSecond`, like hardware behind a UART. */
export function pacedDevice(factory: DeviceFactory, opts: PacingOptions): DeviceFactory {
  return (): DeviceEndpoint => pacedLink(factory(), opts);
}
