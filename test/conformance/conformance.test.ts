// The conformance suite against the emulator over every transport the issue names: in-process
// (serialport binding), TCP (loopback server) and a real pty made by socat; and against a real
// device when TNGD_DEVICE names one (e.g. TNGD_DEVICE=/dev/ttyUSB0 or tcp://host:port).
import { execFileSync } from 'node:child_process';
import { afterAll, describe, expect, it } from 'vitest';
import { connect } from '../../src/connect.ts';
import { formatReport, meanTolerance, runConformance } from '../../src/conformance/index.ts';
import type { ConformanceReport } from '../../src/conformance/index.ts';
import type { Duplex } from 'node:stream';
import { SpuDriver, duplexLink } from '../../src/driver/index.ts';
import { createEmulatedDevice, emulatorFactory, serveTcp, startPty } from '../../src/emulator/index.ts';
import { ErrorCode, FEATURES, OPERATIONS, tensorFromFloat64, tensorToFloat64 } from '../../src/protocol/index.ts';
import type { Message, WireTensor } from '../../src/protocol/index.ts';
import { messageProxy, rewriteProxy } from '../driver/helpers.ts';

function failures(r: ConformanceReport): string[] {
  return r.checks.filter((c) => c.status === 'fail').map((c) => `${c.id}: ${c.reason}`);
}

function hasSocat(): boolean {
  try {
    execFileSync('socat', ['-V'], { stdio: 'ignore' });
    return true;
  } catch {
    return false;
  }
}

const cleanups: (() => Promise<void>)[] = [];
afterAll(async () => {
  for (const c of cleanups.reverse()) await c();
});

function expectConforms(r: ConformanceReport): void {
  if (!r.ok) console.log(formatReport(r));
  expect(failures(r)).toEqual([]);
  // Everything runs on an emulator except what only hardware can show.
  expect(r.checks.filter((c) => c.status === 'skip').map((c) => c.id).sort()).toEqual(
    ['args.dtype', 'hardware.analog-time', 'hardware.hard-reset', 'hardware.link-rate', 'state.FAULT'],
  );
  expect(r.summary.pass).toBeGreaterThanOrEqual(50);
}

describe('conformance suite against the emulator', () => {
  it('passes in-process on the message link (emu:, no framing)', async () => {
    const r = await runConformance('emu:?seed=11', { hardware: false });
    expect(r.device?.model).toBe('spu-emulator');
    expectConforms(r);
  });

  it('passes in-process on the byte link (emu:?link=bytes, serialport binding)', async () => {
    const r = await runConformance('emu:?seed=11&link=bytes', { hardware: false });
    expect(r.device?.model).toBe('spu-emulator');
    expectConforms(r);
  });

  it('passes over TCP (loopback device server)', async () => {
    const srv = await serveTcp(emulatorFactory({ seed: 12 }), { port: 0 });
    cleanups.push(() => srv.close());
    expectConforms(await runConformance(srv.url, { hardware: false }));
  });

  it.skipIf(!hasSocat())('passes over a real pty (socat)', async () => {
    const pty = await startPty({ factory: emulatorFactory({ seed: 13 }) });
    cleanups.push(() => pty.close());
    expect(pty.path).toMatch(/^\/dev\/pts\/\d+$/);
    expectConforms(await runConformance(pty.path, { hardware: false }));
  });

  it.skipIf(!process.env.TNGD_DEVICE)('passes against the device named by TNGD_DEVICE', async () => {
    const r = await runConformance(process.env.TNGD_DEVICE as string, { hardware: true });
    console.log(formatReport(r));
    expect(failures(r)).toEqual([]);
  });
});

