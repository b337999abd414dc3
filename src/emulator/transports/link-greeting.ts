// Device side of the TCP link greeting and shared-secret challenge (firmware-spec/TRANSPORTS.md,
// "TCP link"). The host side is implemented independently in src/driver/transports/tcp-link.ts:
// the two meet only on the wire, as a firmware and a driver would.
import { createHmac, randomBytes, timingSafeEqual } from 'node:crypto';
import type { Socket } from 'node:net';

export const LINK_PREFIX = 'TNGD-LINK/1 ';
export const MAX_LINE = 512;
const CLIENT_LABEL = 'tngd-link/1 client\n';
const SERVER_LABEL = 'tngd-link/1 server\n';

export function linkMac(secret: string, label: 'client' | 'server', serverNonce: Buffer, clientNonce: Buffer): Buffer {
  return createHmac('sha256', Buffer.from(secret, 'utf8'))
    .update(label === 'client' ? CLIENT_LABEL : SERVER_LABEL)
    .update(serverNonce)
    .update(clientNonce)
    .digest();
}

export function newNonce(): Buffer {
  return randomBytes(32);
}

/** Reason codes sent in `refused` lines; stable, for hosts and logs. */
export type RefusalCode = 'busy' | 'auth-failed' | 'auth-timeout' | 'bad-handshake' | 'shutting-down';

export function refusalLine(code: RefusalCode, text: string): string {
  return `${LINK_PREFIX}refused ${code} ${text}\n`;
}

/**
 * Reads one '\n'-terminated ASCII line (without the terminator) and leaves any following bytes
 * unread on the socket. Rejects on timeout, overlong line, or close.
 */
export function readLine(socket: Socket, timeoutMs: number): Promise<string> {
  return new Promise((resolve, reject) => {
    let buf = Buffer.alloc(0);
    const done = (err: Error | null, line?: string, rest?: Buffer): void => {
      clearTimeout(timer);
      socket.off('readable', onReadable);
      socket.off('close', onClose);
      socket.off('error', onError);
      if (rest && rest.length > 0) socket.unshift(rest);
      if (err) reject(err);
      else resolve(line as string);
    };
    const onReadable = (): void => {
      let chunk: Buffer | null;
      while ((chunk = socket.read() as Buffer | null) !== null) {
        buf = Buffer.concat([buf, chunk]);
        const nl = buf.indexOf(0x0a);
        if (nl >= 0) {
          if (nl > MAX_LINE) return done(new Error('handshake line too long'));
          return done(null, buf.subarray(0, nl).toString('latin1'), buf.subarray(nl + 1));
        }
        if (buf.length > MAX_LINE) return done(new Error('handshake line too long'));
      }
    };
    const onClose = (): void => done(new Error('connection closed during handshake'));
    const onError = (e: Error): void => done(e);
    const timer = setTimeout(() => done(new Error(`no handshake line within ${timeoutMs} ms`)), timeoutMs);
    socket.on('readable', onReadable);
    socket.on('close', onClose);
    socket.on('error', onError);
  });
}

export type AuthOutcome = { ok: true } | { ok: false; code: RefusalCode; reason: string };

/**
 * Runs the server half of the greeting on a fresh connection. With no secret it only announces
 * `ready`. With a secret: challenge → response (client nonce + HMAC) → ok (server HMAC, so the
 * host knows it reached the device it shares the secret with). On failure the refusal line has
 * been written; the caller closes the socket.
 */
export async function serverGreeting(socket: Socket, secret: string | undefined, timeoutMs: number): Promise<AuthOutcome> {
  if (secret === undefined) {
    socket.write(`${LINK_PREFIX}ready\n`);
    return { ok: true };
  }
  const serverNonce = newNonce();
  socket.write(`${LINK_PREFIX}challenge ${serverNonce.toString('hex')}\n`);
  let line: string;
  try {
    line = await readLine(socket, timeoutMs);
  } catch (e) {
    const msg = (e as Error).message;
    const code: RefusalCode = /within/.test(msg) ? 'auth-timeout' : 'bad-handshake';
    return { ok: false, code, reason: msg };
  }
  const m = /^TNGD-LINK\/1 response ([0-9a-f]{64}) ([0-9a-f]{64})$/.exec(line);
  if (!m) return { ok: false, code: 'bad-handshake', reason: 'expected a challenge response (is the host using a shared secret?)' };
  const clientNonce = Buffer.from(m[1], 'hex');
  const mac = Buffer.from(m[2], 'hex');
  const expected = linkMac(secret, 'client', serverNonce, clientNonce);
  if (!timingSafeEqual(mac, expected)) return { ok: false, code: 'auth-failed', reason: 'wrong shared secret' };
  socket.write(`${LINK_PREFIX}ok ${linkMac(secret, 'server', serverNonce, clientNonce).toString('hex')}\n`);
  return { ok: true };
}
