// The TCP link greeting (firmware-spec/TRANSPORTS.md, "TCP link"): ASCII lines exchanged before
// the first protocol byte, and the HMAC both sides prove the shared secret with. One definition
// for the device server and the host, as with the frame codec.
import { createHmac } from 'node:crypto';
import type { Readable } from 'node:stream';

export const LINK_PREFIX = 'TNGD-LINK/1 ';
/** Longest greeting line in bytes, without its '\n'. */
export const LINK_MAX_LINE = 512;

/** HMAC-SHA256(secret, "tngd-link/1 <label>\n" ‖ serverNonce ‖ clientNonce); TRANSPORTS.md pins a vector. */
export function linkMac(secret: string, label: 'client' | 'server', serverNonce: Buffer, clientNonce: Buffer): Buffer {
  return createHmac('sha256', Buffer.from(secret, 'utf8'))
    .update(`tngd-link/1 ${label}\n`)
    .update(serverNonce)
    .update(clientNonce)
    .digest();
}

export type LinkLineFailure = 'too-long' | 'closed' | 'timeout' | 'error';

export class LinkLineError extends Error {
  constructor(
    readonly failure: LinkLineFailure,
    message: string,
    options?: { cause?: unknown },
  ) {
    super(message, options);
    this.name = 'LinkLineError';
  }
}

/**
 * Reads one '\n'-terminated line (latin1, without the terminator) and leaves any bytes after it
 * unread on the stream, so protocol bytes sent right behind the greeting are not lost.
 */
export function readLinkLine(stream: Readable, timeoutMs: number): Promise<string> {
  return new Promise((resolve, reject) => {
    let buf = Buffer.alloc(0);
    const done = (err: Error | null, line?: string, rest?: Buffer): void => {
      clearTimeout(timer);
      stream.off('readable', onReadable);
      stream.off('close', onClose);
      stream.off('error', onError);
      if (rest && rest.length > 0) stream.unshift(rest);
      if (err) reject(err);
      else resolve(line as string);
    };
    const onReadable = (): void => {
      let chunk: Buffer | null;
      while ((chunk = stream.read() as Buffer | null) !== null) {
        buf = Buffer.concat([buf, chunk]);
        const nl = buf.indexOf(0x0a);
        if (nl >= 0 && nl <= LINK_MAX_LINE) return done(null, buf.subarray(0, nl).toString('latin1'), buf.subarray(nl + 1));
        if (nl > LINK_MAX_LINE || buf.length > LINK_MAX_LINE) return done(new LinkLineError('too-long', `greeting line longer than ${LINK_MAX_LINE} bytes`));
      }
    };
    const onClose = (): void => done(new LinkLineError('closed', 'connection closed during the greeting'));
    const onError = (e: Error): void => done(new LinkLineError('error', e.message, { cause: e }));
    const timer = setTimeout(() => done(new LinkLineError('timeout', `no greeting line within ${timeoutMs} ms`)), Math.max(0, timeoutMs));
    stream.on('readable', onReadable);
    stream.on('close', onClose);
    stream.on('error', onError);
    onReadable();
  });
}
