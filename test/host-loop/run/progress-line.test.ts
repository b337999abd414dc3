import { describe, expect, it } from 'vitest';
import { formatEta, lineProgress } from '../../../src/host-loop/run/progress-line.ts';

describe('progress without a terminal', () => {
  it('prints one line every few seconds with iteration, loss, it/s and ETA, and one at the end', () => {
    let t = 0;
    const lines: string[] = [];
    const p = lineProgress({ everyMs: 5000, now: () => t, write: (l) => lines.push(l) });
    p.start('tngd (seed 1)', 200, 0);
    for (let i = 1; i <= 100; i++) {
      t = i * 200; // 5 it/s
      p.update(i, 1, i >= 50 ? 0.75 : undefined);
    }
    expect(lines).toHaveLength(4); // at 5, 10, 15 and 20 s
    expect(lines[0]).toBe('tngd (seed 1): iteration 25/200 (13%), loss 1.0000, 5.00 it/s, ETA 35 s');
    expect(lines[3]).toMatch(/iteration 100\/200 .*test acc 75\.0%, 5\.00 it\/s, ETA 20 s$/);
    p.stop();
    expect(lines).toHaveLength(5);
    expect(formatEta(3725)).toBe('1 h 2 min');
    expect(formatEta(NaN)).toBe('?');
  });
});
