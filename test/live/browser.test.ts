// The run page in a real browser: Debian's Chromium (installed by .ci/run), driven by
// playwright-core pointed at that executable (no browser download). A short TNGD training run
// serves the page live; then its report (the same page, data inline) and `tngd serve` with a
// server restart. Screenshots go to results/browser/ (not committed).
import { afterAll, describe, expect, it } from 'vitest';
import { spawn, type ChildProcess } from 'node:child_process';
import { appendFileSync, existsSync, mkdirSync, mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { chromium, type BrowserContext, type Page } from 'playwright-core';
import { formatMetricsLine } from '../../src/host-loop/run/metrics.ts';
import { tempDir } from '../host-loop/train/helpers.ts';

const CHROMIUM = process.env.TNGD_CHROMIUM ?? '/usr/bin/chromium';
const haveChromium = existsSync(CHROMIUM);
// In CI the browser tests must run (.ci/run installs chromium); elsewhere they may be skipped.
const skip = !haveChromium && process.env.CI !== 'true';
const why = skip ? ` (skipped: no Chromium at ${CHROMIUM}; apt-get install chromium, or set TNGD_CHROMIUM)` : '';

const bin = fileURLToPath(new URL('../../bin/tngd.js', import.meta.url));
const shots = fileURLToPath(new URL('../../results/browser/', import.meta.url));
const dir = tempDir('live-browser');
const children = new Set<ChildProcess>();
let ctx: BrowserContext | null = null;
let profile: string | null = null;

afterAll(async () => {
  await ctx?.close();
  if (profile) rmSync(profile, { recursive: true, force: true });
  for (const c of children) if (c.exitCode === null) c.kill('SIGKILL');
});

async function browser(): Promise<BrowserContext> {
  if (ctx) return ctx;
  if (!haveChromium) throw new Error(`no Chromium at ${CHROMIUM}: CI must install Debian's chromium (.ci/run does)`);
  profile = mkdtempSync(join(tmpdir(), 'tngd-chromium-'));
  ctx = await chromium.launchPersistentContext(profile, {
    executablePath: CHROMIUM,
    headless: true,
    viewport: { width: 1400, height: 1000 },
    args: ['--headless', '--no-sandbox', '--disable-gpu', '--disable-quic', '--no-first-run', '--disable-background-networking', '--disable-component-update', '--disable-sync'],
  });
  return ctx;
}

/** A page that records console errors and uncaught exceptions. */
async function openPage(url: string): Promise<{ page: Page; errors: string[] }> {
  const page = await (await browser()).newPage();
  const errors: string[] = [];
  page.on('console', (m) => {
    if (m.type() === 'error') errors.push(m.text());
  });
  page.on('pageerror', (e) => errors.push(String(e)));
  await page.goto(url);
  return { page, errors };
}

/** Starts the CLI; resolves with the first match of `pattern` in its stdout or stderr. */
function start(args: string[], pattern: RegExp, timeoutMs = 90_000): Promise<{ child: ChildProcess; match: RegExpExecArray }> {
  const child = spawn(process.execPath, [bin, ...args], { stdio: ['ignore', 'pipe', 'pipe'] });
  children.add(child);
  return new Promise((resolve, reject) => {
    let out = '';
    const timer = setTimeout(() => reject(new Error(`no ${pattern} within ${timeoutMs} ms; output:\n${out}`)), timeoutMs);
    const onData = (c: Buffer): void => {
      out += c.toString('utf8');
      const m = pattern.exec(out);
      if (m) {
        clearTimeout(timer);
        resolve({ child, match: m });
      }
    };
    child.stdout!.on('data', onData);
    child.stderr!.on('data', onData);
    child.on('exit', (code) => reject(new Error(`exited ${code} before ${pattern}; output:\n${out}`)));
  });
}

const exited = (c: ChildProcess): Promise<number | null> => (c.exitCode !== null ? Promise.resolve(c.exitCode) : new Promise((r) => c.once('exit', (code) => r(code))));

/** x values in each chart (uPlot's aligned data), and non-null points per series. */
const chartSizes = (page: Page): Promise<Record<string, { x: number; series: number[] }>> =>
  page.evaluate(() => {
    const charts = (globalThis as unknown as { tngdLive: { charts: Record<string, { data: (number | null)[][] }> } }).tngdLive.charts;
    return Object.fromEntries(Object.entries(charts).map(([k, u]) => [k, { x: u.data[0].length, series: u.data.slice(1).map((s) => s.filter((v) => v !== null).length) }]));
  });
const live = <T>(page: Page, expr: string): Promise<T> => page.evaluate(`window.tngdLive.${expr}`) as Promise<T>;
const metricsLines = (run: string): number => readFileSync(join(run, 'metrics.jsonl'), 'utf8').trimEnd().split('\n').length;

describe.skipIf(skip)(`run page in Chromium${why}`, () => {
  const run = join(dir, 'tngd-run');
  mkdirSync(shots, { recursive: true });

  it('follows a TNGD training run live: curves grow by server-sent events, the device panel names the emulator, the state panel draws x(t)', async () => {
    const { child, match } = await start(
      // κ₀ = 0: streaming samples leaves its runs bit-identical, so the state panel samples by default.
      // (Euler at a fixed δt was refused once λmax(A) grew past 1.875/δt on a fast machine.)
      ['train', '--model', 'mlp:196-8-10', '--batch', '8', '--iters', '3000', '--t-tau', '2', '--integrator', 'exact', '--kappa0', '0', '--eval-every', '10', '--seed', '3', '--out', run, '--serve', '0', '--no-progress'],
      /live page: (http:\/\/127\.0\.0\.1:\d+\/)/,
    );
    try {
      await followLive(match[1]);
    } finally {
      child.kill('SIGINT'); // finishes the iteration, checkpoints, writes the report, exits 130
    }
    expect(await exited(child)).toBe(130);
  }, 300_000);

  async function followLive(url: string): Promise<void> {
    const { page, errors } = await openPage(url);
    await page.waitForFunction(() => (globalThis as unknown as { tngdLive: { status: string } }).tngdLive.status === 'live', null, { timeout: 30_000 });
    await page.waitForFunction(() => 'train-loss' in (globalThis as unknown as { tngdLive: { charts: object } }).tngdLive.charts, null, { timeout: 60_000 });
    const before = (await chartSizes(page))['train-loss'].x;
    const eventsBefore = await live<number>(page, 'events');
    // a live update arrives while the run goes on: more events, more points, same page load
    await page.waitForFunction(
      ([n, e]) => {
        const l = (globalThis as unknown as { tngdLive: { events: number; charts: Record<string, { data: unknown[][] }> } }).tngdLive;
        return l.events > e && l.charts['train-loss'].data[0].length > n;
      },
      [before, eventsBefore] as const,
      { timeout: 60_000 },
    );
    expect(await live<number>(page, 'snapshots')).toBe(1);
    const card = page.locator('.card.device');
    await expect.poll(() => card.first().textContent(), { timeout: 30_000 }).toContain('tngd spu-emulator (serial EMU-');
    expect(await card.first().textContent()).toContain('protocol1.');
    await page.waitForFunction(() => Object.keys((globalThis as unknown as { tngdLive: { charts: object } }).tngdLive.charts).some((k) => k.startsWith('state-')), null, { timeout: 60_000 });
    // past the first test evaluation (every 10), so the report below has test curves too
    await page.waitForFunction(() => (globalThis as unknown as { tngdLive: { charts: Record<string, { data: unknown[][] }> } }).tngdLive.charts['test-loss']?.data[0].length >= 12, null, { timeout: 90_000 });
    await page.screenshot({ path: join(shots, 'live-train.png'), fullPage: true });
    expect(errors).toEqual([]);
    await page.close();
  }

  it('the report is the same page with the data inline: no errors, every chart has one point per metrics line', async () => {
    const lines = metricsLines(run);
    expect(lines).toBeGreaterThan(2);
    const { page, errors } = await openPage('file://' + join(run, 'report.html'));
    await page.waitForFunction(() => (globalThis as unknown as { tngdLive: { status: string } }).tngdLive.status === 'static', null, { timeout: 30_000 });
    const sizes = await chartSizes(page);
    for (const id of ['train-loss', 'test-loss', 'train-acc', 'test-acc', 'device-time', 'device-clips']) expect(sizes[id]?.x, id).toBe(lines);
    expect(sizes['train-loss'].series).toEqual([lines]);
    expect(sizes['train-acc'].series).toEqual([lines]);
    const evals = readFileSync(join(run, 'metrics.jsonl'), 'utf8').split('\n').filter((l) => l.includes('"testLoss"')).length;
    expect(evals).toBeGreaterThanOrEqual(1);
    expect(sizes['test-loss'].series).toEqual([evals]);
    expect(sizes['test-acc'].series).toEqual([evals]);
    expect(await page.locator('.card.device').first().textContent()).toContain('EMU-');
    await page.selectOption('#x-mode', 'wall');
    expect((await chartSizes(page))['train-loss'].x).toBe(lines);
    await page.selectOption('#x-mode', 'iter');
    await page.screenshot({ path: join(shots, 'report.png'), fullPage: true });
    expect(errors).toEqual([]);
    await page.close();
  }, 120_000);

  it('tngd serve: reconnects after a server restart and after a reload, and shows lines appended meanwhile', async () => {
    const first = await start(['serve', run, '--port', '0'], /(http:\/\/127\.0\.0\.1:(\d+)\/)/);
    const url = first.match[1];
    const port = first.match[2];
    const { page, errors } = await openPage(url);
    await page.waitForFunction(() => (globalThis as unknown as { tngdLive: { status: string } }).tngdLive.status === 'live', null, { timeout: 30_000 });
    const lines = metricsLines(run);
    expect((await chartSizes(page))['train-loss'].x).toBe(lines);

    first.child.kill('SIGTERM');
    expect(await exited(first.child)).toBe(0);
    await page.waitForFunction(() => (globalThis as unknown as { tngdLive: { status: string } }).tngdLive.status === 'offline', null, { timeout: 30_000 });
    // lines written while the server is down, e.g. by a run resumed meanwhile
    appendFileSync(join(run, 'metrics.jsonl'), formatMetricsLine({ iter: lines + 1, epoch: 0, wallSeconds: 999, trainLoss: 0.5, hostSeconds: 0.01, deviceSeconds: 0.02 }));
    const second = await start(['serve', run, '--port', port], /http:\/\/127\.0\.0\.1:\d+\//);
    await page.waitForFunction(() => (globalThis as unknown as { tngdLive: { status: string; snapshots: number } }).tngdLive.snapshots >= 2, null, { timeout: 30_000 });
    await page.waitForFunction((n) => (globalThis as unknown as { tngdLive: { charts: Record<string, { data: unknown[][] }> } }).tngdLive.charts['train-loss'].data[0].length === n, lines + 1, { timeout: 30_000 });
    expect(await live<string>(page, 'status')).toBe('live');

    await page.reload();
    await page.waitForFunction((n) => {
      const l = (globalThis as unknown as { tngdLive: { status: string; charts: Record<string, { data: unknown[][] }> } }).tngdLive;
      return l.status === 'live' && l.charts['train-loss']?.data[0].length === n;
    }, lines + 1, { timeout: 30_000 });
    await page.screenshot({ path: join(shots, 'serve.png'), fullPage: true });
    expect(errors.filter((e) => !/ERR_CONNECTION_REFUSED|Failed to load resource/.test(e))).toEqual([]);
    await page.close();
    second.child.kill('SIGTERM');
    expect(await exited(second.child)).toBe(0);
  }, 180_000);
});
