// An in-process serial "port": a @serialport/bindings-interface binding whose far end is a
// device Duplex living in this process. The production SerialPortStream (and every parser and
// driver layer above it) runs unchanged, on any OS, with no kernel tty.
//
// Semantics follow the Linux bindings (bindings-cpp) so code tested here behaves the same on a
// real port: reads resolve only when bytes exist; a read pending at close() rejects with
// `canceled`; a device that powers off makes the pending read reject *without* `canceled`, which
// SerialPortStream turns into a 'close' event carrying a DisconnectedError; a second open of the
// same path fails with "Cannot lock port".
//
// The device is host-agnostic (structurally a Duplex: written bytes come from the host, read
// bytes go to the host, destroy() = power-off). It stays powered while ports open and close, as a
// real board does; once it dies, the next open powers on a fresh instance from the factory.
import type { Duplex } from 'node:stream';
import type {
  BindingInterface,
  BindingPortInterface,
  OpenOptions,
  PortInfo,
  PortStatus,
  SetOptions,
  UpdateOptions,
} from '@serialport/bindings-interface' with { 'resolution-mode': 'require' };
// (The package's ESM export has no .d.mts; its types are reachable through the require condition.)

export type VirtualDevice = Duplex;
export type VirtualDeviceFactory = () => VirtualDevice;

/** Mirrors bindings-cpp's BindingsError: `canceled` for close-while-pending, `disconnect` for loss. */
export class VirtualBindingError extends Error {
  readonly canceled: boolean;
  readonly disconnect: boolean;
  readonly code: string | undefined;
  constructor(message: string, opts: { canceled?: boolean; disconnect?: boolean; code?: string } = {}) {
    super(message);
    this.name = 'VirtualBindingError';
    this.canceled = opts.canceled ?? false;
    this.disconnect = opts.disconnect ?? false;
    this.code = opts.code;
  }
}

/** Host-side receive buffer above which the device is paused (models RTS/CTS flow control). */
const RX_HIGH_WATER = 256 * 1024;

const OPEN_DEFAULTS = {
  dataBits: 8,
  lock: true,
  stopBits: 1,
  parity: 'none',
  rtscts: false,
  xon: false,
  xoff: false,
  xany: false,
  hupcl: true,
} as const;

interface Slot {
  readonly path: string;
  readonly factory: VirtualDeviceFactory;
  device: VirtualDevice | null;
  port: VirtualPortBinding | null;
  powerOns: number;
  removed: boolean;
}

export interface VirtualDeviceHandle {
  readonly path: string;
  /** Number of device instances created so far (1 after the first open). */
  readonly powerOns: number;
  /** The live device instance, if powered. */
  readonly device: VirtualDevice | null;
  /** Destroys the live instance (an open port sees a disconnect); the next open powers on anew. */
  powerOff(): void;
  /** powerOff() and forget the path. Idempotent. */
  unregister(): void;
}

function isDead(d: VirtualDevice): boolean {
  return d.destroyed || d.readableEnded || d.writableEnded || d.writableFinished;
}

export class VirtualDeviceRegistry {
  private readonly slots = new Map<string, Slot>();

  register(path: string, factory: VirtualDeviceFactory): VirtualDeviceHandle {
    if (typeof path !== 'string' || path.length === 0) throw new TypeError('virtual device path must be a non-empty string');
    if (this.slots.has(path)) throw new Error(`a virtual device is already registered at ${path}`);
    const slot: Slot = { path, factory, device: null, port: null, powerOns: 0, removed: false };
    this.slots.set(path, slot);
    const powerOff = (): void => {
      const d = slot.device;
      if (d && !d.destroyed) d.destroy();
    };
    return {
      path,
      get powerOns() {
        return slot.powerOns;
      },
      get device() {
        return slot.device;
      },
      powerOff,
      unregister: () => {
        if (slot.removed) return;
        slot.removed = true;
        this.slots.delete(path);
        powerOff();
      },
    };
  }

  paths(): string[] {
    return [...this.slots.keys()];
  }

  /** @internal used by the binding */
  slot(path: string): Slot | undefined {
    return this.slots.get(path);
  }
}

/** Ensures a live device instance in the slot and wires its output to whichever port is open. */
function powerOn(slot: Slot): VirtualDevice {
  if (slot.device && !isDead(slot.device)) return slot.device;
  const device = slot.factory();
  slot.device = device;
  slot.powerOns += 1;
  let lost = false;
  const onLost = (err?: Error): void => {
    if (lost) return;
    lost = true;
    if (slot.device === device) slot.device = null;
    slot.port?.deviceLost(device, err);
  };
  device.on('data', (chunk: Buffer | string) => {
    const port = slot.port;
    // Nobody has the port open: bytes fall on the floor, as on an unattended UART.
    if (!port || !port.isOpen) return;
    port.deliver(device, typeof chunk === 'string' ? Buffer.from(chunk) : chunk);
  });
  device.on('end', () => onLost());
  device.on('close', () => onLost());
  device.on('error', (err: Error) => onLost(err));
  return device;
}

