// Serves a device on this process's stdin/stdout, so that
//   socat pty,raw,echo=0,link=/tmp/spu EXEC:"tngd emulate --stdio"
// puts the emulator behind a pty. stdout carries protocol bytes and nothing else: anything
// human-readable (logs, banners) must go to stderr.
import type { Readable, Writable } from 'node:stream';
import type { DeviceFactory } from './device.ts';

export interface ServeStdioOptions {
  input?: Readable;
  output?: Writable;
}

export interface StdioSession {
  /** Settles when the host side closes stdin or the device powers off. */
  readonly done: Promise<void>;
  /** Powers the device off and ends the output. Idempotent. */
  close(): void;
}

export function serveStdio(factory: DeviceFactory, options: ServeStdioOptions = {}): StdioSession {
  const input = options.input ?? process.stdin;
  const output = options.output ?? process.stdout;
  const device = factory();
  let finished = false;
  let resolveDone!: () => void;
  const done = new Promise<void>((r) => (resolveDone = r));

  const finish = (): void => {
    if (finished) return;
    finished = true;
    input.off('data', onInput);
    input.pause();
    if (!device.destroyed) device.destroy();
    // Let buffered device output reach the host before reporting done.
    output.end(() => resolveDone());
    if (output === process.stdout) resolveDone(); // process.stdout's end callback may never fire
  };

  const onInput = (chunk: Buffer): void => {
    if (!device.write(chunk)) {
      input.pause();
      device.once('drain', () => input.resume());
    }
  };
  device.on('data', (chunk: Buffer) => {
    if (!output.write(chunk)) {
      device.pause();
      output.once('drain', () => device.resume());
    }
  });
  device.on('error', (e: Error) => {
    process.stderr.write(`device error: ${e.message}\n`);
    finish();
  });
  device.once('end', finish);
  device.once('close', finish);
  output.on('error', finish); // EPIPE: the host side is gone
  input.on('data', onInput);
  input.once('end', finish);
  input.once('error', finish);

  return { done, close: finish };
}
