// The live run server over run folders: the page and its assets, a snapshot then appends on
// /events, read-only, loopback by default, and a secret for anything else.
import { afterEach, describe, expect, it } from 'vitest';
import { appendFileSync, mkdirSync, renameSync, writeFileSync } from 'node:fs';
import { request } from 'node:http';
import { join } from 'node:path';
import { LiveServer, LiveServerUsageError, isLoopbackHost } from '../../src/host-loop/run/live/server.ts';
import { MetricsTail } from '../../src/host-loop/run/live/folders.ts';
import { formatMetricsLine } from '../../src/host-loop/run/metrics.ts';
import { tempDir } from '../host-loop/train/helpers.ts';

const root = tempDir('live-server');
let server: LiveServer | null = null;
afterEach(async () => {
  await server?.close();
  server = null;
});

const line = (iter: number): string => formatMetricsLine({ iter, epoch: 0, wallSeconds: iter * 0.1, trainLoss: 2 / iter });

function makeRun(dir: string, optimizer: string, seed: number, iters: number): void {
  mkdirSync(dir, { recursive: true });
  writeFileSync(join(dir, 'config.json'), JSON.stringify({ optimizer, seed, model: 'mlp:196-16-10' }));
  writeFileSync(join(dir, 'metrics.jsonl'), Array.from({ length: iters }, (_, i) => line(i + 1)).join(''));
}

interface Got {
  status: number;
  headers: Record<string, string | string[] | undefined>;
  body: string;
}
function get(url: string, headers: Record<string, string> = {}, method = 'GET'): Promise<Got> {
  return new Promise((resolve, reject) => {
    const req = request(url, { method, headers }, (res) => {
      let body = '';
      res.setEncoding('utf8');
      res.on('data', (c: string) => (body += c));
      res.on('end', () => resolve({ status: res.statusCode ?? 0, headers: res.headers, body }));
    });
    req.on('error', reject);
    req.setTimeout(10_000, () => req.destroy(new Error('timeout')));
    req.end();
  });
}

/** Reads SSE events from /events until `until` says stop (bounded by a timeout). */
function events(url: string, until: (evs: { event: string; data: unknown }[]) => boolean, timeoutMs = 15_000): Promise<{ event: string; data: unknown }[]> {
  return new Promise((resolve, reject) => {
    const evs: { event: string; data: unknown }[] = [];
    const req = request(url + 'events', (res) => {
      let buf = '';
      res.setEncoding('utf8');
      res.on('data', (c: string) => {
        buf += c;
        let i;
        while ((i = buf.indexOf('\n\n')) >= 0) {
          const block = buf.slice(0, i);
          buf = buf.slice(i + 2);
          const ev = /^event: (.*)$/m.exec(block)?.[1];
          const data = /^data: (.*)$/m.exec(block)?.[1];
          if (ev && data) evs.push({ event: ev, data: JSON.parse(data) });
        }
        if (until(evs)) {
          clearTimeout(timer);
          req.destroy();
          resolve(evs);
        }
      });
    });
    const timer = setTimeout(() => {
      req.destroy();
      reject(new Error(`timed out; events so far: ${evs.map((e) => e.event).join(', ')}`));
    }, timeoutMs);
    req.on('error', (e) => {
      if (!evs.length) reject(e);
    });
    req.end();
  });
}

