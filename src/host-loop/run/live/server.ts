// The live run server: read-only HTTP over run folders. It polls the folders (metrics.jsonl
// tails, device.json, state.json), so the same code serves a run in this process (tngd train
// --serve), a comparison, or folders another process is writing (tngd serve). Browsers follow
// /events (server-sent events): a full snapshot on every (re)connection, then appends.
//
// Access: 127.0.0.1 by default. Another address needs allowRemote *and* a secret (as the device
// server's rules, but stricter: a page of someone's training is not for anyone on the network);
// with a secret every request carries it (?token= once, then an HttpOnly cookie). On loopback the
// Host header must name a loopback host, so a web page elsewhere cannot read it by DNS rebinding.
import { createServer, type IncomingMessage, type Server, type ServerResponse } from 'node:http';
import { isIP } from 'node:net';
import { createHash, randomBytes, timingSafeEqual } from 'node:crypto';
import { join } from 'node:path';
import { statSync } from 'node:fs';
import { discoverRuns, loadRun, MetricsTail, METRICS_FILE, type LiveRun } from './folders.ts';
import { buildLivePage, pageAssets, type LiveSnapshot } from './page.ts';
import { DEVICE_FILE, STATE_FILE } from './records.ts';

export interface LiveServerOptions {
  /** run folders, or folders of run folders (a comparison); rescanned while serving */
  roots: string[];
  title: string;
  notes?: string[];
  /** default 127.0.0.1 */
  host?: string;
  /** 0 = any free port */
  port: number;
  allowRemote?: boolean;
  secret?: string;
  /** how often the folders are polled, ms; default 250 */
  pollMs?: number;
}

export class LiveServerUsageError extends Error {
  readonly category = 'usage';
  constructor(message: string) {
    super(message);
    this.name = new.target.name;
  }
}

export function isLoopbackHost(host: string): boolean {
  const h = host.replace(/^\[|\]$/g, '').toLowerCase();
  if (h === 'localhost' || h === '::1') return true;
  return isIP(h) === 4 && h.startsWith('127.');
}

interface Tracked {
  dir: string;
  tail: MetricsTail;
  run: LiveRun;
  stamps: string;
}

const COOKIE = 'tngd_live';
const digest = (s: string): Buffer => createHash('sha256').update(s).digest();

export class LiveServer {
  private server: Server | null = null;
  private readonly runs = new Map<string, Tracked>();
  private readonly clients = new Set<ServerResponse>();
  private timer: NodeJS.Timeout | null = null;
  private beat: NodeJS.Timeout | null = null;
  private seq = 0;
  private readonly boot = randomBytes(4).toString('hex');
  private readonly host: string;
  private readonly secretDigest: Buffer | null;
  url = '';

  constructor(private readonly o: LiveServerOptions) {
    this.host = o.host ?? '127.0.0.1';
    if (!Number.isInteger(o.port) || o.port < 0 || o.port > 65535) throw new LiveServerUsageError(`port must be an integer in 0..65535, got ${o.port}`);
    if (o.secret !== undefined && o.secret.length === 0) throw new LiveServerUsageError('the secret must not be empty');
    if (!isLoopbackHost(this.host)) {
      if (!o.allowRemote) throw new LiveServerUsageError(`refusing to serve the run page on ${this.host}: not a loopback address (needs --allow-remote and a secret)`);
      if (o.secret === undefined) throw new LiveServerUsageError(`serving the run page on ${this.host} needs a secret (--secret or $TNGD_SECRET): anyone who can reach it could read the runs`);
    }
    this.secretDigest = o.secret === undefined ? null : digest(o.secret);
  }

  async start(): Promise<string> {
    this.poll();
    const server = createServer((req, res) => this.handle(req, res));
    this.server = server;
    await new Promise<void>((resolve, reject) => {
      server.once('error', reject);
      server.listen(this.o.port, this.host, () => {
        server.off('error', reject);
        resolve();
      });
    });
    const addr = server.address();
    const port = typeof addr === 'object' && addr ? addr.port : this.o.port;
    const h = this.host.includes(':') ? `[${this.host}]` : this.host;
    this.url = `http://${h}:${port}/`;
    this.timer = setInterval(() => this.poll(), this.o.pollMs ?? 250);
    this.timer.unref();
    // a comment line every 15 s keeps proxies and idle sockets from closing the stream
    this.beat = setInterval(() => this.broadcastRaw(': keep-alive\n\n'), 15_000);
    this.beat.unref();
    return this.url;
  }

  /** Reads the folders once more, sends what changed, then closes every stream and the server. */
  async close(): Promise<void> {
    if (this.timer) clearInterval(this.timer);
    if (this.beat) clearInterval(this.beat);
    this.timer = this.beat = null;
    if (this.server) this.poll();
    for (const c of this.clients) c.end();
    this.clients.clear();
    const s = this.server;
    this.server = null;
    if (s) {
      s.closeAllConnections();
      await new Promise<void>((r) => s.close(() => r()));
    }
  }

  snapshot(): LiveSnapshot {
    return { title: this.o.title, notes: this.o.notes ?? [], generatedAt: new Date().toISOString(), runs: [...this.runs.values()].map((t) => t.run).sort((a, b) => (a.key < b.key ? -1 : 1)) };
  }

