// Fault injection for byte links, deterministic per seed. Wraps any byte Duplex whose writable
// side carries host→device bytes and whose readable side carries device→host bytes: that holds
// both for a host's link (wrap what openLink returned) and for a device endpoint (wrap what a
// DeviceFactory returns, e.g. with faultyDevice). Each direction has its own fault settings and
// its own PRNG stream, and per-byte faults depend only on the byte's position in its direction,
// never on how the bytes were chunked: the same seed gives the same corrupted stream.
import { Duplex } from 'node:stream';
import type { DeviceEndpoint, DeviceFactory } from './device.ts';
import { Prng } from './prng.ts';
import { TimedQueue } from './timed-queue.ts';

export interface FaultSpec {
  /** Probability that a byte is lost. */
  dropRate?: number;
  /** Probability that a (not dropped) byte is replaced by a different byte value. */
  corruptRate?: number;
  /** Probability that a (not dropped) byte is delivered twice. */
  duplicateRate?: number;
  /** Every chunk arrives this much later (order kept). */
  delayMs?: number;
  /** Bytes after this many are held: the link goes silent (a hung device, a stuck FIFO). */
  stallAfterBytes?: number;
  /** How long the stall lasts; held bytes are then delivered. Default: forever (they are lost). */
  stallMs?: number;
  /** After this many bytes have passed, the whole link is torn down (cable pulled). */
  disconnectAfterBytes?: number;
}

export interface FaultyLinkOptions extends FaultSpec {
  seed: number;
  /** Overrides for bytes written into the wrapper (host→device). */
  toDevice?: FaultSpec;
  /** Overrides for bytes read out of the wrapper (device→host). */
  toHost?: FaultSpec;
  /** Bytes emitted toward the host before anything else (stale output of a previous session). */
  preamble?: Buffer;
}

export interface FaultStats {
  bytesIn: number;
  bytesOut: number;
  dropped: number;
  corrupted: number;
  duplicated: number;
  /** Bytes held by a stall (lost if the stall never ends). */
  stalledBytes: number;
  disconnected: boolean;
}

function checkSpec(dir: string, s: FaultSpec): void {
  for (const k of ['dropRate', 'corruptRate', 'duplicateRate'] as const) {
    const v = s[k];
    if (v !== undefined && !(v >= 0 && v <= 1)) throw new RangeError(`${dir}.${k} must be in [0, 1], got ${v}`);
  }
  for (const k of ['delayMs', 'stallAfterBytes', 'stallMs', 'disconnectAfterBytes'] as const) {
    const v = s[k];
    if (v !== undefined && !(v >= 0)) throw new RangeError(`${dir}.${k} must be ≥ 0, got ${v}`);
  }
}

/** One direction: per-byte faults, then timing (delay/stall), then delivery. */
class FaultStage {
  readonly stats: FaultStats = { bytesIn: 0, bytesOut: 0, dropped: 0, corrupted: 0, duplicated: 0, stalledBytes: 0, disconnected: false };
  readonly queue: TimedQueue;
  private stallUntil: number | null = null;
  private stallOver = false;
  private cut = false;

  constructor(
    private readonly spec: FaultSpec,
    private readonly rng: Prng,
    deliver: (buf: Buffer) => void,
    private readonly onDisconnect: () => void,
  ) {
    this.queue = new TimedQueue((buf) => {
      this.stats.bytesOut += buf.length;
      deliver(buf);
    });
  }

  /** True when bytes can go straight through (no queue needed to keep order). */
  get direct(): boolean {
    return !this.spec.delayMs && this.queue.pending === 0 && (this.stallUntil === null || this.stallOver);
  }

