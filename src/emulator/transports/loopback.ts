// Diagnostic devices, for checking a link before blaming the firmware and for the raw-bytes
// baselines that driver benchmarks compare against.
import { Duplex, PassThrough } from 'node:stream';
import type { DeviceEndpoint, DeviceFactory } from './device.ts';

/** Echoes every byte back (a loopback plug). */
export function createEchoDevice(): DeviceEndpoint {
  return new PassThrough({ highWaterMark: 64 * 1024 });
}

export const echoDeviceFactory: DeviceFactory = createEchoDevice;

/**
 * Frame-level bench device, the raw counterpart of a protocol exchange: bytes up to a 0x00
 * delimiter form a frame; a frame "D<n>" (ASCII decimal n ≤ 2^30) is answered with n bytes of
 * 0x55 and a 0x00, any other frame with a single 0x00 acknowledgement. Costs almost nothing per
 * byte, so what a benchmark measures over it is the transport.
 */
// Answers are cached so a benchmark measures the transport, not the device's allocator. Receivers
// never write into received chunks, so sharing one buffer is safe.
const answers = new Map<number, Buffer>();
function downloadAnswer(n: number): Buffer {
  let b = answers.get(n);
  if (!b) {
    b = Buffer.alloc(n + 1, 0x55);
    b[n] = 0;
    if (answers.size > 8) answers.clear();
    answers.set(n, b);
  }
  return b;
}

export function createBenchDevice(): DeviceEndpoint {
  const HEAD = 12;
  const head = Buffer.alloc(HEAD);
  let len = 0;
  const d: Duplex = new Duplex({
    highWaterMark: 64 * 1024,
    read() {},
    write(chunk: Buffer, _enc, cb) {
      let from = 0;
      for (;;) {
        const z = chunk.indexOf(0, from);
        const end = z < 0 ? chunk.length : z;
        if (len < HEAD) chunk.copy(head, len, from, Math.min(end, from + HEAD - len));
        len += end - from;
        if (z < 0) break;
        const m = len <= HEAD ? /^D(\d{1,10})$/.exec(head.toString('latin1', 0, len)) : null;
        const n = m ? Number(m[1]) : -1;
        if (n >= 0 && n <= 2 ** 30) d.push(downloadAnswer(n));
        else d.push(Buffer.of(0));
        len = 0;
        from = z + 1;
      }
      cb();
    },
    final(cb) {
      d.push(null);
      cb();
    },
  });
  return d;
}

export const benchDeviceFactory: DeviceFactory = createBenchDevice;