type PendingRead = {
  buffer: Buffer;
  offset: number;
  length: number;
  resolve: (r: { buffer: Buffer; bytesRead: number }) => void;
  reject: (e: Error) => void;
};

export class VirtualPortBinding implements BindingPortInterface {
  readonly openOptions: Required<OpenOptions>;
  private open = true;
  private readonly rx: Buffer[] = [];
  private rxBytes = 0;
  private pendingRead: PendingRead | null = null;
  private lostError: VirtualBindingError | null = null;
  private writeOperation: Promise<void> | null = null;
  private readonly waiters = new Set<(e: Error) => void>();
  private baudRate: number;
  private flags: SetOptions = { brk: false, cts: false, dsr: false, dtr: true, rts: true };

  /** @internal created by the binding's open() */
  constructor(
    private readonly slot: Slot,
    private readonly device: VirtualDevice,
    openOptions: Required<OpenOptions>,
  ) {
    this.openOptions = openOptions;
    this.baudRate = openOptions.baudRate;
  }

  get isOpen(): boolean {
    return this.open;
  }

  /** @internal bytes from the device */
  deliver(from: VirtualDevice, chunk: Buffer): void {
    if (from !== this.device || !this.open || chunk.length === 0) return;
    this.rx.push(chunk);
    this.rxBytes += chunk.length;
    this.servePendingRead();
    if (this.rxBytes > RX_HIGH_WATER) this.device.pause();
  }

  /** @internal the device powered off, ended or failed */
  deviceLost(from: VirtualDevice, cause?: Error): void {
    if (from !== this.device || this.lostError) return;
    const why = cause ? `: ${cause.message}` : '';
    this.lostError = new VirtualBindingError(`Device ${this.slot.path} disconnected${why}`, {
      disconnect: true,
      code: 'ENXIO',
    });
    this.servePendingRead();
    for (const w of this.waiters) w(this.lostError);
    this.waiters.clear();
  }

  private take(buffer: Buffer, offset: number, length: number): number {
    let n = 0;
    while (n < length && this.rx.length > 0) {
      const head = this.rx[0];
      const k = Math.min(head.length, length - n);
      head.copy(buffer, offset + n, 0, k);
      n += k;
      if (k === head.length) this.rx.shift();
      else this.rx[0] = head.subarray(k);
    }
    this.rxBytes -= n;
    if (this.rxBytes <= RX_HIGH_WATER / 2 && this.device.isPaused() && !this.device.destroyed) this.device.resume();
    return n;
  }

  private servePendingRead(): void {
    const p = this.pendingRead;
    if (!p) return;
    if (this.rxBytes > 0) {
      this.pendingRead = null;
      p.resolve({ buffer: p.buffer, bytesRead: this.take(p.buffer, p.offset, p.length) });
    } else if (this.lostError) {
      this.pendingRead = null;
      p.reject(this.lostError);
    }
  }

  async read(buffer: Buffer, offset: number, length: number): Promise<{ buffer: Buffer; bytesRead: number }> {
    if (!Buffer.isBuffer(buffer)) throw new TypeError('"buffer" is not a Buffer');
    if (!Number.isInteger(offset) || offset < 0) throw new TypeError(`"offset" is not an integer got "${offset}"`);
    if (!Number.isInteger(length) || length < 0) throw new TypeError(`"length" is not an integer got "${length}"`);
    if (buffer.length < offset + length) throw new Error('buffer is too small');
    if (!this.open) throw new VirtualBindingError('Port is not open', { canceled: true });
    if (this.pendingRead) throw new Error('a read is already pending');
    if (this.rxBytes > 0) return { buffer, bytesRead: this.take(buffer, offset, length) };
    if (this.lostError) throw this.lostError;
    return new Promise((resolve, reject) => {
      this.pendingRead = { buffer, offset, length, resolve, reject };
    });
  }

  async write(buffer: Buffer): Promise<void> {
    if (!Buffer.isBuffer(buffer)) throw new TypeError('"buffer" is not a Buffer');
    if (!this.open) throw new Error('Port is not open');
    if (this.lostError) throw this.lostError;
    if (buffer.length === 0) return;
    const op = this.handOver(buffer);
    this.writeOperation = op;
    try {
      await op;
    } finally {
      if (this.writeOperation === op) this.writeOperation = null;
    }
  }

  /** Resolves once the device accepted the bytes (its input buffer is the "OS buffer"). */
  private handOver(buffer: Buffer): Promise<void> {
    if (this.device.write(buffer)) return Promise.resolve();
    return this.waitFor((done) => {
      this.device.once('drain', done);
      return () => this.device.off('drain', done);
    });
  }