describe('the suite detects non-conforming devices', () => {
  it('fails the checks a device that never answers ErrorsClear breaks, and only those', async () => {
    const r = await runConformance('emu:?seed=1', {
      hardware: false,
      only: ['errors', 'handshake'],
      timeoutMs: 300,
      connect: { emulator: { faults: { ignore: ['ErrorsClear'] } } },
    });
    const failed = r.checks.filter((c) => c.status === 'fail').map((c) => c.id);
    // fresh() clears the queue in every errors.* check; handshake.* never uses ErrorsClear.
    expect(failed).toEqual(['errors.queue', 'errors.overflow', 'errors.clear']);
    expect(r.ok).toBe(false);
  });

  it('fails upload.curvature-rules when a device seems to commit what §7.4.1 refuses (and passes without)', async () => {
    // the proxy turns the device's refusal of a Curvature into a CurvatureReply, as a 1.1 device committed it
    const accepting = (m: Message): Message =>
      m.kind === 'Error' && m.requestType === OPERATIONS.Curvature.type && m.body.code === ErrorCode.OUT_OF_RANGE ? { kind: 'CurvatureReply', body: { n: 3, r: 2, curvatureId: 1 } } : m;
    const run = (edit: (m: Message) => Message) =>
      runConformance(() => SpuDriver.open(async () => duplexLink(rewriteProxy(createEmulatedDevice({ seed: 5 }), edit), 'proxy'), { heartbeatIntervalMs: 0 }), {
        hardware: false,
        only: ['upload.curvature-rules'],
      });
    expect((await run((m) => m)).checks.map((c) => c.status)).toEqual(['pass']);
    expect((await run(accepting)).checks.map((c) => c.status)).toEqual(['fail']);
  });

  it('fails numerics.mean and numerics.solve when results carry a 1% gain error (and passes without it)', async () => {
    const run = (gain: number) =>
      runConformance(() => SpuDriver.open(async () => duplexLink(gainProxy(createEmulatedDevice({ seed: 5 }), gain), 'gain-proxy'), { heartbeatIntervalMs: 0 }), {
        hardware: false,
        only: ['numerics.mean', 'numerics.solve'],
      });
    const good = await run(1);
    expect(good.checks.map((c) => c.status)).toEqual(['pass', 'pass']);
    const bad = await run(1.01);
    expect(bad.checks.map((c) => `${c.id}:${c.status}`)).toEqual(['numerics.mean:fail', 'numerics.solve:fail']);
  });
});

describe('run.counter (Configure.runIndex, protocol 1.1)', () => {
  it("skips devices without the 'emulator' feature and sessions at minor 0, naming why", async () => {
    const hw = await runConformance('emu:?seed=1', { hardware: false, only: ['run.counter'], connect: { emulator: { capabilities: { features: FEATURES.filter((f) => f !== 'emulator') } } } });
    expect(hw.checks.map((c) => [c.status, c.reason])).toEqual([['skip', "the run counter applies to devices declaring the 'emulator' feature"]]);
    const v10 = await runConformance(() => SpuDriver.open(async () => duplexLink(rewriteProxy(createEmulatedDevice({ seed: 5 }), (m) => (m.kind === 'HelloReply' ? { ...m, body: { ...m.body, minor: 0 } } : m)), 'v1.0'), { heartbeatIntervalMs: 0 }), {
      hardware: false,
      only: ['run.counter'],
    });
    expect(v10.checks.map((c) => [c.status, c.reason])).toEqual([['skip', 'the session speaks protocol 1.0; runIndex is 1.1']]);
  });

  it('fails an emulator that ignores Configure.runIndex (and passes without the fault)', async () => {
    const run = (strip: boolean) =>
      runConformance(
        () =>
          SpuDriver.open(
            async () => duplexLink(messageProxy(createEmulatedDevice({ seed: 5 }), { up: (m) => (strip && m.kind === 'ConfigureRequest' ? { ...m, body: { ...m.body, runIndex: undefined } } : m) }), 'strip-runIndex'),
            { heartbeatIntervalMs: 0 },
          ),
        { hardware: false, only: ['run.counter'] },
      );
    expect((await run(false)).checks.map((c) => c.status)).toEqual(['pass']);
    const bad = (await run(true)).checks[0];
    expect(bad.status).toBe('fail');
    expect(bad.reason).toMatch(/Configure\{runIndex: 2\} answered runIndex 3/);
  });
});

/** Multiplies every Results mean/final by `gain` on its way to the host. */
function gainProxy(device: Duplex, gain: number): Duplex {
  const scaled = (t: WireTensor | undefined): WireTensor | undefined => (t ? tensorFromFloat64(tensorToFloat64(t).map((v) => v * gain), t.shape, 'f64') : t);
  return messageProxy(device, {
    down: (m) => (m.kind === 'ResultsReply' ? { kind: 'ResultsReply', body: { ...m.body, mean: scaled(m.body.mean), final: scaled(m.body.final) } } : m),
  });
}

