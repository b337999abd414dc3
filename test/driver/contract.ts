// The driver's behaviour under faults, written once as a function of how the device is reached
// and run per link (contract.test.ts): liveness and heartbeat loss, disconnects, reconnect and
// restore, a firmware reboot on a live link, late replies, timeouts, a lost Run, close(). The
// device is always the emulator with a fault switched on (style.md §6: faults are options of the
// one device); only the path between it and the driver changes.
import { execFileSync } from 'node:child_process';
import { afterEach, describe, expect, it } from 'vitest';
import { DisconnectedError, HandshakeError, TimeoutError } from '../../src/driver/index.ts';
import type { DriverOptions, SpuDriver } from '../../src/driver/index.ts';
import { PROFILES, SpuCore } from '../../src/emulator/index.ts';
import type { DeviceEndpoint, EmulatorOptions } from '../../src/emulator/index.ts';
import { CONFIG, bitEqual, configureOptions, factoredSystem, messageProxy, reference } from './helpers.ts';

/** A driver on a fresh emulated device built from `emu`, and how to tear down what was started for it. */
export interface OpenedDriver {
  dev: SpuDriver;
  /** Closes the driver and stops servers or socat started by open(). Idempotent. */
  stop(): Promise<void>;
}

/** Device-side wrapper around each device the link powers on (e.g. a messageProxy losing a reply). */
export type WrapDevice = (device: DeviceEndpoint) => DeviceEndpoint;

/**
 * Opens a driver over one kind of link to `wrap(a device built from emu)`. reconnect() must
 * reach a device again: the same one if it is still powered, else a fresh one built the same way
 * (as a board unplugged and plugged back in).
 */
export type OpenOverLink = (emu: EmulatorOptions, opts: DriverOptions, wrap: WrapDevice) => Promise<OpenedDriver>;

export function hasSocat(): boolean {
  try {
    execFileSync('socat', ['-V'], { stdio: 'ignore' });
    return true;
  } catch {
    return false;
  }
}

/** Polls `cond` until it holds or `ms` pass (late replies arrive on their own schedule). */
async function until(cond: () => boolean, ms: number): Promise<void> {
  const t0 = performance.now();
  while (!cond() && performance.now() - t0 < ms) await new Promise((r) => setTimeout(r, 10));
}

