// Every command with bad values (issue 12 item 6): exit 2, exactly one line on stderr naming the
// command and the flag, no stack trace, nothing on stdout. Runs the built CLI (bin/tngd.js) as a
// user does; the cases run in parallel child processes.
import { describe, expect, it } from 'vitest';
import { spawn } from 'node:child_process';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { afterAll } from 'vitest';

const bin = fileURLToPath(new URL('../../bin/tngd.js', import.meta.url));
const cwd = mkdtempSync(join(tmpdir(), 'tngd-usage-'));
afterAll(() => rmSync(cwd, { recursive: true, force: true }));

function tngd(args: string[], env: Record<string, string> = {}): Promise<{ code: number | null; stdout: string; stderr: string }> {
  return new Promise((resolve) => {
    const child = spawn(process.execPath, [bin, ...args], { cwd, env: { ...process.env, TNGD_SECRET: '', ...env }, stdio: ['ignore', 'pipe', 'pipe'] });
    let stdout = '';
    let stderr = '';
    child.stdout.on('data', (d: Buffer) => (stdout += d.toString()));
    child.stderr.on('data', (d: Buffer) => (stderr += d.toString()));
    const timer = setTimeout(() => child.kill('SIGKILL'), 60_000);
    child.on('close', (code) => {
      clearTimeout(timer);
      resolve({ code, stdout, stderr });
    });
  });
}

// [args, what the one line must say]
const CASES: [string[], RegExp][] = [
  [['no-such-command'], /^tngd: error: unknown command 'no-such-command'/],
  [['train', '--batch', 'abc'], /^tngd train: error: --batch: expected a number, got 'abc'/],
  [['train', '--iters', '-3'], /^tngd train: error: --iters: must be ≥ 1/],
  [['train', '--lr', '-1', '--optimizer', 'sgd'], /--lr: lr \(learning rate η\) must be > 0/],
  [['train', '--seed', '1.5'], /--seed: expected an integer, got '1\.5'/],
  [['train', '--loss', 'l1'], /--loss: expected 'ce' or 'mse'/],
  [['train', '--optimizer', 'tngd', '--curvature-form', 'kronecker'], /--curvature-form: curvatureForm must be 'auto', 'explicit' or 'layered'/],
  [['train', '--model', 'mlp:abc'], /invalid model spec 'mlp:abc'/],
  [['train', '--device', 'emu:?maxCells=0'], /--device: invalid link URL .*maxCells must be an integer in \[1, 16777216\], got '0'/],
  [['train', '--device', 'ftp://x'], /--device: /],
  [['train', '--profile', 'golden'], /--profile: expected one of ideal, prototype/],
  [['train', '--no-such-flag'], /^tngd train: error: unknown option '--no-such-flag'/],
  [['train', '--resume', 'x', '--overwrite'], /--resume and --overwrite: give one, not both/],
  [['train', '--secret-file', '/nonexistent/secret', '--iters', '1', '--optimizer', 'adam'], /--secret-file: cannot read \/nonexistent\/secret \(ENOENT\)/],
  [['compare', '--seeds', '1,x'], /^tngd compare: error: --seeds: 'x' is not a non-negative integer/],
  [['compare', '--optimizers', 'adam,,sgd'], /--optimizers: empty item/],
  [['compare', '--preset', 'nope'], /--preset: unknown preset 'nope'/],
  [['compare', '--optimizers', 'adam', '--lambda', '0.1'], /--lambda applies to none of adam/],
  [['emulate'], /^tngd emulate: error: choose exactly one of --pty, --stdio or --tcp PORT/],
  [['emulate', '--tcp', 'abc'], /^tngd emulate: error: --tcp: expected a number, got 'abc'/],
  [['emulate', '--tcp', '-1'], /--tcp: expected an integer in 0\.\.65535, got '-1'/],
  [['emulate', '--tcp', '70000'], /--tcp: expected an integer in 0\.\.65535, got '70000'/],
  [['emulate', '--tcp', '0', '--max-cells', 'lots'], /--max-cells must be an integer in \[1, 16777216\], got 'lots'/],
  [['emulate', '--tcp', '0', '--seed', '-2', '--mismatch', '0.9'], /--seed must be .*; --mismatch must be a number in \[0, 0\.5\)/],
  [['emulate', '--tcp', '0', '--profile', 'golden'], /argument 'golden' is invalid\. Allowed choices are ideal, prototype/],
  [['emulate', '--tcp', '0', '--tau', '0'], /--tau: expected a number ≥/],
  [['emulate', '--stdio', '--secret-file', 'x'], /apply to --tcp only/],
  [['emulate', '--tcp', '0', '--host', '0.0.0.0', '--allow-remote'], /without a shared secret; give --secret-file \(or \$TNGD_SECRET\), or --insecure/],
  [['emulate', '--tcp', '0', '--log-level', 'loud'], /argument 'loud' is invalid/],
  [['info'], /^tngd info: error: missing required argument 'url'/],
  [['info', 'emu:', '--timeout', 'soon'], /^tngd info: error: --timeout: expected a number, got 'soon'/],
  [['info', 'emu:?seed=x'], /invalid link URL .*seed must be an integer in \[0, 4294967295\], got 'x'/],
  [['info', 'tcp://127.0.0.1:1', '--secret', 'a', '--secret-file', 'b'], /--secret-file and --secret: give one, not both/],
  [['conformance'], /^tngd conformance: error: missing device URL/],
  [['conformance', 'emu:', '--only', 'nothing-like-this'], /--only: no check matches nothing-like-this/],
  [['conformance', 'emu:?profile=gold'], /profile must be one of ideal, prototype/],
  [['conformance', 'emu:', '--timeout', '0'], /--timeout: expected an integer in 1\.\.600000, got '0'/],
];

describe('usage errors: every command, bad values', () => {
  it(`${CASES.length} cases: exit 2, one line on stderr, no stack trace, nothing on stdout`, async () => {
    const results = await Promise.all(CASES.map(([args]) => tngd(args)));
    results.forEach((r, i) => {
      const [args, msg] = CASES[i];
      const label = `tngd ${args.join(' ')}\n${r.stderr}`;
      expect(r.code, label).toBe(2);
      expect(r.stdout, label).toBe('');
      expect(r.stderr.endsWith('\n'), label).toBe(true);
      expect(r.stderr.trimEnd().split('\n'), label).toHaveLength(1);
      expect(r.stderr, label).not.toMatch(/\n\s+at |Error:/);
      expect(r.stderr, label).toMatch(msg);
      expect(r.stderr, label).toMatch(/\(see tngd( \w+)? --help\)\n$/);
    });
  });

  it('help and version exit 0', async () => {
    const [v, h, th] = await Promise.all([tngd(['--version']), tngd(['--help']), tngd(['train', '--help'])]);
    expect(v.code).toBe(0);
    expect(v.stdout).toMatch(/^\d+\.\d+\.\d+\n$/);
    expect(h.code).toBe(0);
    expect(th.code).toBe(0);
    expect(th.stdout).toMatch(/--secret-file/);
    expect(th.stdout).toMatch(/--overwrite/);
  });
});
