// Device side of the TCP link greeting and shared-secret challenge (firmware-spec/TRANSPORTS.md,
// "TCP link"). Line reading and the HMAC are the protocol layer's, shared with the host side.
import { randomBytes, timingSafeEqual } from 'node:crypto';
import type { Socket } from 'node:net';
import { LINK_PREFIX, LinkLineError, linkMac, readLinkLine } from '../../protocol/index.ts';

export function newNonce(): Buffer {
  return randomBytes(32);
}

/** Reason codes sent in `refused` lines; stable, for hosts and logs. */
export type RefusalCode = 'busy' | 'auth-failed' | 'auth-timeout' | 'bad-handshake' | 'shutting-down';

export function refusalLine(code: RefusalCode, text: string): string {
  return `${LINK_PREFIX}refused ${code} ${text}\n`;
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
    line = await readLinkLine(socket, timeoutMs);
  } catch (e) {
    const code: RefusalCode = e instanceof LinkLineError && e.failure === 'timeout' ? 'auth-timeout' : 'bad-handshake';
    return { ok: false, code, reason: (e as Error).message };
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