describe('live server', () => {
  it('serves the page, its assets and a snapshot of a comparison folder, then streams appended lines', async () => {
    const cmp = join(root, 'cmp');
    makeRun(join(cmp, 'adam-s1'), 'adam', 1, 5);
    makeRun(join(cmp, 'tngd-s1'), 'tngd', 1, 3);
    server = new LiveServer({ roots: [cmp], title: 'cmp <x>', port: 0, pollMs: 50 });
    const url = await server.start();
    expect(url).toMatch(/^http:\/\/127\.0\.0\.1:\d+\/$/);
    const page = await get(url);
    expect(page.status).toBe(200);
    expect(page.body).toContain('<title>cmp &lt;x&gt;</title>');
    expect(page.body).toContain('src="assets/uPlot.iife.min.js"');
    expect((await get(url + 'assets/uPlot.iife.min.js')).body).toMatch(/^\/\*! https:\/\/github.com\/leeoniya\/uPlot/);
    expect((await get(url + 'assets/client.js')).body).toContain('EventSource');
    expect((await get(url + 'nope')).status).toBe(404);
    expect((await get(url, {}, 'POST')).status).toBe(405);

    const got = events(url, (evs) => evs.some((e) => e.event === 'metrics'));
    await new Promise((r) => setTimeout(r, 200));
    appendFileSync(join(cmp, 'tngd-s1', 'metrics.jsonl'), line(4) + line(5).slice(0, 10));
    const evs = await got;
    const snap = evs[0].data as { runs: { key: string; optimizer: string; metrics: unknown[] }[] };
    expect(evs[0].event).toBe('snapshot');
    expect(snap.runs.map((r) => [r.key, r.optimizer, r.metrics.length])).toEqual([
      ['adam-s1', 'adam', 5],
      ['tngd-s1', 'tngd', 3],
    ]);
    const m = evs.find((e) => e.event === 'metrics')!.data as { key: string; records: { iter: number }[] };
    expect(m.key).toBe('tngd-s1');
    expect(m.records.map((r) => r.iter)).toEqual([4]); // the half-written line waits for its newline
  });

  it('announces a run folder that appears while serving (the next run of a comparison)', async () => {
    const cmp = join(root, 'cmp2');
    makeRun(join(cmp, 'adam-s1'), 'adam', 1, 2);
    server = new LiveServer({ roots: [cmp], title: 't', port: 0, pollMs: 50 });
    const url = await server.start();
    const got = events(url, (evs) => evs.some((e) => e.event === 'metrics' && (e.data as { key: string }).key === 'sgd-s1'));
    await new Promise((r) => setTimeout(r, 200));
    makeRun(join(cmp, 'sgd-s1'), 'sgd', 1, 4);
    const evs = await got;
    expect(evs.map((e) => e.event)).toEqual(['snapshot', 'run', 'metrics']);
    expect((evs[2].data as { records: unknown[] }).records).toHaveLength(4);
  });

  it('binds loopback only unless allowed remote with a secret; a secret gates every request', async () => {
    expect(() => new LiveServer({ roots: [root], title: 't', port: 0, host: '0.0.0.0' })).toThrow(LiveServerUsageError);
    expect(() => new LiveServer({ roots: [root], title: 't', port: 0, host: '0.0.0.0', allowRemote: true })).toThrow(/needs a secret/);
    expect(() => new LiveServer({ roots: [root], title: 't', port: 70000 })).toThrow(LiveServerUsageError);
    expect(isLoopbackHost('127.0.0.2') && isLoopbackHost('::1') && isLoopbackHost('localhost') && !isLoopbackHost('10.0.0.1')).toBe(true);

    makeRun(join(root, 'one'), 'sgd', 1, 2);
    server = new LiveServer({ roots: [join(root, 'one')], title: 't', port: 0, secret: 's3cret' });
    const url = await server.start();
    expect((await get(url)).status).toBe(403);
    expect((await get(url + '?token=wrong')).status).toBe(403);
    const ok = await get(url + '?token=s3cret');
    expect(ok.status).toBe(200);
    const cookie = String(ok.headers['set-cookie']).split(';')[0];
    expect(cookie).toMatch(/^tngd_live=/);
    expect((await get(url + 'api/snapshot', { Cookie: cookie })).status).toBe(200);
    // a page elsewhere reaching 127.0.0.1 through its own name (DNS rebinding) is refused
    expect((await get(url + '?token=s3cret', { Host: 'evil.example:80' })).status).toBe(403);
  });
});

describe('metrics tail', () => {
  it('reads whole lines only and starts over when --resume replaces the file', () => {
    const dir = join(root, 'tail');
    mkdirSync(dir, { recursive: true });
    const p = join(dir, 'metrics.jsonl');
    writeFileSync(p, line(1) + line(2));
    const t = new MetricsTail(p);
    expect(t.read().records.map((r) => r.iter)).toEqual([1, 2]);
    appendFileSync(p, line(3).slice(0, 5));
    expect(t.read().records).toEqual([]);
    appendFileSync(p, line(3).slice(5));
    expect(t.read().records.map((r) => r.iter)).toEqual([3]);
    writeFileSync(join(dir, 'tmp'), line(1));
    renameSync(join(dir, 'tmp'), p);
    const again = t.read();
    expect(again.reset).toBe(true);
    expect(again.records.map((r) => r.iter)).toEqual([1]);
  });
});
