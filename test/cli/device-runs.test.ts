// `tngd train` against a standalone `tngd emulate` over TCP, as CI pipelines and hardware teams
// run it (issue 12 items 3, 4, 5):
// - the served device's defaults hold the default model; a device too small is refused with the
//   flag that fixes it and leaves no run folder;
// - the shared secret comes from --secret-file or $TNGD_SECRET and reaches no written file and no
//   log line; a ?secret= in the URL is stripped before anything is stored;
// - a second run into the same folder is refused unless --resume or --overwrite; default folder
//   names differ when a result-changing option differs.
import { describe, expect, it, afterAll } from 'vitest';
import { spawn, spawnSync, type ChildProcess } from 'node:child_process';
import { existsSync, mkdtempSync, readdirSync, readFileSync, rmSync, statSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { EMULATE_DEFAULTS } from '../../src/cli/commands/emulate.ts';
import { getPreset, listPresets } from '../../src/host-loop/train/presets.ts';
import { deviceNeeds, defaultRunName, parseTrainConfig } from '../../src/host-loop/train/index.ts';

const bin = fileURLToPath(new URL('../../bin/tngd.js', import.meta.url));
const cwd = mkdtempSync(join(tmpdir(), 'tngd-devruns-'));
const children: ChildProcess[] = [];
afterAll(() => {
  for (const c of children) c.kill('SIGTERM');
  rmSync(cwd, { recursive: true, force: true });
});

const SECRET = 'correct-horse-battery-staple-7f3a';

function tngd(args: string[], env: Record<string, string> = {}): { code: number | null; stdout: string; stderr: string } {
  const r = spawnSync(process.execPath, [bin, ...args], { cwd, encoding: 'utf8', timeout: 120_000, env: { ...process.env, TNGD_SECRET: '', ...env } });
  return { code: r.status, stdout: r.stdout, stderr: r.stderr };
}

/** Starts `tngd emulate --tcp 0 …` and resolves with its URL. */
function emulate(args: string[], env: Record<string, string> = {}): Promise<{ url: string; child: ChildProcess; stderr: () => string }> {
  const child = spawn(process.execPath, [bin, 'emulate', '--tcp', '0', ...args], { cwd, env: { ...process.env, TNGD_SECRET: '', ...env }, stdio: ['ignore', 'pipe', 'pipe'] });
  children.push(child);
  let err = '';
  child.stderr!.on('data', (d: Buffer) => (err += d.toString()));
  return new Promise((resolve, reject) => {
    let out = '';
    const timer = setTimeout(() => reject(new Error(`tngd emulate printed no URL: ${err}`)), 30_000);
    child.stdout!.on('data', (d: Buffer) => {
      out += d.toString();
      const i = out.indexOf('\n');
      if (i >= 0) {
        clearTimeout(timer);
        resolve({ url: out.slice(0, i), child, stderr: () => err });
      }
    });
    child.once('exit', (code) => reject(new Error(`tngd emulate exited ${code}: ${err}`)));
  });
}

/** Every file under `dir`, recursively. */
function filesUnder(dir: string): string[] {
  return readdirSync(dir).flatMap((e) => {
    const p = join(dir, e);
    return statSync(p).isDirectory() ? filesUnder(p) : [p];
  });
}

describe('tngd emulate defaults hold every preset and README command', () => {
  it('deviceNeeds of the default model, the README commands and every preset fit EMULATE_DEFAULTS', () => {
    const configs = [
      parseTrainConfig({ optimizer: 'tngd' }), // tngd train with no options: mlp:196-32-10, b = 32
      parseTrainConfig({ optimizer: 'tngd', model: 'mlp:196-16-10', batch: 16, iters: 200 }),
      ...listPresets().flatMap(({ name }) => {
        const p = getPreset(name)!;
        return p.runs.filter((r) => r.optimizer.startsWith('tngd')).map((r) => parseTrainConfig({ ...p.base, optimizer: r.optimizer, optimizerOptions: r.options }));
      }),
    ];
    expect(configs.length).toBeGreaterThanOrEqual(3);
    for (const c of configs) {
      const n = deviceNeeds(c);
      expect(n.cells, c.model).toBeLessThanOrEqual(EMULATE_DEFAULTS.maxCells);
      expect(n.rank, c.model).toBeLessThanOrEqual(EMULATE_DEFAULTS.maxRank);
      expect(n.memoryBytes, c.model).toBeLessThanOrEqual(EMULATE_DEFAULTS.memoryBytes);
    }
  });

  it('tngd train with the default model on a default `tngd emulate --tcp 0`, with --secret-file: runs; the secret is in no written file and no log', async () => {
    const secretFile = join(cwd, 'spu.secret');
    writeFileSync(secretFile, `${SECRET}\n`, { mode: 0o600 });
    const dev = await emulate(['--secret-file', secretFile, '--log-level', 'debug']);
    const out = join(cwd, 'default-model');
    const r = tngd(['train', '--device', dev.url, '--secret-file', secretFile, '--iters', '2', '--eval-every', '2', '--out', out, '--json']);
    expect(r.code, r.stderr).toBe(0);
    expect(JSON.parse(r.stdout).config.model).toBe('mlp:196-32-10:relu');
    // resume reads the secret from the environment this time
    const more = tngd(['train', '--resume', out, '--iters', '3', '--json'], { TNGD_SECRET: SECRET });
    expect(more.code, more.stderr).toBe(0);
    const files = filesUnder(out);
    expect(files.length).toBeGreaterThanOrEqual(4); // config, metrics, checkpoints, report
    for (const f of files) expect(readFileSync(f).includes(SECRET), f).toBe(false);
    for (const text of [r.stdout, r.stderr, more.stdout, more.stderr, dev.stderr()]) expect(text.includes(SECRET)).toBe(false);
    // without the secret the device refuses the host
    const no = tngd(['train', '--device', dev.url, '--iters', '1', '--out', join(cwd, 'nosecret')]);
    expect(no.code).toBe(1);
    expect(existsSync(join(cwd, 'nosecret'))).toBe(false);
    // info and conformance take the secret the same ways
    expect(tngd(['info', dev.url, '--secret-file', secretFile]).stdout).toMatch(/spu-emulator/);
    const conf = tngd(['conformance', dev.url, '--only', 'handshake'], { TNGD_SECRET: SECRET });
    expect(conf.code, conf.stderr).toBe(0);
    expect(conf.stdout + conf.stderr).not.toContain(SECRET);
    dev.child.kill('SIGTERM');
  });

  it('a ?secret= in the --device URL is used but never stored (config.json, checkpoints, report, output)', async () => {
    const dev = await emulate([], { TNGD_SECRET: SECRET });
    const out = join(cwd, 'url-secret');
    const r = tngd(['train', '--device', `${dev.url}?secret=${SECRET}&timeout=5000`, '--model', 'mlp:196-4-10', '--batch', '4', '--iters', '2', '--out', out, '--json']);
    expect(r.code, r.stderr).toBe(0);
    expect(JSON.parse(readFileSync(join(out, 'config.json'), 'utf8')).device).toBe(`${dev.url}?timeout=5000`);
    for (const f of filesUnder(out)) expect(readFileSync(f).includes(SECRET), f).toBe(false);
    expect(r.stdout + r.stderr).not.toContain(SECRET);
    // compare with the secret from the environment
    const c = tngd(['compare', '--optimizers', 'tngd', '--device', dev.url, '--model', 'mlp:196-4-10', '--batch', '4', '--iters', '2', '--out', join(cwd, 'cmp'), '--json'], { TNGD_SECRET: SECRET });
    expect(c.code, c.stderr).toBe(0);
    for (const f of filesUnder(join(cwd, 'cmp'))) expect(readFileSync(f).includes(SECRET), f).toBe(false);
    dev.child.kill('SIGTERM');
  });

  it('a device too small: refused naming --max-cells / --max-rank (or the emu: parameter), no run folder left', async () => {
    const dev = await emulate(['--max-cells', '4096']);
    const out = join(cwd, 'too-small');
    const r = tngd(['train', '--device', dev.url, '--iters', '2', '--out', out]);
    expect(r.code).toBe(1);
    expect(r.stderr).toMatch(/^tngd train: error: the run needs N = 6634 cells but the device accepts at most 4096; if the device is `tngd emulate`, restart it with --max-cells 6634/);
    expect(existsSync(out)).toBe(false);
    dev.child.kill('SIGTERM');
    const small = await emulate(['--max-rank', '256']);
    const rr = tngd(['train', '--device', small.url, '--iters', '2', '--out', out]);
    expect(rr.stderr).toMatch(/rank r = 320 but the device accepts at most 256; .*--max-rank 320/);
    small.child.kill('SIGTERM');
    const e = tngd(['train', '--device', 'emu:?maxCells=1000', '--iters', '2', '--out', out]);
    expect(e.stderr).toMatch(/add maxCells=6634 to the emu: URL/);
    expect(existsSync(out)).toBe(false);
  });

  it('remote bind: refused without a secret; --insecure serves with a loud warning', async () => {
    const r = tngd(['emulate', '--tcp', '0', '--host', '0.0.0.0', '--allow-remote']);
    expect(r.code).toBe(2);
    const dev = await emulate(['--host', '0.0.0.0', '--allow-remote', '--insecure']);
    expect(dev.url).toMatch(/^tcp:\/\/0\.0\.0\.0:\d+$/);
    expect(dev.stderr()).toMatch(/^WARNING: tngd emulate is serving an UNAUTHENTICATED device on 0\.0\.0\.0/m);
    dev.child.kill('SIGTERM');
  });
});

describe('runs are never overwritten', () => {
  const args = ['train', '--optimizer', 'adam', '--model', 'mlp:196-4-10', '--batch', '8', '--iters', '4', '--eval-every', '4'];

  it('the same command twice: the second is refused (exit 2) and the first run is untouched; --overwrite replaces, --resume continues', () => {
    const a = tngd([...args, '--json']);
    expect(a.code, a.stderr).toBe(0);
    const out = JSON.parse(a.stdout).out as string;
    const before = Object.fromEntries(filesUnder(out).map((f) => [f, readFileSync(f).toString('base64')]));
    const b = tngd(args);
    expect(b.code).toBe(2);
    expect(b.stderr).toMatch(/run folder .* is not empty .*continue it with --resume, replace it with --overwrite, or choose another --out/);
    expect(Object.fromEntries(filesUnder(out).map((f) => [f, readFileSync(f).toString('base64')]))).toEqual(before);
    const c = tngd([...args, '--overwrite']);
    expect(c.code, c.stderr).toBe(0);
    const d = tngd(['train', '--resume', out, '--iters', '6']);
    expect(d.code, d.stderr).toBe(0);
    // compare: the same
    const cmp = ['compare', '--optimizers', 'adam,sgd', '--model', 'mlp:196-4-10', '--batch', '8', '--iters', '2', '--out', join(cwd, 'cmp-twice')];
    expect(tngd(cmp).code).toBe(0);
    expect(tngd(cmp).code).toBe(2);
    expect(tngd([...cmp, '--resume']).code).toBe(0);
    expect(tngd([...cmp, '--overwrite']).code).toBe(0);
  });

  it('default folder names differ in every result-changing option and not in logging cadence', () => {
    const name = (x: Record<string, unknown>) => defaultRunName(parseTrainConfig({ optimizer: 'tngd', ...x }));
    const base = name({});
    const differing = [
      { optimizerOptions: { lr: 0.05 } },
      { optimizerOptions: { damping: 0.2 } },
      { optimizerOptions: { kappa0: 0.01 } },
      { device: 'emu:?profile=prototype' },
      { device: 'tcp://127.0.0.1:5555' },
      { loss: 'mse' },
      { data: { dir: '/data/fm', downsample: true } },
    ];
    const names = differing.map(name);
    expect(new Set([base, ...names]).size).toBe(differing.length + 1);
    expect(name({ evalEvery: 7, checkpointEvery: 9, keepCheckpoints: 1 })).toBe(base);
    // the secret is not a setting: the same folder with or without it
    expect(name({ device: 'tcp://127.0.0.1:5555?secret=abc' })).toBe(name({ device: 'tcp://127.0.0.1:5555' }));
    expect(base).toMatch(/^train-tngd-mlp_196-32-10_relu-b32-e1-s1-[0-9a-f]{8}$/);
  });
});