  input(chunk: Buffer, deliverNow: (buf: Buffer) => void): void {
    if (this.cut || chunk.length === 0) return;
    const s = this.spec;
    let n = chunk.length;
    let disconnectNow = false;
    if (s.disconnectAfterBytes !== undefined && this.stats.bytesIn + n >= s.disconnectAfterBytes) {
      n = Math.max(0, s.disconnectAfterBytes - this.stats.bytesIn);
      disconnectNow = true;
    }
    const now = performance.now();
    let held = 0;
    if (s.stallAfterBytes !== undefined && !this.stallOver && this.stats.bytesIn + n > s.stallAfterBytes) {
      this.stallUntil ??= now + (s.stallMs ?? Infinity);
      if (now >= this.stallUntil) this.stallOver = true; // the hiccup is over
      else held = Math.min(n, this.stats.bytesIn + n - s.stallAfterBytes);
    }
    // Mutating the two parts in sequence keeps the PRNG stream tied to byte positions.
    const free = this.mutate(chunk.subarray(0, n - held));
    const stalled = this.mutate(chunk.subarray(n - held, n));
    this.stats.bytesIn += n;
    if (free.length > 0) {
      if (this.direct) {
        this.stats.bytesOut += free.length;
        deliverNow(free);
      } else this.queue.push(free, now + (s.delayMs ?? 0));
    }
    if (held > 0) {
      this.stats.stalledBytes += held;
      const until = this.stallUntil as number;
      if (Number.isFinite(until) && stalled.length > 0) this.queue.push(stalled, Math.max(until, now + (s.delayMs ?? 0)));
    }
    if (disconnectNow) {
      this.cut = true;
      this.stats.disconnected = true;
      void this.queue.idle().then(this.onDisconnect);
    }
  }

  private mutate(bytes: Buffer): Buffer {
    const { dropRate = 0, corruptRate = 0, duplicateRate = 0 } = this.spec;
    if (dropRate === 0 && corruptRate === 0 && duplicateRate === 0) return bytes;
    const out = Buffer.allocUnsafe(bytes.length * 2);
    let k = 0;
    const rng = this.rng;
    for (let i = 0; i < bytes.length; i++) {
      let b = bytes[i];
      if (dropRate > 0 && rng.next() < dropRate) {
        this.stats.dropped++;
        continue;
      }
      if (corruptRate > 0 && rng.next() < corruptRate) {
        b ^= 1 + (rng.nextU32() % 255); // never a no-op
        this.stats.corrupted++;
      }
      out[k++] = b;
      if (duplicateRate > 0 && rng.next() < duplicateRate) {
        out[k++] = b;
        this.stats.duplicated++;
      }
    }
    return out.subarray(0, k);
  }
}

export class FaultyLink extends Duplex {
  readonly stats: { readonly toDevice: FaultStats; readonly toHost: FaultStats };
  private readonly down: FaultStage;
  private readonly up: FaultStage;

  constructor(
    private readonly inner: Duplex,
    opts: FaultyLinkOptions,
  ) {
    super({ allowHalfOpen: true });
    const { seed, toDevice, toHost, preamble, ...both } = opts;
    if (!Number.isInteger(seed)) throw new TypeError(`seed must be an integer, got ${seed}`);
    const downSpec = { ...both, ...toDevice };
    const upSpec = { ...both, ...toHost };
    checkSpec('toDevice', downSpec);
    checkSpec('toHost', upSpec);
    const disconnect = (): void => {
      if (!this.destroyed) this.destroy();
    };
    this.down = new FaultStage(downSpec, new Prng(seed, 1), (b) => void inner.write(b), disconnect);
    this.up = new FaultStage(upSpec, new Prng(seed, 2), (b) => this.pushUp(b), disconnect);
    this.stats = { toDevice: this.down.stats, toHost: this.up.stats };
    if (preamble && preamble.length > 0) this.push(preamble);
    inner.on('data', (c: Buffer) => this.up.input(c, (b) => this.pushUp(b)));
    inner.once('end', () => void this.up.queue.idle().then(() => this.push(null)));
    inner.once('close', () => this.destroy());
    inner.on('error', (e: Error) => this.destroy(e));
  }

  private pushUp(b: Buffer): void {
    if (!this.destroyed && !this.push(b)) this.inner.pause();
  }

  override _read(): void {
    if (this.inner.isPaused()) this.inner.resume();
  }

  override _write(chunk: Buffer, _enc: BufferEncoding, cb: (e?: Error | null) => void): void {
    this.down.input(chunk, (b) => void this.inner.write(b));
    if (this.inner.writableNeedDrain && !this.inner.destroyed) this.inner.once('drain', () => cb());
    else cb();
  }