  /** Waits for an event registered by `arm`, failing on close (canceled) or device loss. */
  private waitFor(arm: (done: () => void) => () => void): Promise<void> {
    return new Promise((resolve, reject) => {
      const fail = (e: Error): void => {
        disarm();
        reject(e);
      };
      const disarm = arm(() => {
        this.waiters.delete(fail);
        resolve();
      });
      this.waiters.add(fail);
    });
  }

  async update(options: UpdateOptions): Promise<void> {
    if (!options || typeof options !== 'object') throw new TypeError('"options" is not an object');
    if (typeof options.baudRate !== 'number') throw new TypeError('"options.baudRate" is not a number');
    if (!Number.isInteger(options.baudRate) || options.baudRate <= 0) throw new Error(`Invalid baud rate ${options.baudRate}`);
    if (!this.open) throw new Error('Port is not open');
    this.baudRate = options.baudRate;
  }

  async set(options: SetOptions): Promise<void> {
    if (!options || typeof options !== 'object') throw new TypeError('"options" is not an object');
    if (!this.open) throw new Error('Port is not open');
    this.flags = { ...this.flags, ...options };
  }

  async get(): Promise<PortStatus> {
    if (!this.open) throw new Error('Port is not open');
    // A powered device asserts its handshake lines; a lost one drops them.
    const up = this.lostError === null;
    return { cts: up, dsr: up, dcd: up };
  }

  /** Last values passed to set() (DTR/RTS/BRK), for tests of hosts that toggle lines. */
  get controlFlags(): Readonly<SetOptions> {
    return this.flags;
  }

  async getBaudRate(): Promise<{ baudRate: number }> {
    if (!this.open) throw new Error('Port is not open');
    return { baudRate: this.baudRate };
  }

  async flush(): Promise<void> {
    if (!this.open) throw new Error('Port is not open');
    // Discards what was received but not read; bytes already handed to the device are gone.
    this.rx.length = 0;
    this.rxBytes = 0;
    if (this.device.isPaused() && !this.device.destroyed) this.device.resume();
  }

  async drain(): Promise<void> {
    if (!this.open) throw new Error('Port is not open');
    if (this.writeOperation) await this.writeOperation;
    // "Transmitted" = the device has consumed everything from its input buffer.
    while (this.open && !this.lostError && this.device.writableLength > 0 && !this.device.destroyed) {
      await new Promise<void>((r) => setImmediate(r));
    }
    if (this.lostError) throw this.lostError;
  }

  async close(): Promise<void> {
    if (!this.open) throw new Error('Port is not open');
    this.open = false;
    const canceled = new VirtualBindingError('Port is not open', { canceled: true });
    const p = this.pendingRead;
    this.pendingRead = null;
    p?.reject(canceled);
    for (const w of this.waiters) w(canceled);
    this.waiters.clear();
    this.rx.length = 0;
    this.rxBytes = 0;
    if (this.slot.port === this) this.slot.port = null;
    // Unattended again: let the device run (its output is dropped until the next open).
    if (!this.device.destroyed && this.device.isPaused()) this.device.resume();
  }
}

export type VirtualBindingInterface = BindingInterface<VirtualPortBinding, OpenOptions, PortInfo>;

/** A binding over `registry`. Pass it as `binding` to SerialPortStream. */
export function createVirtualBinding(registry: VirtualDeviceRegistry): VirtualBindingInterface {
  return {
    async list(): Promise<PortInfo[]> {
      return registry.paths().map((path) => ({
        path,
        manufacturer: 'tngd-spu (in-process)',
        serialNumber: undefined,
        pnpId: undefined,
        locationId: undefined,
        productId: undefined,
        vendorId: undefined,
      }));
    },
    async open(options: OpenOptions): Promise<VirtualPortBinding> {
      if (!options || typeof options !== 'object' || Array.isArray(options)) throw new TypeError('"options" is not an object');
      if (!options.path) throw new TypeError('"path" is not a valid port');
      if (!options.baudRate) throw new TypeError('"baudRate" is not a valid baudRate');
      const slot = registry.slot(options.path);
      if (!slot) {
        throw new VirtualBindingError(`Error: No such file or directory, cannot open ${options.path}`, { code: 'ENOENT' });
      }
      if (slot.port?.isOpen) {
        throw new VirtualBindingError('Error: Resource temporarily unavailable Cannot lock port', { code: 'EAGAIN' });
      }
      const device = powerOn(slot);
      const port = new VirtualPortBinding(slot, device, { ...OPEN_DEFAULTS, ...options } as Required<OpenOptions>);
      slot.port = port;
      return port;
    },
  };
}

/** Process-wide registry used by `VirtualBinding` and `registerVirtualDevice`. */
export const virtualDevices = new VirtualDeviceRegistry();

export const VirtualBinding: VirtualBindingInterface = createVirtualBinding(virtualDevices);

/** Registers `factory` at `path` (conventionally `emu:<name>`) in the process-wide registry. */
export function registerVirtualDevice(path: string, factory: VirtualDeviceFactory): VirtualDeviceHandle {
  return virtualDevices.register(path, factory);
}
