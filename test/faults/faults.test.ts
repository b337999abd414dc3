// Fault matrix: under every link- and device-side fault the driver either recovers (the result
// is bit-identical to the fault-free run) or fails with a typed error within its timeouts; it
// never hangs and never returns a wrong result. `npx tsx test/faults/matrix.ts` prints the table.
import { describe, expect, it } from 'vitest';
import { CASES, MESSAGE_LINK_CASES, formatMatrix, runMatrix } from './matrix.ts';

describe('fault matrix (emulator, 150 ms timeouts, 4 retries)', () => {
  it('every fault ends in the expected outcome: recovered bit-identical, or a typed error; never a wrong result or a hang', async () => {
    const rows = await runMatrix(CASES, 6);
    const bad = rows.filter((r, i) => !CASES[i].expect.includes(r.outcome));
    if (bad.length > 0) console.log(formatMatrix(rows));
    expect(bad.map((r) => `${r.id}: ${r.outcome} (${r.errors.join('; ')})`)).toEqual([]);
    for (const r of rows) {
      expect(r.outcome).not.toBe('WRONG RESULT');
      expect(r.outcome).not.toBe('HANG');
      expect(r.errors.filter((e) => e.startsWith('UNTYPED'))).toEqual([]);
      if (r.outcome !== 'typed error') expect(r.bitIdentical).toBe(true);
      // Each case settles well inside its 8 s budget: 3 attempts × 5 tries × 150 ms + handshakes.
      expect(r.ms).toBeLessThan(6000);
    }
    // The noisy-link rows really exercised retries, and the damaged replies were seen and dropped.
    const byId = Object.fromEntries(rows.map((r) => [r.id, r]));
    for (const id of ['drop', 'corrupt', 'duplicate', 'mixed']) expect(byId[id].retries).toBeGreaterThan(0);
    expect(byId['bad-crc-replies'].badFrames).toBeGreaterThan(0);
    expect(byId['stall'].lateReplies).toBeGreaterThan(0);
  });

  it('the firmware fault switches end the same way on the in-process message link', async () => {
    const rows = await runMatrix(MESSAGE_LINK_CASES, 6);
    const bad = rows.filter((r, i) => !MESSAGE_LINK_CASES[i].expect.includes(r.outcome));
    if (bad.length > 0) console.log(formatMatrix(rows));
    expect(bad.map((r) => `${r.id}: ${r.outcome} (${r.errors.join('; ')})`)).toEqual([]);
    for (const r of rows) {
      expect(r.errors.filter((e) => e.startsWith('UNTYPED'))).toEqual([]);
      if (r.outcome !== 'typed error') expect(r.bitIdentical).toBe(true);
    }
    expect(MESSAGE_LINK_CASES.length).toBe(8);
    expect(rows.find((r) => r.id === 'bad-crc-replies@messages')!.badFrames).toBeGreaterThan(0);
  });
});