describe('numerics.mean tolerance derivation', () => {
  it('predicts the scatter of the emulator time-average (60 seeds, z² mean within chi-square 99.8% bounds)', async () => {
    // The same known system as numerics.mean: A = Q diag(1, 1.5, 2, 3) Q with Q the normalised
    // 4×4 Hadamard, x* = (0.5, −0.25, 0.75, 0.1); κ₀ = 0.01, Δ = 0.1τ, burn-in 20τ, T = 200τ.
    const H = [
      [0.5, 0.5, 0.5, 0.5],
      [0.5, -0.5, 0.5, -0.5],
      [0.5, 0.5, -0.5, -0.5],
      [0.5, -0.5, -0.5, 0.5],
    ];
    const lam = [1, 1.5, 2, 3];
    const xs = [0.5, -0.25, 0.75, 0.1];
    const A = new Float64Array(16);
    for (let i = 0; i < 4; i++) for (let k = 0; k < 4; k++) for (let j = 0; j < 4; j++) A[i * 4 + k] += H[i][j] * lam[j] * H[k][j];
    const g = new Float64Array(4);
    for (let i = 0; i < 4; i++) for (let k = 0; k < 4; k++) g[i] += A[i * 4 + k] * xs[k];
    const dev = await connect('emu:?seed=1', { heartbeatIntervalMs: 0 });
    const runs = 60;
    const z2 = [0, 0, 0, 0];
    let tol: ReturnType<typeof meanTolerance> | null = null;
    for (let s = 0; s < runs; s++) {
      await dev.configure({ kappa0: 0.01, samplePeriodTau: 0.1, burnInTau: 20, integrator: { kind: 'exact' }, seed: 1000 + s });
      await dev.uploadCurvature({ form: 'dense', n: 4, A, lambda: 0 });
      await dev.uploadGradient(g);
      const r = await dev.run({ durationTau: 220, start: 'reset' }).result;
      tol ??= meanTolerance({ kappa0: 0.01, deltaTau: 0.1, samples: r.sampleCount, burnInTau: 20, resolution: 0 });
      for (let i = 0; i < 4; i++) z2[i] += ((r.mean![i] - xs[i]) / tol.sigma[i]) ** 2 / runs;
    }
    await dev.close();
    // chi-square(60)/60: P(< 0.55) ≈ P(> 1.53) ≈ 0.001. A variance formula off by a factor of two
    // (e.g. forgetting the factor 2 in 2κ₀A⁻²/T) lands at ≈ 0.5 or ≈ 2 and fails.
    for (const v of z2) {
      expect(v).toBeGreaterThan(0.55);
      expect(v).toBeLessThan(1.53);
    }
  });
});

describe('layered curvature (protocol 1.3)', () => {
  it("skips devices without 'layered-curvature', naming why", async () => {
    const r = await runConformance('emu:?seed=1', { hardware: false, only: ['layered'], connect: { emulator: { capabilities: { features: FEATURES.filter((f) => f !== 'layered-curvature') } } } });
    expect(r.checks.map((c) => [c.id, c.status, c.reason])).toEqual([
      ['layered.equivalence', 'skip', "the device does not list 'layered-curvature'"],
      ['layered.validation', 'skip', "the device does not list 'layered-curvature'"],
    ]);
  });

  it('fails layered.equivalence when the device pairs rows with the wrong sample (and passes without the fault)', async () => {
    // the proxy swaps the two samples' inputs of every inline dense layer: J's rows then use the other sample's a
    const swapSamples = (m: Message): Message => {
      if (m.kind !== 'CurvatureRequest' || m.body.form !== 'layered') return m;
      const layers = m.body.layers.map((l) => {
        if (l.kind !== 'dense' || 'ref' in l.a) return l;
        const [b, nIn] = l.a.shape;
        const v = tensorToFloat64(l.a);
        const w = new Float64Array(v.length);
        for (let s = 0; s < b; s++) w.set(v.subarray(s * nIn, s * nIn + nIn), (b - 1 - s) * nIn);
        return { ...l, a: tensorFromFloat64(w, [b, nIn], 'f64') };
      });
      return { ...m, body: { ...m.body, layers } };
    };
    const run = (swap: boolean) =>
      runConformance(() => SpuDriver.open(async () => duplexLink(messageProxy(createEmulatedDevice({ seed: 5 }), swap ? { up: swapSamples } : {}), 'swap-samples'), { heartbeatIntervalMs: 0 }), {
        hardware: false,
        only: ['layered.equivalence'],
      });
    expect((await run(false)).checks.map((c) => c.status)).toEqual(['pass']);
    expect((await run(true)).checks.map((c) => c.status)).toEqual(['fail']);
  });
});
