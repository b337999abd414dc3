import { describe, expect, it } from 'vitest';
import { execFileSync } from 'node:child_process';
import { fileURLToPath } from 'node:url';

const bin = fileURLToPath(new URL('../bin/tngd.js', import.meta.url));

describe('tngd CLI entry point', () => {
  it('prints usage naming the program and exits 0 on --help', () => {
    const out = execFileSync(process.execPath, [bin, '--help'], { encoding: 'utf8' });
    expect(out).toMatch(/Usage: tngd/);
  });

  it('exits non-zero on an unknown command', () => {
    expect(() => execFileSync(process.execPath, [bin, 'no-such-command'], { stdio: 'pipe' })).toThrow();
  });
});
