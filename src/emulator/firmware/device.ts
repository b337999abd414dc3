// The emulated board and its links. A board holds one firmware instance (power-on state); a link
// is the byte Duplex a transport carries (DeviceEndpoint). createEmulatedDevice() gives a link
// whose destruction powers its board off (what a DeviceFactory means by "power-on"); an
// EmulatorBoard made explicitly stays powered across links, like a board behind a USB-serial
// bridge whose cable is pulled and plugged back: committed state survives, open uploads do not.
// A link made with { messages: true } also carries validated messages without bytes (the
// in-process message link): the firmware then answers by message; raw bytes written to the link
// still reach its frame decoder.
import { Duplex } from 'node:stream';
import { pino } from 'pino';
import type { Logger } from 'pino';
import { cobsDecode, cobsEncode } from '../../protocol/index.ts';
import type { LinkMessage, OpName } from '../../protocol/index.ts';
import type { DeviceEndpoint, DeviceFactory } from '../transports/device.ts';
import { staleBytes } from '../transports/faults.ts';
import { pacedLink } from '../transports/pacing.ts';
import { checkFaults } from './faults.ts';
import { Firmware } from './firmware.ts';
import { BoardMessagePort } from './message-port.ts';
import { resolveOptions } from './options.ts';
import type { EmulatorOptions, ResolvedOptions } from './options.ts';

/** Flips the CRC trailer of an encoded frame (re-encoded, so the damage is a CRC error, not COBS). */
function corruptCrc(frame: Buffer): Buffer {
  const lead = frame[0] === 0 ? 1 : 0;
  const inner = cobsDecode(frame.subarray(lead, frame.length - 1));
  if (!inner) return frame;
  const bad = Buffer.from(inner);
  bad[bad.length - 1] ^= 0x5a;
  return Buffer.concat([frame.subarray(0, lead), cobsEncode(bad), Buffer.of(0)]);
}

export class EmulatedLink extends Duplex {
  /** The message-level side of this link, when it was made with { messages: true }. */
  readonly messages: BoardMessagePort | null;

  constructor(
    readonly board: EmulatorBoard,
    opts: LinkOptions = {},
  ) {
    super({ allowHalfOpen: false, readableHighWaterMark: 1 << 20 });
    this.messages = opts.messages ? new BoardMessagePort((m) => board._receiveMessage(this, m)) : null;
  }
  override _write(chunk: Buffer, _enc: BufferEncoding, cb: (e?: Error | null) => void): void {
    this.board._receive(this, chunk);
    cb();
  }
  override _read(): void {}
  override _final(cb: (e?: Error | null) => void): void {
    // The host closed its side: the link is over.
    this.push(null);
    cb();
  }
  override _destroy(err: Error | null, cb: (e: Error | null) => void): void {
    this.messages?.close();
    this.board._detach(this);
    cb(err);
  }
  /** Sends bytes toward the host (board-internal). */
  _emit(b: Buffer): void {
    if (!this.destroyed && !this.readableEnded) this.push(b);
  }
}

export interface LinkOptions {
  /** Also carry validated messages (no COBS, CRC or MessagePack): the in-process message link. */
  messages?: boolean;
}

export interface BoardOptions {
  /** Destroying the link powers the board off (default false: the board outlives its links). */
  powerOffWithLink?: boolean;
}

export class EmulatorBoard {
  readonly options: ResolvedOptions;
  readonly log: Logger;
  private fw: Firmware;
  private link: EmulatedLink | null = null;
  private off = false;
  private readonly powerOffWithLink: boolean;
  // fault bookkeeping survives reboots so one-shot faults stay one-shot
  private admitted = 0;
  private framesOut = 0;
  private chunksSeen = 0;
  private rebootDone = false;
  private faultDone = false;
  private dropped = false;
  private bursts = 0;
  /** Power cycles so far (reboot fault, powerCycle()). */
  reboots = 0;

  constructor(opts: EmulatorOptions = {}, board: BoardOptions = {}) {
    this.options = resolveOptions(opts);
    checkFaults(this.options.faults);
    this.powerOffWithLink = board.powerOffWithLink ?? false;
    this.log = (opts.logger ?? pino({ level: 'silent' })).child({ device: this.options.identity.serial });
    this.fw = this.boot();
  }

  get firmware(): Firmware {
    return this.fw;
  }

  get poweredOn(): boolean {
    return !this.off;
  }

  private boot(): Firmware {
    const f = this.options.faults;
    const fw: Firmware = new Firmware(this.options, {
      logger: this.log,
      send: (frame) => this.send(fw, frame),
      messageLevel: () => this.link?.messages != null,
      deliver: (m) => this.deliver(fw, m),
      admit: (op) => this.admit(fw, op),
      congested: () => this.link !== null && this.link.readableLength > this.link.readableHighWaterMark,
      onBulkChunk: () => {
        this.chunksSeen++;
        if (f.dropLinkAtChunk === undefined || this.chunksSeen !== f.dropLinkAtChunk) return true;
        this.dropLink('mid-upload');
        return false;
      },
      onRunProgress: (tau) => {
        if (f.dropLinkAfterRunTau !== undefined && !this.dropped && tau >= f.dropLinkAfterRunTau) this.dropLink('mid-run');
      },
    });
    return fw;
  }

  /** Attaches a new link (a host plugged in); a previous link is dropped. */
  connect(opts: LinkOptions = {}): EmulatedLink {
    if (this.off) throw new Error('the emulated board is powered off');
    this.link?.destroy();
    const l = new EmulatedLink(this, opts);
    this.link = l;
    return l;
  }

