// `tngd train` / `tngd compare` as a user runs them: bin/tngd.js in a child process. Exit codes:
// 0 done, 1 run-time failure (data files, checkpoint, divergence), 2 bad usage, 130 Ctrl-C.
import { describe, expect, it } from 'vitest';
import { spawnSync, spawn, execFileSync } from 'node:child_process';
import { copyFileSync, existsSync, mkdirSync, readFileSync, readdirSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { SHIPPED_DATA_DIR } from '../../../src/host-loop/data/load.ts';
import { tempDir } from './helpers.ts';

const bin = fileURLToPath(new URL('../../../bin/tngd.js', import.meta.url));
const dir = tempDir('cli');

function tngd(args: string[]): { code: number | null; stdout: string; stderr: string } {
  const r = spawnSync(process.execPath, [bin, ...args], { encoding: 'utf8', cwd: dir, timeout: 60_000 });
  return { code: r.status, stdout: r.stdout, stderr: r.stderr };
}

function copyShipped(to: string): void {
  mkdirSync(to, { recursive: true });
  for (const f of readdirSync(SHIPPED_DATA_DIR)) if (f.endsWith('.gz')) copyFileSync(join(SHIPPED_DATA_DIR, f), join(to, f));
}

describe('tngd train on the command line', () => {
  it('bad options: exit 2 and every problem named by its flag', () => {
    const r = tngd(['train', '--optimizer', 'sgd', '--batch', 'abc', '--lr', '-1', '--beta1', '0.5', '--eval-every', '0', '--iters', '5']);
    expect(r.code).toBe(2);
    expect(r.stderr).toContain("--batch: expected a number, got 'abc'");
    expect(r.stderr).toContain('--lr: lr (learning rate η) must be > 0');
    expect(r.stderr).toContain("--beta1 does not apply to optimizer 'sgd'");
    expect(r.stderr).toContain('--eval-every: must be ≥ 1');
    expect(r.stdout).toBe('');
    const u = tngd(['train', '--optimizer', 'nope', '--iters', '5']);
    expect(u.code).toBe(2);
    expect(u.stderr).toMatch(/unknown optimizer 'nope'; available: sgd, adam/);
    const m = tngd(['train', '--model', 'mlp:784-10', '--iters', '5', '--out', join(dir, 'mismatch')]);
    expect(m.code).toBe(2);
    expect(m.stderr).toMatch(/takes 784 inputs but the data has 196 .*--downsample/);
  });

  it('missing and corrupt data files: exit 1 naming the file', () => {
    const missing = join(dir, 'data-missing');
    copyShipped(missing);
    execFileSync('rm', [join(missing, 't10k-images-idx3-ubyte.gz')]);
    const a = tngd(['train', '--data', missing, '--iters', '5', '--out', join(dir, 'm')]);
    expect(a.code).toBe(1);
    expect(a.stderr).toMatch(/t10k-images-idx3-ubyte: missing \(looked for t10k-images-idx3-ubyte and t10k-images-idx3-ubyte\.gz/);
    const corrupt = join(dir, 'data-corrupt');
    copyShipped(corrupt);
    const f = join(corrupt, 'train-labels-idx1-ubyte.gz');
    writeFileSync(f, readFileSync(f).subarray(0, 200)); // a gzip stream cut short
    const b = tngd(['train', '--data', corrupt, '--iters', '5', '--out', join(dir, 'c')]);
    expect(b.code).toBe(1);
    expect(b.stderr).toMatch(/train-labels-idx1-ubyte\.gz: corrupt gzip data/);
  });

  it('an unreachable device: exit 1 naming it; a malformed device URL: exit 2', () => {
    const a = tngd(['train', '--optimizer', 'tngd', '--device', 'tcp://127.0.0.1:1', '--iters', '2', '--out', join(dir, 'dev')]);
    expect(a.code).toBe(1);
    expect(a.stderr).toMatch(/tngd train: error: device: cannot connect to 127\.0\.0\.1:1/);
    const b = tngd(['train', '--optimizer', 'tngd', '--device', 'emu:?profile=nope', '--iters', '2', '--out', join(dir, 'dev')]);
    expect(b.code).toBe(2);
    expect(b.stderr).toMatch(/--device: invalid link URL .*profile must be one of ideal, prototype/);
  });

  it('--json prints the result; the run folder has metrics, a checkpoint and the report', () => {
    const out = join(dir, 'json-run');
    const r = tngd(['train', '--optimizer', 'adam', '--model', 'mlp:196-16-10', '--batch', '16', '--iters', '30', '--eval-every', '10', '--out', out, '--json']);
    expect(r.code).toBe(0);
    const j = JSON.parse(r.stdout) as { iterations: number; report: string; checkpoint: string; summary: { finalTestAccuracy: { mean: number } } };
    expect(j.iterations).toBe(30);
    expect(existsSync(j.report)).toBe(true);
    expect(j.checkpoint).toBe(join(out, 'checkpoints', 'ckpt-0000000030.ckpt'));
    expect(j.summary.finalTestAccuracy.mean).toBeGreaterThan(0.3);
    expect(r.stderr).toBe(''); // no progress bar when stderr is not a terminal
  });

  it('compare: a flag no listed optimizer takes is a usage error', () => {
    const r = tngd(['compare', '--optimizers', 'adam,sgd', '--lambda', '0.1', '--iters', '5']);
    expect(r.code).toBe(2);
    expect(r.stderr).toContain('--lambda applies to none of adam, sgd');
  });

  const haveScript = spawnSync('script', ['--version'], { encoding: 'utf8' }).status === 0;
  it.skipIf(!haveScript)('through a real pty: progress bar, Ctrl-C → checkpoint and exit 130, --resume finishes', async () => {
    // `script` (util-linux) gives the CLI a pseudo-terminal; writing ^C to it makes the pty's
    // line discipline send SIGINT, exactly as a key press would.
    const out = join(dir, 'pty-run');
    const cmd = `${process.execPath} ${bin} train --optimizer ngd-cg --cg-iters 30 --iters 5000 --eval-every 20 --checkpoint-every 1000 --out ${out}`;
    const child = spawn('script', ['-qfec', cmd, '/dev/null'], { stdio: ['pipe', 'pipe', 'pipe'] });
    let text = '';
    let sent = false;
    const code = await new Promise<number | null>((resolve) => {
      child.stdout.on('data', (d: Buffer) => {
        text += d.toString('utf8');
        // Ctrl-C once the bar shows a rate after at least 3 iterations (a fast run's throttled bar
        // may skip straight past 9, so any count ≥ 3 counts)
        if (!sent && [...text.matchAll(/ (\d+)\/5000 .*?it\/s/g)].some((m) => Number(m[1]) >= 3)) {
          sent = true;
          child.stdin.write('\x03');
        }
      });
      child.on('close', (c) => resolve(c));
    });
    expect(text).toMatch(/ngd-cg .*\d+\/5000 \| loss \d\.\d{4} \| test acc .* it\/s/);
    expect(text).toContain('SIGINT: finishing the current iteration and writing a checkpoint');
    expect(code).toBe(130);
    const ck = readdirSync(join(out, 'checkpoints'));
    expect(ck).toHaveLength(1);
    const stopped = Number(/ckpt-(\d+)/.exec(ck[0])![1]);
    expect(stopped).toBeGreaterThanOrEqual(3);
    expect(stopped).toBeLessThan(5000);
    expect(readFileSync(join(out, 'metrics.jsonl'), 'utf8').trimEnd().split('\n')).toHaveLength(stopped);
    const r = tngd(['train', '--resume', out, '--iters', String(stopped + 5), '--json']);
    expect(r.code).toBe(0);
    expect((JSON.parse(r.stdout) as { iterations: number }).iterations).toBe(stopped + 5);
  });
});