  override _final(cb: (e?: Error | null) => void): void {
    void this.down.queue.idle().then(() => {
      this.inner.end();
      cb();
    });
  }

  override _destroy(err: Error | null, cb: (e: Error | null) => void): void {
    this.down.queue.stop();
    this.up.queue.stop();
    if (!this.inner.destroyed) this.inner.destroy();
    cb(err);
  }
}

export function faultyLink(inner: Duplex, opts: FaultyLinkOptions): FaultyLink {
  return new FaultyLink(inner, opts);
}

/**
 * A factory whose every power-on is wrapped in faults; the n-th instance uses seed + n so that
 * a reconnect does not replay the same faults. `instances` exposes the wrappers (and stats).
 */
export function faultyDevice(factory: DeviceFactory, opts: FaultyLinkOptions): DeviceFactory & { instances: FaultyLink[] } {
  const instances: FaultyLink[] = [];
  const f = (): DeviceEndpoint => {
    const w = faultyLink(factory(), { ...opts, seed: opts.seed + instances.length });
    instances.push(w);
    return w;
  };
  return Object.assign(f, { instances });
}

/** Garbage a rebooting board spews (half frames, boot-ROM chatter): deterministic per seed. */
export function staleBytes(seed: number, length: number): Buffer {
  return new Prng(seed, 3).bytes(length);
}

export interface RebootableDevice {
  /** Pass this to a transport. Each call is one power-on of the board. */
  readonly factory: DeviceFactory;
  /**
   * Reboots the firmware in place: the link stays up (a USB-serial bridge stays enumerated), the
   * device state is lost, and the host first receives `staleBytes` bytes of garbage.
   */
  reboot(): void;
  readonly reboots: number;
}

/**
 * A board whose firmware can reboot under a live link. With staleOnPowerOn, every power-on (for
 * instance after the host reconnects to a power-cycled board) also starts with garbage.
 */
export function rebootableDevice(
  factory: DeviceFactory,
  opts: { seed: number; staleBytes?: number; staleOnPowerOn?: boolean },
): RebootableDevice {
  const garbageLen = opts.staleBytes ?? 64;
  let reboots = 0;
  let bursts = 0;
  let current: Board | null = null;
  // The n-th garbage burst (0-based, reboots and stale power-ons alike) is staleBytes(seed + n).
  const garbage = (): Buffer => staleBytes(opts.seed + bursts++, garbageLen);
  return {
    factory: () => {
      current = new Board(factory, opts.staleOnPowerOn ? garbage() : null);
      return current;
    },
    reboot() {
      reboots++;
      current?.swap(garbage());
    },
    get reboots() {
      return reboots;
    },
  };
}

/** Outer endpoint that survives firmware reboots by swapping the inner device. */
class Board extends Duplex {
  private inner!: DeviceEndpoint;
  private detach: () => void = () => {};

  constructor(
    private readonly factory: DeviceFactory,
    preamble: Buffer | null,
  ) {
    super({ allowHalfOpen: true });
    if (preamble) this.push(preamble);
    this.attach(factory());
  }

  private attach(d: DeviceEndpoint): void {
    this.inner = d;
    const onData = (c: Buffer): void => {
      if (!this.push(c)) d.pause();
    };
    const onGone = (): void => {
      if (this.inner === d) this.destroy();
    };
    d.on('data', onData);
    d.once('close', onGone);
    d.on('error', () => {});
    this.detach = () => {
      d.off('data', onData);
      d.off('close', onGone);
    };
  }

  swap(garbage: Buffer): void {
    if (this.destroyed) return;
    this.detach();
    this.inner.destroy();
    this.push(garbage);
    this.attach(this.factory());
  }

  override _read(): void {
    if (this.inner.isPaused()) this.inner.resume();
  }

  override _write(chunk: Buffer, _enc: BufferEncoding, cb: (e?: Error | null) => void): void {
    if (this.inner.write(chunk)) cb();
    else this.inner.once('drain', () => cb());
  }

  override _final(cb: (e?: Error | null) => void): void {
    this.inner.end();
    cb();
  }

  override _destroy(err: Error | null, cb: (e: Error | null) => void): void {
    this.detach();
    if (!this.inner.destroyed) this.inner.destroy();
    cb(err);
  }
}
