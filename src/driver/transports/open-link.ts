// One entry point from a URL to a byte link, whatever carries it. The driver layers framing on
// `stream` and watches `closed` for disconnects; nothing here knows about the protocol or the
// emulator (an emu: link gets its device from the caller).
import type { Duplex } from 'node:stream';
import { SerialPortStream } from '@serialport/stream';
import type { MessageLinkPort } from '../../protocol/index.ts';
import { LinkError } from './errors.ts';
import { describeLink, parseLinkUrl, type EmuLinkSpec, type LinkSpec, type SerialLinkSpec, type TcpLinkSpec } from './link-url.ts';
import { openTcpLink } from './tcp-link.ts';
import { hangupAwareBinding } from './hangup-aware-binding.ts';
import { VirtualDeviceRegistry, createVirtualBinding, virtualDevices, type VirtualDevice } from './virtual-binding.ts';

export interface LinkClosed {
  /** True when the link went down by itself (unplug, peer gone), false after close(). */
  disconnected: boolean;
  error?: Error;
}

export interface ByteLink {
  readonly kind: LinkSpec['kind'];
  /** Address for logs; never contains the secret. */
  readonly label: string;
  readonly spec: LinkSpec;
  /** Raw bytes: what you write goes to the device, what you read comes from it. */
  readonly stream: Duplex;
  /** Settles once, when the link goes down for any reason. */
  readonly closed: Promise<LinkClosed>;
  /** Idempotent; always settles (also after a disconnect). */
  close(): Promise<void>;
  /**
   * In-process devices only: a port that carries validated messages without encoding them. The
   * channel then sends requests and receives replies through it; raw bytes (a resync delimiter,
   * hand-made frames) still go through `stream`. `closed` and close() are the stream's.
   */
  readonly messages?: MessageLinkPort;
}

/** Powers on a device for an emu: link; gets the URL's query parameters and name. */
export type EmuDeviceFactory = (params: Readonly<Record<string, string>>, name: string) => VirtualDevice;

export interface OpenLinkOptions {
  /**
   * Device for emu: URLs. The device lives as long as the link (close() powers it off). Without
   * it, emu:NAME must have been registered with registerVirtualDevice (or in `emuRegistry`),
   * and the device then outlives the link, as a real board outlives its host's port.
   */
  emuFactory?: EmuDeviceFactory;
  emuRegistry?: VirtualDeviceRegistry;
  /** Overrides the URL's secret (keeps secrets out of URLs, shell history and logs). */
  secret?: string;
  /** Overrides the URL's TCP timeout. */
  timeoutMs?: number;
}

const osBinding = hangupAwareBinding();

export async function openLink(url: string, options: OpenLinkOptions = {}): Promise<ByteLink> {
  const spec = parseLinkUrl(url);
  switch (spec.kind) {
    case 'serial':
      return openSerial(spec);
    case 'tcp':
      return openTcp({
        ...spec,
        ...(options.secret !== undefined ? { secret: options.secret } : {}),
        ...(options.timeoutMs !== undefined ? { timeoutMs: options.timeoutMs } : {}),
      });
    case 'emu':
      return openEmu(spec, options);
  }
}

/** Wraps a SerialPortStream-like port (real or in-process) into a ByteLink. */
function serialLikeLink(spec: LinkSpec, port: SerialPortStream, onClosed?: () => void): ByteLink {
  let lastError: Error | undefined;
  // Write errors surface as 'error' events; without a listener they would kill the host process.
  port.on('error', (e: Error) => (lastError = e));
  const closed = new Promise<LinkClosed>((resolve) => {
    port.once('close', (err: (Error & { disconnected?: boolean }) | null) => {
      // 'close' also follows port.destroy() (e.g. by a wrapper), which skips the binding's close:
      // release the OS port / in-process lock here so the path can be opened again.
      if (port.port?.isOpen) port.port.close().catch(() => {});
      onClosed?.();
      resolve(err ? { disconnected: err.disconnected === true, error: err } : { disconnected: false, ...(lastError ? { error: lastError } : {}) });
    });
  });
  let closing: Promise<void> | null = null;
  return {
    kind: spec.kind,
    label: describeLink(spec),
    spec,
    stream: port,
    closed,
    close() {
      closing ??= (async () => {
        // Opened successfully before, so if it is not open any more it is closing or closed.
        if (port.isOpen) port.close(() => {});
        await closed;
      })();
      return closing;
    },
  };
}

function openPort(port: SerialPortStream, what: string): Promise<void> {
  return new Promise((resolve, reject) => {
    port.open((err) => (err ? reject(new LinkError('OPEN_FAILED', `cannot open ${what}: ${err.message}`, { cause: err })) : resolve()));
  });
}

async function openSerial(spec: SerialLinkSpec): Promise<ByteLink> {
  // The real OS port through serialport's own binding, minus its busy loop on hang-up.
  const port = new SerialPortStream({ binding: osBinding, path: spec.path, baudRate: spec.baudRate, autoOpen: false });
  await openPort(port, `serial port ${spec.path}`);
  return serialLikeLink(spec, port);
}

async function openEmu(spec: EmuLinkSpec, options: OpenLinkOptions): Promise<ByteLink> {
  let registry = options.emuRegistry ?? virtualDevices;
  let release: (() => void) | undefined;
  if (options.emuFactory) {
    const factory = options.emuFactory;
    registry = new VirtualDeviceRegistry();
    const handle = registry.register(spec.path, () => factory(spec.params, spec.name));
    release = () => handle.unregister();
  } else if (!registry.paths().includes(spec.path)) {
    throw new LinkError(
      'OPEN_FAILED',
      `no in-process device at ${spec.path}: pass an emuFactory to openLink, or register one with registerVirtualDevice('${spec.path}', factory)`,
    );
  }
  const baud = Number(spec.params.baud);
  const port = new SerialPortStream({
    binding: createVirtualBinding(registry),
    path: spec.path,
    baudRate: Number.isInteger(baud) && baud > 0 ? baud : 921600,
    autoOpen: false,
  });
  try {
    await openPort(port, spec.path);
  } catch (e) {
    release?.();
    throw e;
  }
  return serialLikeLink(spec, port, release);
}

async function openTcp(spec: TcpLinkSpec): Promise<ByteLink> {
  const socket = await openTcpLink(spec);
  let closedByUs = false;
  let lastError: Error | undefined;
  socket.on('error', (e: Error) => (lastError = e));
  const closed = new Promise<LinkClosed>((resolve) => {
    socket.once('close', () => resolve({ disconnected: !closedByUs, ...(lastError ? { error: lastError } : {}) }));
  });
  let closing: Promise<void> | null = null;
  return {
    kind: 'tcp',
    label: describeLink(spec),
    spec,
    stream: socket,
    closed,
    close() {
      closing ??= (async () => {
        closedByUs = true;
        if (!socket.destroyed) {
          socket.end();
          // A peer that never finishes its side must not hold close() hostage.
          const t = setTimeout(() => socket.destroy(), 1000);
          await closed;
          clearTimeout(t);
        }
        await closed;
      })();
      return closing;
    },
  };
}