/** Runs the driver contract over `name`; `skip` is the reason it cannot run here, or false. */
export function driverContract(name: string, open: OpenOverLink, skip: string | false = false): void {
  describe.skipIf(skip !== false)(`driver contract over ${name}${skip ? ` (skipped: ${skip})` : ''}`, () => {
    const started: OpenedDriver[] = [];
    afterEach(async () => {
      for (const s of started.splice(0)) await s.stop();
    });
    const start = async (emu: EmulatorOptions, opts: DriverOptions = {}, wrap: WrapDevice = (d) => d): Promise<SpuDriver> => {
      const s = await open(emu, { heartbeatIntervalMs: 0, ...opts }, wrap);
      started.push(s);
      return s.dev;
    };

    it("a device that goes silent is declared gone by heartbeats: 'disconnected' with DisconnectedError(heartbeat-lost), pending requests fail with it", async () => {
      // Hello and Status are answered, then nothing.
      const dev = await start({ seed: 1, faults: { silentAfterRequests: 2 } }, { heartbeatIntervalMs: 50, heartbeatMisses: 2, timeoutMs: 150, retries: 0 });
      const gone = new Promise<DisconnectedError>((r) => dev.once('disconnected', r));
      const pending = dev.status({ timeoutMs: 30_000 }).catch((e: unknown) => e);
      const t0 = performance.now();
      const e = await gone;
      expect(e).toBeInstanceOf(DisconnectedError);
      expect(e.reason).toBe('heartbeat-lost');
      // 2 misses × (≤ 1.5 × 50 ms quiet + 150 ms timeout); generous for a loaded machine
      expect(performance.now() - t0).toBeLessThan(5000);
      expect(await pending).toBe(e);
      expect(dev.isOpen).toBe(false);
      await expect(dev.status()).rejects.toBeInstanceOf(DisconnectedError);
    });

    it("a link that drops mid-run fails the run with DisconnectedError(link-closed); reconnect({ restore }) rebuilds the state on a fresh device: same bits, 'reconnected'", async () => {
      const sys = factoredSystem(100, 4, 8);
      let clockMs = 0;
      const dev = await start({ seed: 5, now: () => clockMs, faults: { dropLinkAfterRunTau: 50 } });
      const events: string[] = [];
      dev.on('disconnected', (e) => events.push(`disconnected:${e.reason}`));
      dev.on('reconnected', (info) => events.push(`reconnected:${info.identity.model}`));
      dev.on('reboot', (hb) => events.push(`reboot:${hb.uptimeMs}`));
      clockMs = 5000;
      expect((await dev.heartbeat()).uptimeMs).toBe(5000);
      await dev.configure({ ...configureOptions, integrator: { kind: 'euler', dtTau: 0.01 } });
      await dev.uploadCurvature({ form: 'factored', ...sys });
      await dev.uploadGradient(sys.g);
      const run = dev.run({ durationTau: 100, start: 'reset' });
      // A training loop reuses its J buffer for the next batch: restore must re-send what was
      // committed, not what the caller's buffer holds now.
      const committedJ = Float64Array.from(sys.J);
      sys.J.fill(7);
      const err = await run.result.catch((e: unknown) => e);
      expect(err).toBeInstanceOf(DisconnectedError);
      expect((err as DisconnectedError).reason).toBe('link-closed');
      await dev.reconnect({ restore: true });
      sys.J.set(committedJ);
      expect(await dev.status()).toMatchObject({ state: 'READY', n: 100, hasCurvature: true, hasGradient: true, runId: 0 });
      // The restored device is a fresh emulator (same seed, first run): same noise, same result.
      const res = await dev.run({ durationTau: 3, start: 'reset' }).result;
      const core = new SpuCore({ maxCells: 4096, maxRank: 256, profile: PROFILES.ideal, seed: 5 });
      core.configure({ ...CONFIG, integrator: { kind: 'euler', dtTau: 0.01 } });
      core.setCurvatureFactored({ n: 100, r: 4, J: sys.J, core: sys.core, scale: sys.scale, lambda: sys.lambda });
      core.setGradient(sys.g);
      expect(bitEqual(res.mean, core.run({ durationTau: 3, start: 'reset' }).mean)).toBe(true);
      expect(dev.metrics().reconnects).toBe(1);
      // A fresh device after reconnect starts a new uptime baseline: not taken for a reboot.
      expect((await dev.heartbeat()).uptimeMs).toBe(0);
      // the reconnect's own drop of the (already dead) old link is not reported a second time
      expect(events).toEqual(['disconnected:link-closed', 'reconnected:spu-emulator']);
    });

    it("a firmware reboot on a live link: the next heartbeat emits 'reboot', restore() rebuilds the state and the run gives the bits of a device that never rebooted", async () => {
      const sys = factoredSystem(24, 2, 6); // small enough for inline uploads: one request each
      let clockMs = 0;
      // Hello, Status, Configure, Curvature, Gradient, Heartbeat are answered; the 7th request meets a reboot.
      const dev = await start({ seed: 9, now: () => clockMs, faults: { rebootAfterRequests: 6, staleBytes: 64 } });
      const reboots: number[] = [];
      dev.on('reboot', (hb) => reboots.push(hb.uptimeMs));
      await dev.configure(configureOptions);
      await dev.uploadCurvature({ form: 'factored', ...sys });
      await dev.uploadGradient(sys.g);
      clockMs = 5000;
      expect((await dev.heartbeat()).uptimeMs).toBe(5000);
      // the request the reboot swallowed goes unanswered
      await expect(dev.heartbeat({ timeoutMs: 300 })).rejects.toBeInstanceOf(TimeoutError);
      expect(reboots).toEqual([]);
      expect((await dev.heartbeat()).uptimeMs).toBe(0);
      expect(reboots).toEqual([0]);
      expect((await dev.status()).state).toBe('IDLE');
      await dev.restore();
      expect(await dev.status()).toMatchObject({ state: 'READY', n: 24, hasCurvature: true, hasGradient: true });
      const [want] = reference(sys, 9, [{ durationTau: 2, start: 'reset' }]);
      const got = await dev.run({ durationTau: 2, start: 'reset' }).result;
      expect(bitEqual(got.mean, want.mean) && bitEqual(got.final, want.final)).toBe(true);
      expect(dev.metrics().bytesDiscarded).toBeGreaterThanOrEqual(60);
    });

    it('late replies (after their timeout) are counted and dropped; timeouts are typed with their attempts', async () => {
      const dev = await start({ seed: 1, faults: { replyDelayMs: 150 } }, { timeoutMs: 60, retries: 1, handshakeTimeoutMs: 2000 });
      const hb = await dev.heartbeat().catch((x: unknown) => x);
      expect(hb).toBeInstanceOf(TimeoutError);
      expect(hb).toMatchObject({ op: 'Heartbeat', attempts: 1, timeoutMs: 60 });
      const s = await dev.status().catch((x: unknown) => x);
      expect(s).toBeInstanceOf(TimeoutError);
      expect(s).toMatchObject({ op: 'Status', attempts: 2 });
      // one late Heartbeat reply, two late Status replies (one per attempt)
      await until(() => dev.metrics().lateReplies >= 3, 3000);
      const m = dev.metrics();
      expect({ lateReplies: m.lateReplies, timeouts: m.timeouts, retries: m.retries }).toEqual({ lateReplies: 3, timeouts: 2, retries: 1 });
      // the link is still good: a patient request gets its answer
      expect((await dev.status({ timeoutMs: 2000 })).state).toBe('IDLE');
    });

    it('a silent device fails the handshake with HandshakeError(no-reply) after timeout × attempts', async () => {
      const t0 = performance.now();
      const err = await start({ seed: 1, faults: { silentAfterRequests: 0 } }, { timeoutMs: 100, retries: 2 }).catch((e: unknown) => e);
      const ms = performance.now() - t0;
      expect(err).toBeInstanceOf(HandshakeError);
      expect(err).toMatchObject({ reason: 'no-reply' });
      expect(ms).toBeGreaterThanOrEqual(290);
      expect(ms).toBeLessThan(10_000);
    });

    it('a Run the device never sees is sent again after Status shows the old run id, at most `retries` times, then fails with TimeoutError', async () => {
      const dev = await start({ seed: 1, faults: { ignore: ['Run'] } }, { timeoutMs: 200, retries: 2 });
      await dev.configure(configureOptions);
      await dev.uploadCurvature({ form: 'dense', n: 2, A: [2, 0, 0, 2], lambda: 0 });
      await dev.uploadGradient([1, 1]);
      const before = dev.metrics().retries;
      const err = await dev.run({ durationTau: 1, start: 'reset' }).result.catch((e: unknown) => e);
      expect(err).toBeInstanceOf(TimeoutError);
      expect(err).toMatchObject({ op: 'Run' });
      expect(dev.metrics().retries - before).toBe(2);
      // nothing ran: the device is READY with no run
      expect(await dev.status()).toMatchObject({ state: 'READY', runId: 0 });
    });

    it('a Run whose reply is lost: Status shows the new run id, the driver reads that run\'s results instead of running again (same bits)', async () => {
      const sys = factoredSystem(24, 2, 7);
      let dropped = 0;
      const loseFirstRunReply = (d: DeviceEndpoint): DeviceEndpoint =>
        messageProxy(d, { down: (m) => (m.kind === 'RunReply' && dropped++ === 0 ? null : m) });
      const dev = await start({ seed: 4 }, { timeoutMs: 300 }, loseFirstRunReply);
      await dev.configure(configureOptions);
      await dev.uploadCurvature({ form: 'factored', ...sys });
      await dev.uploadGradient(sys.g);
      const first = await dev.run({ durationTau: 3, start: 'reset' }).result;
      const second = await dev.run({ durationTau: 2, start: 'carry' }).result;
      const [want1, want2] = reference(sys, 4, [
        { durationTau: 3, start: 'reset' },
        { durationTau: 2, start: 'carry' },
      ]);
      expect(dropped).toBe(2);
      expect(dev.metrics().timeouts).toBe(1);
      expect([first.runId, second.runId]).toEqual([1, 2]);
      expect(bitEqual(first.mean, want1.mean) && bitEqual(first.final, want1.final)).toBe(true);
      expect(bitEqual(second.mean, want2.mean) && bitEqual(second.final, want2.final)).toBe(true);
    });

    it('close() is idempotent, settles, and fails a pending run with DisconnectedError(closed-by-host); later calls are refused', async () => {
      const dev = await start({ seed: 1 });
      let disconnected = 0;
      dev.on('disconnected', () => disconnected++);
      await dev.configure({ ...configureOptions, integrator: { kind: 'euler', dtTau: 0.001 } });
      await dev.uploadCurvature({ form: 'dense', n: 1, A: [1], lambda: 0 });
      await dev.uploadGradient([1]);
      const run = dev.run({ durationTau: 1e6, start: 'reset' });
      let s = await dev.status();
      for (let i = 0; i < 100 && s.state !== 'RUNNING'; i++) s = await dev.status();
      expect(s.state).toBe('RUNNING');
      await Promise.all([dev.close(), dev.close()]);
      await dev.close();
      const err = await run.result.catch((e: unknown) => e);
      expect(err).toBeInstanceOf(DisconnectedError);
      expect(err).toMatchObject({ reason: 'closed-by-host' });
      expect(dev.isOpen).toBe(false);
      expect(() => dev.run({ durationTau: 1 })).toThrow(DisconnectedError);
      await expect(dev.status()).rejects.toBeInstanceOf(DisconnectedError);
      // 'disconnected' reports links lost, not the host's own close()
      expect(disconnected).toBe(0);
    });
  });
}
