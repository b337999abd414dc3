// The --serve options and `tngd serve` at the command line: bad usage exits 2 with a message
// naming the flag, before any training starts.
import { describe, expect, it } from 'vitest';
import { spawnSync } from 'node:child_process';
import { fileURLToPath } from 'node:url';

const bin = fileURLToPath(new URL('../../bin/tngd.js', import.meta.url));
const run = (args: string[]) => spawnSync(process.execPath, [bin, ...args], { encoding: 'utf8', timeout: 60_000, env: { ...process.env, TNGD_SECRET: '' } });

describe('live page options', () => {
  it('tngd train: --serve-host without --serve, a bad port, and a remote address without opt-in and secret are usage errors', () => {
    const a = run(['train', '--optimizer', 'sgd', '--iters', '1', '--serve-host', '0.0.0.0']);
    expect(a.status).toBe(2);
    expect(a.stderr).toMatch(/--serve-host applies with --serve only/);
    const b = run(['compare', '--optimizers', 'sgd', '--iters', '1', '--serve', 'http']);
    expect(b.status).toBe(2);
    expect(b.stderr).toMatch(/--serve: expected a port number/);
    const c = run(['train', '--optimizer', 'sgd', '--iters', '1', '--serve', '0', '--serve-host', '0.0.0.0', '--allow-remote']);
    expect(c.status).toBe(2);
    expect(c.stderr).toMatch(/needs a secret/);
  });

  it('tngd serve: a missing folder is a usage error', () => {
    const r = run(['serve', '/nonexistent/run']);
    expect(r.status).toBe(2);
    expect(r.stderr).toMatch(/\/nonexistent\/run: not a folder/);
  });
});
