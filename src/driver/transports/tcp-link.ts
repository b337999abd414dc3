// Host side of a TCP link to a device server (firmware-spec/TRANSPORTS.md, "TCP link"): connect,
// read the server greeting, answer the shared-secret challenge if any, verify the server's proof,
// then hand back the socket as a plain byte Duplex. No protocol byte flows before that.
import { randomBytes, timingSafeEqual } from 'node:crypto';
import { connect, type Socket } from 'node:net';
import { LINK_PREFIX, LinkLineError, linkMac, readLinkLine } from '../../protocol/index.ts';
import { LinkError } from './errors.ts';
import { parseLinkUrl } from './link-url.ts';


export interface TcpTarget {
  host: string;
  port: number;
  secret?: string;
  /** Budget for connect + greeting. Default 5000 ms. */
  timeoutMs?: number;
}

/** HMAC-SHA256(secret, "tngd-link/1 <label>\n" ‖ serverNonce ‖ clientNonce); TRANSPORTS.md pins a vector. */
export const tcpLinkMac = linkMac;

function parseTarget(target: string | TcpTarget): TcpTarget {
  if (typeof target !== 'string') return target;
  const spec = parseLinkUrl(target);
  if (spec.kind !== 'tcp') throw new LinkError('BAD_URL', `expected a tcp://host:port URL, got a ${spec.kind} link`);
  return spec;
}

/** Reads one greeting line; bytes after it stay queued in the socket for the protocol. */
async function readLine(socket: Socket, deadline: number): Promise<string> {
  try {
    return await readLinkLine(socket, deadline - Date.now());
  } catch (e) {
    if (!(e instanceof LinkLineError)) throw e;
    switch (e.failure) {
      case 'too-long':
        throw new LinkError('PROTOCOL', 'the server greeting is not a TNGD link greeting (line too long)');
      case 'timeout':
        throw new LinkError('TIMEOUT', 'no TNGD link greeting from the server in time (is this a tngd device server?)');
      case 'closed':
        throw new LinkError('OPEN_FAILED', 'the server closed the connection during the greeting');
      default:
        throw new LinkError('OPEN_FAILED', `connection failed: ${e.message}`, { cause: e.cause });
    }
  }
}

function refusal(line: string): LinkError | null {
  const m = /^TNGD-LINK\/1 refused (\S+) ?(.*)$/.exec(line);
  if (!m) return null;
  const code = m[1] === 'auth-failed' || m[1] === 'auth-timeout' ? 'AUTH_FAILED' : 'REFUSED';
  return new LinkError(code, `device server refused the connection (${m[1]}): ${m[2]}`);
}

/** Connects, authenticates and returns the socket carrying raw protocol bytes. */
export async function openTcpLink(target: string | TcpTarget): Promise<Socket> {
  const { host, port, secret, timeoutMs = 5000 } = parseTarget(target);
  const deadline = Date.now() + timeoutMs;
  const socket = connect({ host, port });
  socket.setNoDelay(true);
  try {
    await new Promise<void>((resolve, reject) => {
      const timer = setTimeout(() => reject(new LinkError('TIMEOUT', `TCP connect to ${host}:${port} timed out`)), timeoutMs);
      socket.once('connect', () => {
        clearTimeout(timer);
        resolve();
      });
      socket.once('error', (e: NodeJS.ErrnoException) => {
        clearTimeout(timer);
        reject(new LinkError('OPEN_FAILED', `cannot connect to ${host}:${port}: ${e.code ?? e.message}`, { cause: e }));
      });
    });
    const greeting = await readLine(socket, deadline);
    const refused = refusal(greeting);
    if (refused) throw refused;
    if (greeting === `${LINK_PREFIX}ready`) {
      if (secret !== undefined) {
        throw new LinkError('AUTH_REQUIRED', 'the server does not use a shared secret, but the URL carries one; refusing an unauthenticated device');
      }
      return socket;
    }
    const ch = /^TNGD-LINK\/1 challenge ([0-9a-f]{64})$/.exec(greeting);
    if (!ch) throw new LinkError('PROTOCOL', `unexpected greeting from the server: ${JSON.stringify(greeting.slice(0, 80))}`);
    if (secret === undefined) {
      throw new LinkError('AUTH_REQUIRED', 'the device server requires a shared secret: add ?secret=... to the tcp:// URL');
    }
    const serverNonce = Buffer.from(ch[1], 'hex');
    const clientNonce = randomBytes(32);
    socket.write(`${LINK_PREFIX}response ${clientNonce.toString('hex')} ${tcpLinkMac(secret, 'client', serverNonce, clientNonce).toString('hex')}\n`);
    const answer = await readLine(socket, deadline);
    const refused2 = refusal(answer);
    if (refused2) throw refused2;
    const ok = /^TNGD-LINK\/1 ok ([0-9a-f]{64})$/.exec(answer);
    if (!ok) throw new LinkError('PROTOCOL', `unexpected answer to the challenge response: ${JSON.stringify(answer.slice(0, 80))}`);
    if (!timingSafeEqual(Buffer.from(ok[1], 'hex'), tcpLinkMac(secret, 'server', serverNonce, clientNonce))) {
      throw new LinkError('AUTH_FAILED', 'the server could not prove it knows the shared secret');
    }
    return socket;
  } catch (e) {
    socket.destroy();
    throw e;
  }
}