  // ---- folders ----

  private keyRoot(root: string): string {
    return this.o.roots.length > 1 ? join(root, '..') : root;
  }

  /** One pass over the folders: new runs, appended metrics, rewritten device/state files. */
  poll(): void {
    for (const root of this.o.roots)
      for (const dir of discoverRuns(root)) {
        let t = [...this.runs.values()].find((x) => x.dir === dir);
        if (!t) {
          const run = loadRun(dir, this.keyRoot(root), []);
          t = { dir, tail: new MetricsTail(join(dir, METRICS_FILE)), run, stamps: this.stampsOf(dir) };
          this.runs.set(run.key, t);
          this.send('run', run);
        } else {
          const stamps = this.stampsOf(dir);
          if (stamps !== t.stamps) {
            t.stamps = stamps;
            const fresh = loadRun(dir, this.keyRoot(root), t.run.metrics);
            t.run = fresh;
            const { metrics: _omit, ...rest } = fresh;
            this.send('run', rest);
          }
        }
        let got: ReturnType<MetricsTail['read']>;
        try {
          got = t.tail.read();
        } catch (e) {
          t.run.problems = [`${METRICS_FILE}: ${(e as Error).message}`];
          continue;
        }
        if (got.reset) t.run.metrics = [];
        if (got.records.length || got.reset) {
          t.run.metrics.push(...got.records);
          this.send('metrics', { key: t.run.key, reset: got.reset, records: got.records });
        }
      }
  }

  private stampsOf(dir: string): string {
    return ['config.json', DEVICE_FILE, STATE_FILE]
      .map((f) => {
        try {
          const s = statSync(join(dir, f));
          return `${s.mtimeMs}:${s.size}:${s.ino}`;
        } catch {
          return '-';
        }
      })
      .join('|');
  }

  // ---- events ----

  private send(event: string, data: unknown): void {
    if (this.clients.size === 0) return;
    this.broadcastRaw(`id: ${this.boot}-${++this.seq}\nevent: ${event}\ndata: ${JSON.stringify(data)}\n\n`);
  }

  private broadcastRaw(text: string): void {
    for (const c of this.clients) c.write(text);
  }

  // ---- HTTP ----

  private authorized(req: IncomingMessage, url: URL, res: ServerResponse): boolean {
    if (this.host === '127.0.0.1' || isLoopbackHost(this.host)) {
      const h = (req.headers.host ?? '').replace(/:\d+$/, '');
      if (!isLoopbackHost(h)) return false;
    }
    if (!this.secretDigest) return true;
    const fromQuery = url.searchParams.get('token');
    const cookie = /(?:^|;\s*)tngd_live=([^;]+)/.exec(req.headers.cookie ?? '')?.[1];
    const given = fromQuery ?? (cookie ? decodeURIComponent(cookie) : undefined);
    if (given === undefined || !timingSafeEqual(digest(given), this.secretDigest)) return false;
    if (fromQuery !== null) res.setHeader('Set-Cookie', `${COOKIE}=${encodeURIComponent(fromQuery)}; HttpOnly; SameSite=Strict; Path=/`);
    return true;
  }

  private handle(req: IncomingMessage, res: ServerResponse): void {
    const url = new URL(req.url ?? '/', 'http://x');
    res.setHeader('X-Content-Type-Options', 'nosniff');
    res.setHeader('Cache-Control', 'no-store');
    if (req.method !== 'GET' && req.method !== 'HEAD') {
      res.writeHead(405, { Allow: 'GET, HEAD', 'Content-Type': 'text/plain' }).end('read-only: GET only\n');
      return;
    }
    if (!this.authorized(req, url, res)) {
      res.writeHead(403, { 'Content-Type': 'text/plain' }).end(this.secretDigest ? 'forbidden: open the URL with ?token=<secret>\n' : 'forbidden\n');
      return;
    }
    const a = pageAssets();
    const body = (type: string, text: string): void => {
      res.writeHead(200, { 'Content-Type': type });
      res.end(req.method === 'HEAD' ? undefined : text);
    };
    switch (url.pathname) {
      case '/':
        return body('text/html; charset=utf-8', buildLivePage({ mode: 'live', title: this.o.title }));
      case '/assets/uPlot.iife.min.js':
        return body('text/javascript; charset=utf-8', a.uplotJs);
      case '/assets/uPlot.min.css':
        return body('text/css; charset=utf-8', a.uplotCss);
      case '/assets/client.js':
        return body('text/javascript; charset=utf-8', a.client);
      case '/api/snapshot':
        return body('application/json', JSON.stringify(this.snapshot()));
      case '/events':
        return this.events(res);
      default:
        res.writeHead(404, { 'Content-Type': 'text/plain' }).end('not found\n');
    }
  }

  private events(res: ServerResponse): void {
    res.writeHead(200, { 'Content-Type': 'text/event-stream', Connection: 'keep-alive' });
    // retry: how soon a browser reconnects after the server went away (e.g. restarted)
    res.write(`retry: 1000\nid: ${this.boot}-${this.seq}\nevent: snapshot\ndata: ${JSON.stringify(this.snapshot())}\n\n`);
    this.clients.add(res);
    res.on('close', () => this.clients.delete(res));
  }
}
