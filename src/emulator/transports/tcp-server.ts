// Serves one device over TCP. Like a real board, the device has one host at a time: a second
// client is refused with a clear `busy` line. The device stays powered between connections (the
// host may reconnect and find its uploaded state), and is powered on lazily by the first client.
// Bytes the device emits while no host is connected are dropped, as on an unattended UART.
import { createServer, isIP, type Server, type Socket } from 'node:net';
import type { DeviceEndpoint, DeviceFactory } from './device.ts';
import { isDead } from './device.ts';
import { refusalLine, serverGreeting } from './link-greeting.ts';

export interface TransportLogger {
  info(obj: object, msg?: string): void;
  warn(obj: object, msg?: string): void;
}

export interface ServeTcpOptions {
  /** 0 picks a free port (read it back from the result). */
  port: number;
  /** Default 127.0.0.1. Anything but a loopback address needs allowRemote. */
  host?: string;
  /** Shared secret for the HMAC-SHA256 challenge (firmware-spec/TRANSPORTS.md). */
  secret?: string;
  allowRemote?: boolean;
  /** Time a client has to answer the challenge. Default 5000 ms. */
  authTimeoutMs?: number;
  logger?: TransportLogger;
}

export interface TcpServerStats {
  /** TCP connections accepted (including refused ones). */
  connections: number;
  /** Connections that completed the greeting and carried protocol bytes. */
  sessions: number;
  /** Wrong secret, timeout or malformed response. */
  authFailures: number;
  /** Refused because another host held the device. */
  refusedBusy: number;
  /** Device instances powered on. */
  powerOns: number;
}

export interface TcpDeviceServer {
  readonly host: string;
  readonly port: number;
  /** tcp://host:port (no secret in it). */
  readonly url: string;
  readonly stats: Readonly<TcpServerStats>;
  /** True while a host holds the device (authenticating or in session). */
  readonly connected: boolean;
  /** Stops listening, drops the client and powers the device off. Idempotent. */
  close(): Promise<void>;
}

export class RemoteBindRefusedError extends Error {
  constructor(host: string) {
    super(
      `refusing to serve the device on ${host}: not a loopback address. ` +
        'Pass allowRemote: true (CLI: --allow-remote) to expose it, preferably with a shared secret.',
    );
    this.name = 'RemoteBindRefusedError';
  }
}

export function isLoopbackHost(host: string): boolean {
  if (host === 'localhost') return true;
  if (isIP(host) === 4) return host.startsWith('127.');
  if (isIP(host) === 6) return host === '::1' || /^::ffff:127\./i.test(host);
  return false;
}

/** Sends the refusal line, half-closes, and makes sure the socket goes away even if the peer lingers. */
function refuse(socket: Socket, line: string): void {
  socket.end(line);
  setTimeout(() => socket.destroy(), 1000).unref();
}

export async function serveTcp(factory: DeviceFactory, options: ServeTcpOptions): Promise<TcpDeviceServer> {
  const host = options.host ?? '127.0.0.1';
  if (!options.allowRemote && !isLoopbackHost(host)) throw new RemoteBindRefusedError(host);
  if (!Number.isInteger(options.port) || options.port < 0 || options.port > 65535) {
    throw new RangeError(`TCP port must be an integer in 0..65535, got ${options.port}`);
  }
  if (options.secret !== undefined && options.secret.length === 0) throw new Error('shared secret must not be empty');
  const authTimeoutMs = options.authTimeoutMs ?? 5000;
  const log = options.logger;
  const stats: TcpServerStats = { connections: 0, sessions: 0, authFailures: 0, refusedBusy: 0, powerOns: 0 };

  let device: DeviceEndpoint | null = null;
  let holder: Socket | null = null; // the socket that owns the device (authenticating or in session)
  let active: Socket | null = null; // the socket currently carrying bytes
  let closing = false;
  const sockets = new Set<Socket>();

  const powerOn = (): DeviceEndpoint => {
    if (device && !isDead(device)) return device;
    const d = factory();
    device = d;
    stats.powerOns += 1;
    let lost = false;
    const onLost = (): void => {
      if (lost) return;
      lost = true;
      if (device === d) device = null;
      // A device that dies takes the link with it: the host sees a disconnect.
      active?.destroy();
    };
    let corked: Socket | null = null;
    d.on('data', (chunk: Buffer) => {
      const s = active;
      if (!s || s.destroyed) return;
      // The replies made in one turn (one per BulkChunk of a read) leave in one write.
      if (corked !== s) {
        s.cork();
        corked = s;
        setImmediate(() => {
          corked = null;
          s.uncork();
        });
      }
      if (!s.write(chunk)) {
        d.pause();
        s.once('drain', () => d.resume());
      }
    });
    d.on('end', onLost);
    d.on('close', onLost);
    d.on('error', (err: Error) => {
      log?.warn({ err: err.message }, 'device error');
      onLost();
    });
    return d;
  };

  const startSession = (socket: Socket): void => {
    const d = powerOn();
    active = socket;
    stats.sessions += 1;
    if (d.isPaused()) d.resume();
    const onData = (chunk: Buffer): void => {
      if (!d.write(chunk)) {
        socket.pause();
        d.once('drain', () => socket.resume());
      }
    };
    socket.on('data', onData);
    socket.once('close', () => {
      socket.off('data', onData);
      if (active === socket) active = null;
      if (d.isPaused() && !d.destroyed) d.resume();
    });
  };

  const onConnection = async (socket: Socket): Promise<void> => {
    stats.connections += 1;
    sockets.add(socket);
    socket.setNoDelay(true);
    socket.on('error', () => {}); // resets by the peer are normal ends of a session
    socket.once('close', () => {
      sockets.delete(socket);
      if (holder === socket) holder = null;
    });
    const peer = `${socket.remoteAddress}:${socket.remotePort}`;
    if (closing) {
      refuse(socket, refusalLine('shutting-down', 'the device server is shutting down'));
      return;
    }
    if (holder) {
      stats.refusedBusy += 1;
      log?.info({ peer }, 'refused second host');
      refuse(socket, refusalLine('busy', 'the device already has a host connected; one host at a time'));
      return;
    }
    holder = socket;
    const outcome = await serverGreeting(socket, options.secret, authTimeoutMs);
    if (socket.destroyed || closing) return;
    if (!outcome.ok) {
      if (holder === socket) holder = null; // a failed host must not keep the device busy
      stats.authFailures += 1;
      log?.warn({ peer, code: outcome.code }, 'host failed authentication');
      refuse(socket, refusalLine(outcome.code, outcome.reason));
      return;
    }
    log?.info({ peer }, 'host connected');
    startSession(socket);
  };

  const server: Server = createServer((s) => void onConnection(s));
  await new Promise<void>((resolve, reject) => {
    server.once('error', reject);
    server.listen(options.port, host, () => {
      server.off('error', reject);
      resolve();
    });
  });
  const addr = server.address();
  const port = typeof addr === 'object' && addr ? addr.port : options.port;
  const urlHost = isIP(host) === 6 ? `[${host}]` : host;

  let closed: Promise<void> | null = null;
  return {
    host,
    port,
    url: `tcp://${urlHost}:${port}`,
    stats,
    get connected() {
      return holder !== null;
    },
    close() {
      closed ??= new Promise<void>((resolve) => {
        closing = true;
        server.close(() => resolve());
        for (const s of sockets) s.destroy();
        if (device && !device.destroyed) device.destroy();
        device = null;
      });
      return closed;
    },
  };
}
