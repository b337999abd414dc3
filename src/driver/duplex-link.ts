// A ByteLink over any byte Duplex (a device endpoint in the same process, a fault-injecting
// wrapper, a socket you opened yourself). openLink() covers URLs; this covers everything else.
import type { Duplex } from 'node:stream';
import type { ByteLink, LinkClosed } from './transports/open-link.ts';

export function duplexLink(stream: Duplex, label = 'duplex'): ByteLink {
  let closedByUs = false;
  let lastError: Error | undefined;
  stream.on('error', (e: Error) => (lastError = e));
  const closed = new Promise<LinkClosed>((resolve) => {
    const done = (): void => resolve({ disconnected: !closedByUs, ...(lastError ? { error: lastError } : {}) });
    if (stream.destroyed) done();
    else stream.once('close', done);
  });
  let closing: Promise<void> | null = null;
  return {
    kind: 'emu',
    label,
    spec: { kind: 'emu', name: label, path: label, params: {} },
    stream,
    closed,
    close() {
      closing ??= (async () => {
        closedByUs = true;
        if (!stream.destroyed) stream.destroy();
        await closed;
      })();
      return closing;
    },
  };
}
