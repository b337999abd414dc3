// Trivial devices for transport tests: the transports must not care what the device does.
import { Duplex, PassThrough } from 'node:stream';

export function echoDevice(): Duplex {
  return new PassThrough();
}

/** Answers each 0x00-terminated chunk with its bytes reversed (terminator kept last). */
export function reverseDevice(): Duplex {
  let pending: Buffer[] = [];
  const d: Duplex = new Duplex({
    read() {},
    write(chunk: Buffer, _enc, cb) {
      let start = 0;
      for (let i = 0; i < chunk.length; i++) {
        if (chunk[i] !== 0) continue;
        pending.push(chunk.subarray(start, i));
        const msg = Buffer.concat(pending).reverse();
        pending = [];
        d.push(Buffer.concat([msg, Buffer.of(0)]));
        start = i + 1;
      }
      if (start < chunk.length) pending.push(Buffer.from(chunk.subarray(start)));
      cb();
    },
    final(cb) {
      d.push(null);
      cb();
    },
  });
  return d;
}

/** Deterministic pseudo-random bytes (xorshift32) so failures reproduce. */
export function patternBytes(n: number, seed = 1): Buffer {
  const b = Buffer.allocUnsafe(n);
  let x = seed >>> 0 || 1;
  for (let i = 0; i < n; i++) {
    x ^= x << 13;
    x >>>= 0;
    x ^= x >>> 17;
    x ^= x << 5;
    x >>>= 0;
    b[i] = x & 0xff;
  }
  return b;
}

/** Collects `n` bytes from a readable, or rejects after `ms`. */
export function collect(stream: NodeJS.ReadableStream, n: number, ms = 10_000): Promise<Buffer> {
  return new Promise((resolve, reject) => {
    const parts: Buffer[] = [];
    let got = 0;
    const timer = setTimeout(() => {
      stream.off('data', onData);
      reject(new Error(`timed out after ${ms} ms with ${got}/${n} bytes`));
    }, ms);
    const onData = (c: Buffer): void => {
      parts.push(c);
      got += c.length;
      if (got >= n) {
        clearTimeout(timer);
        stream.off('data', onData);
        resolve(Buffer.concat(parts));
      }
    };
    stream.on('data', onData);
  });
}

/** Polls `cond` every 2 ms until true; rejects after `ms` (instead of sleeping a guessed time). */
export async function until(cond: () => boolean, ms = 5000, what = 'condition'): Promise<void> {
  const end = Date.now() + ms;
  while (!cond()) {
    if (Date.now() > end) throw new Error(`${what} not reached within ${ms} ms`);
    await new Promise((r) => setTimeout(r, 2));
  }
}
