// Shared fixtures for driver and fault tests: a reference computation on the physics core (what
// the device must return, bit for bit), emulator-backed drivers over a plain Duplex, and a small
// frame-rewriting proxy for handshake misbehaviour.
import { Duplex } from 'node:stream';
import { SpuDriver, duplexLink } from '../../src/driver/index.ts';
import type { DriverOptions } from '../../src/driver/index.ts';
import { PROFILES, SpuCore, createEmulatedDevice } from '../../src/emulator/index.ts';
import type { EmulatorOptions, RunConfig } from '../../src/emulator/index.ts';
import { FLAG_MORE, FrameDecoder, encodeFrame } from '../../src/protocol/index.ts';
import type { Message } from '../../src/protocol/index.ts';

/** A deterministic factored system: N cells, rank r, J entries in (−0.3, 0.3), block core. */
export function factoredSystem(n: number, r: number, seed = 1) {
  let s = seed >>> 0 || 1;
  const u = (): number => {
    s ^= s << 13;
    s >>>= 0;
    s ^= s >>> 17;
    s ^= s << 5;
    s >>>= 0;
    return s / 4294967296;
  };
  const J = Float64Array.from({ length: r * n }, () => (u() * 2 - 1) * 0.3);
  const dz = 2;
  const blocks = new Float64Array((r / dz) * dz * dz);
  for (let b = 0; b < r / dz; b++) {
    const p = 0.3 + 0.4 * u();
    // 2×2 softmax-Hessian block [[p(1−p), −p(1−p)], [−p(1−p), p(1−p)]] — PSD
    const v = p * (1 - p);
    blocks.set([v, -v, -v, v], b * 4);
  }
  const g = Float64Array.from({ length: n }, () => (u() * 2 - 1) * 0.5);
  return { n, r, J, core: { kind: 'block' as const, dz, blocks }, scale: 0.5, lambda: 0.2, g };
}

export const CONFIG: RunConfig = { kappa0: 0.02, integrator: { kind: 'exact' }, samplePeriodTau: 0.1, burnInTau: 1 };

/** What an emulator with `seed` returns for configure → factored curvature → gradient → runs. */
export function reference(sys: ReturnType<typeof factoredSystem>, seed: number, runs: { durationTau: number; start: 'reset' | 'carry' | 'gradient' }[], maxCells = 4096) {
  const core = new SpuCore({ maxCells, maxRank: 256, profile: PROFILES.ideal, seed });
  core.configure(CONFIG);
  core.setCurvatureFactored({ n: sys.n, r: sys.r, J: sys.J, core: sys.core, scale: sys.scale, lambda: sys.lambda });
  core.setGradient(sys.g);
  return runs.map((r) => core.run(r));
}

export const configureOptions = { kappa0: CONFIG.kappa0, integrator: CONFIG.integrator, samplePeriodTau: CONFIG.samplePeriodTau, burnInTau: CONFIG.burnInTau };

/** A driver on an in-process emulator reached through `wrap` (fault wrappers, proxies). */
export async function emulatedDriver(
  emu: EmulatorOptions,
  opts: DriverOptions = {},
  wrap: (d: Duplex) => Duplex = (d) => d,
): Promise<SpuDriver> {
  return SpuDriver.open(async () => duplexLink(wrap(createEmulatedDevice(emu)), 'emu-test'), { heartbeatIntervalMs: 0, ...opts });
}

/**
 * Sits between host and device and rewrites messages: `up` host→device requests (without it the
 * host's bytes pass untouched, malformed frames included), `down` device→host messages (null
 * drops the message, as a reply lost on the wire).
 */
export function messageProxy(device: Duplex, edit: { up?: (m: Message) => Message; down?: (m: Message) => Message | null }): Duplex {
  const fromHost = new FrameDecoder({ maxFrameBytes: 65535 });
  const fromDevice = new FrameDecoder({ maxFrameBytes: 65535 });
  const reframe = (f: { message: Message; header: { requestId: number; flags: number } }, m: Message): Buffer =>
    encodeFrame(m, f.header.requestId, { more: (f.header.flags & FLAG_MORE) !== 0 });
  const proxy = new Duplex({
    read() {},
    write(chunk: Buffer, _enc, cb) {
      const up = edit.up;
      if (!up) return void device.write(chunk, () => cb());
      for (const f of fromHost.push(chunk)) device.write(reframe(f, up(f.message)));
      cb();
    },
    final(cb) {
      device.end();
      cb();
    },
    destroy(err, cb) {
      device.destroy();
      cb(err);
    },
  });
  device.on('data', (bytes: Buffer) => {
    for (const f of fromDevice.push(bytes)) {
      const m = edit.down ? edit.down(f.message) : f.message;
      if (m) proxy.push(reframe(f, m));
    }
  });
  device.on('close', () => proxy.destroy());
  return proxy;
}

/** Lets `edit` rewrite each device→host message. */
export function rewriteProxy(device: Duplex, edit: (m: Message) => Message): Duplex {
  return messageProxy(device, { down: edit });
}

export function bitEqual(a: Float64Array | undefined, b: Float64Array | undefined): boolean {
  return !!a && !!b && a.length === b.length && a.every((v, i) => Object.is(v, b[i]));
}