  /** Power cycle under a live link: state lost, `stale` bytes of garbage reach the host first. */
  powerCycle(stale = this.options.faults.staleBytes ?? 64): void {
    if (this.off) return;
    this.reboots++;
    this.fw.shutdown();
    const garbage = staleBytes(this.options.seed + this.bursts++, stale);
    this.log.warn({ staleBytes: stale }, 'firmware reboot');
    this.link?._emit(garbage);
    this.fw = this.boot();
  }

  powerOff(): void {
    if (this.off) return;
    this.off = true;
    this.fw.shutdown();
    const l = this.link;
    this.link = null;
    l?.destroy();
  }

  private dropLink(why: string): void {
    const l = this.link;
    if (!l) return;
    this.dropped = true;
    this.log.warn({ why }, 'fault: dropping the link');
    // Nothing more goes out or comes in on it from here; the endpoint closes on the next turn.
    this.link = null;
    this.fw.linkLost();
    if (this.powerOffWithLink) this.powerOff();
    setImmediate(() => l.destroy());
  }

  private admit(fw: Firmware, op: OpName): boolean {
    const f = this.options.faults;
    if (fw !== this.fw) return false;
    if (f.rebootAfterRequests !== undefined && !this.rebootDone && this.admitted >= f.rebootAfterRequests) {
      this.rebootDone = true;
      this.powerCycle();
      return false;
    }
    if (f.hardwareFaultAfterRequests !== undefined && !this.faultDone && this.admitted >= f.hardwareFaultAfterRequests) {
      this.faultDone = true;
      fw.enterFault('injected hardware fault (faults.hardwareFaultAfterRequests)');
    }
    if (f.ignore?.includes(op)) return false;
    if (f.silentAfterRequests !== undefined && this.admitted >= f.silentAfterRequests) return false;
    this.admitted++;
    return true;
  }

  private send(fw: Firmware, frame: Buffer): void {
    if (fw !== this.fw || !this.link) return;
    const f = this.options.faults;
    this.framesOut++;
    let out = frame;
    if (f.corruptCrcEvery !== undefined && this.framesOut % f.corruptCrcEvery === 0) out = corruptCrc(frame);
    const link = this.link;
    if (f.replyDelayMs) setTimeout(() => link._emit(out), f.replyDelayMs);
    else link._emit(out);
  }

  /** The message-level twin of send(): same fault switches; a "corrupted" frame is lost as a byte link would lose it. */
  private deliver(fw: Firmware, m: LinkMessage): void {
    const port = this.link?.messages;
    if (fw !== this.fw || !port) return;
    const f = this.options.faults;
    this.framesOut++;
    if (f.corruptCrcEvery !== undefined && this.framesOut % f.corruptCrcEvery === 0) return port._lose('badCrc');
    if (f.replyDelayMs) setTimeout(() => port._deliver(m), f.replyDelayMs);
    else port._deliver(m);
  }

  /** @internal a validated message from the host through `link` */
  _receiveMessage(link: EmulatedLink, m: LinkMessage): void {
    if (link !== this.link || this.off) return;
    this.fw.receiveMessage(m);
  }

  /** @internal bytes from the host through `link` */
  _receive(link: EmulatedLink, chunk: Buffer): void {
    if (link !== this.link || this.off) return;
    this.fw.receive(chunk);
  }

  /** @internal a link went away */
  _detach(link: EmulatedLink): void {
    if (link !== this.link) return;
    this.link = null;
    if (this.powerOffWithLink) this.powerOff();
    else this.fw.linkLost();
  }

  /** A DeviceFactory whose every call is a new link to this same board. */
  get factory(): DeviceFactory {
    return () => this.wrap(this.connect());
  }

  /** Applies link pacing, if configured. */
  wrap(link: EmulatedLink): DeviceEndpoint {
    const rate = this.options.pacing.linkBytesPerSecond;
    if (rate === undefined) return link;
    return Object.assign(pacedLink(link, { bytesPerSecond: rate }), { emulator: this });
  }
}

/** One powered-on emulated device as a byte Duplex; destroy() is power-off. */
export function createEmulatedDevice(opts: EmulatorOptions = {}): DeviceEndpoint {
  const board = new EmulatorBoard(opts, { powerOffWithLink: true });
  return board.wrap(board.connect());
}

/**
 * One powered-on emulated device for the in-process message link: its `messages` port takes
 * validated messages straight into the firmware, its byte side still takes raw frames.
 * destroy() is power-off. Link pacing does not apply (it paces bytes).
 */
export function createMessageLinkDevice(opts: EmulatorOptions = {}): EmulatedLink & { messages: BoardMessagePort } {
  const board = new EmulatorBoard(opts, { powerOffWithLink: true });
  return board.connect({ messages: true }) as EmulatedLink & { messages: BoardMessagePort };
}

/** A DeviceFactory: each call powers on a fresh emulated device. */
export function emulatorFactory(opts: EmulatorOptions = {}): DeviceFactory {
  return () => createEmulatedDevice(opts);
}

/** The board behind an endpoint made by createEmulatedDevice/EmulatorBoard (for tests and tools). */
export function boardOf(endpoint: DeviceEndpoint): EmulatorBoard | undefined {
  if (endpoint instanceof EmulatedLink) return endpoint.board;
  return (endpoint as { emulator?: EmulatorBoard }).emulator;
}
