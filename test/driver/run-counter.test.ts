// The driver and an emulator's run counter (PROTOCOL.md §7.3.1): configure({ runIndex }) resumes
// the noise where k runs left it, driver.runIndex follows the device, and a restore after a reboot
// puts the counter back so the next run gives the bytes of a device that never rebooted.
import { afterEach, describe, expect, it } from 'vitest';
import { connect } from '../../src/connect.ts';
import { ArgumentError, CapabilityError, SpuDriver, duplexLink } from '../../src/driver/index.ts';
import { createEmulatedDevice, rebootableDevice } from '../../src/emulator/index.ts';
import { FEATURES } from '../../src/protocol/index.ts';
import { bitEqual, configureOptions, factoredSystem, reference } from './helpers.ts';

const open: SpuDriver[] = [];
afterEach(async () => {
  for (const d of open.splice(0)) await d.close();
});
async function track(p: Promise<SpuDriver>): Promise<SpuDriver> {
  const d = await p;
  open.push(d);
  return d;
}

const SYS = factoredSystem(40, 4, 12);
const RUNS = [
  { durationTau: 3, start: 'reset' as const },
  { durationTau: 2, start: 'carry' as const },
  { durationTau: 2, start: 'carry' as const },
];

async function loaded(dev: SpuDriver): Promise<void> {
  await dev.uploadCurvature({ form: 'factored', ...SYS });
  await dev.uploadGradient(SYS.g);
}

describe('configure({ runIndex })', () => {
  it('runIndex 2 on a fresh emulator = the third run of one that ran twice (same start state), bit for bit', async () => {
    const want = reference(SYS, 31, RUNS);
    const dev = await track(connect('emu:?seed=31', { heartbeatIntervalMs: 0 }));
    await dev.configure({ ...configureOptions, runIndex: 2 });
    expect(dev.runIndex).toBe(2);
    await loaded(dev);
    await dev.setState(want[1].final); // the state the second run left (ideal profile: exact)
    const r = await dev.run(RUNS[2]).result;
    expect(bitEqual(r.mean, want[2].mean) && bitEqual(r.final, want[2].final)).toBe(true);
    expect(dev.runIndex).toBe(3);
    // and the index matters: from the same state at index 0, other bytes
    await dev.configure({ ...configureOptions, runIndex: 0 });
    await dev.setState(want[1].final);
    expect(bitEqual((await dev.run(RUNS[2]).result).mean, want[2].mean)).toBe(false);
  });

  it('driver.runIndex follows Configure, runs (aborted too) and the results carry it; undefined before Configure and after reset', async () => {
    const dev = await track(connect('emu:?seed=2', { heartbeatIntervalMs: 0 }));
    expect(dev.runIndex).toBeUndefined(); // IDLE device: nothing confirmed yet
    await dev.configure(configureOptions);
    expect(dev.runIndex).toBe(0);
    await loaded(dev);
    expect((await dev.run(RUNS[0]).result).runIndex).toBe(1);
    expect((await dev.run({ ...RUNS[1], fetchResults: false }).result).runIndex).toBe(2);
    expect(dev.runIndex).toBe(2);
    await dev.configure({ ...configureOptions, integrator: { kind: 'euler', dtTau: 1e-3 } });
    const long = dev.run({ durationTau: 1e6, start: 'reset' });
    await new Promise((r) => setTimeout(r, 30));
    await long.abort();
    expect((await long.result).flags).toContain('aborted');
    expect(dev.runIndex).toBe(3);
    expect((await dev.status()).runIndex).toBe(3);
    await dev.reset();
    expect(dev.runIndex).toBeUndefined();
  });

  it("is refused before anything is sent by a device that would ignore it (no 'emulator' feature), and out of range", async () => {
    const hw = await track(connect('emu:?seed=3', { heartbeatIntervalMs: 0, emulator: { capabilities: { features: FEATURES.filter((f) => f !== 'emulator') } } }));
    expect(hw.canSetRunIndex).toBe(false);
    await expect(hw.configure({ ...configureOptions, runIndex: 1 })).rejects.toBeInstanceOf(CapabilityError);
    expect((await hw.status()).state).toBe('IDLE');
    await hw.configure(configureOptions);
    expect(hw.runIndex).toBeUndefined(); // hardware reports no counter
    const emu = await track(connect('emu:?seed=3', { heartbeatIntervalMs: 0 }));
    expect(emu.canSetRunIndex).toBe(true);
    for (const bad of [-1, 1.5, 2 ** 32]) await expect(emu.configure({ ...configureOptions, runIndex: bad })).rejects.toBeInstanceOf(ArgumentError);
  });
});

describe('restore after a reboot puts the run counter back', () => {
  it('two runs, the firmware reboots, restore(): the third run is bit-identical to an uninterrupted device', async () => {
    const want = reference(SYS, 44, RUNS);
    const board = rebootableDevice(() => createEmulatedDevice({ seed: 44 }), { seed: 5 });
    const dev = await track(SpuDriver.open(async () => duplexLink(board.factory(), 'reboot'), { heartbeatIntervalMs: 0 }));
    await dev.configure(configureOptions);
    await loaded(dev);
    await dev.run(RUNS[0]).result;
    const second = await dev.run(RUNS[1]).result;
    expect(bitEqual(second.final, want[1].final)).toBe(true);
    board.reboot();
    // the rebooted device is IDLE at counter 0: the host keeps the counter it confirmed
    expect((await dev.status()).state).toBe('IDLE');
    expect(dev.runIndex).toBe(2);
    await dev.restore();
    expect(await dev.status()).toMatchObject({ state: 'READY', hasCurvature: true, hasGradient: true, runIndex: 2 });
    const third = await dev.run(RUNS[2]).result;
    expect(bitEqual(third.mean, want[2].mean) && bitEqual(third.final, want[2].final)).toBe(true);
    expect(board.reboots).toBe(1);
  });
});
