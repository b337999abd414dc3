import { describe, expect, it, beforeEach, afterEach } from 'vitest';
import { appendFileSync, mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { MetricsWriter, readMetrics, truncateMetrics } from '../../../src/host-loop/run/index.ts';

let dir: string;
beforeEach(() => {
  dir = mkdtempSync(join(tmpdir(), 'tngd-metrics-'));
});
afterEach(() => rmSync(dir, { recursive: true, force: true }));

describe('JSON-lines metrics', () => {
  it('puts each record on disk as one line before the writer is closed', () => {
    const p = join(dir, 'm.jsonl');
    const w = new MetricsWriter(p);
    w.write({ iter: 1, epoch: 0, wallSeconds: 0.1, trainLoss: 2.3 });
    expect(readFileSync(p, 'utf8')).toBe('{"iter":1,"epoch":0,"wallSeconds":0.1,"trainLoss":2.3}\n');
    w.write({ iter: 2, epoch: 0, wallSeconds: 0.2, trainLoss: NaN, testAccuracy: 0.5, note: Infinity });
    expect(readMetrics(p).records).toHaveLength(2);
    w.close();
    const back = readMetrics(p);
    expect(back.records[1].trainLoss).toBeNaN();
    expect(back.records[1].note).toBe(Infinity);
    expect(back.truncatedTail).toBe(false);
    expect(() => w.write({ iter: 3, epoch: 0, wallSeconds: 0, trainLoss: 1 })).toThrow(/closed/);
  });

  it('reads past a torn last line and truncates for resume to the checkpointed iteration', () => {
    const p = join(dir, 'm.jsonl');
    const w = new MetricsWriter(p, { durable: true });
    for (let i = 1; i <= 6; i++) w.write({ iter: i, epoch: 0, wallSeconds: i, trainLoss: 1 / i });
    w.close();
    appendFileSync(p, '{"iter":7,"epoch":0,"wallSec'); // crash mid-write
    const r = readMetrics(p);
    expect(r.records.map((x) => x.iter)).toEqual([1, 2, 3, 4, 5, 6]);
    expect(r.truncatedTail).toBe(true);
    expect(truncateMetrics(p, 4)).toBe(4);
    const w2 = new MetricsWriter(p, { append: true });
    w2.write({ iter: 5, epoch: 0, wallSeconds: 5, trainLoss: 0.2 });
    w2.close();
    const after = readMetrics(p);
    expect(after.records.map((x) => x.iter)).toEqual([1, 2, 3, 4, 5]);
    expect(after.truncatedTail).toBe(false);
  });

  it('reports damaged lines in the middle by number', () => {
    const p = join(dir, 'm.jsonl');
    appendFileSync(p, '{"iter":1,"trainLoss":1}\ngarbage\n{"iter":3,"trainLoss":1}\n');
    expect(readMetrics(p).badLines).toEqual([2]);
  });
});
