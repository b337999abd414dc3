// `tngd info` and `tngd conformance` as a user runs them: output, --json, exit codes 0/1/2.
import { execFile } from 'node:child_process';
import { fileURLToPath } from 'node:url';
import { afterAll, describe, expect, it } from 'vitest';
import { emulatorFactory, serveTcp } from '../../src/emulator/index.ts';
import type { TcpDeviceServer } from '../../src/emulator/index.ts';
import { PROTOCOL_VERSION } from '../../src/protocol/index.ts';

const bin = fileURLToPath(new URL('../../bin/tngd.js', import.meta.url));

function tngd(...args: string[]): Promise<{ code: number; stdout: string; stderr: string }> {
  return new Promise((resolve) => {
    execFile(process.execPath, [bin, ...args], { encoding: 'utf8', timeout: 60_000 }, (err, stdout, stderr) => {
      resolve({ code: err ? ((err as { code?: number }).code ?? 1) : 0, stdout, stderr });
    });
  });
}

const servers: TcpDeviceServer[] = [];
afterAll(async () => {
  for (const s of servers) await s.close();
});

describe('tngd info', () => {
  it('prints identity, capabilities and status; --json parses', async () => {
    const [text, json] = await Promise.all([tngd('info', 'emu:?seed=7&maxCells=512'), tngd('info', 'emu:?seed=7', '--json')]);
    expect(text.code).toBe(0);
    expect(text.stdout).toMatch(/device +tngd spu-emulator, serial EMU-00000007/);
    expect(text.stdout).toMatch(/N ≤ 512 cells/);
    expect(text.stdout).toMatch(/state +IDLE/);
    expect(text.stdout).toMatch(new RegExp(`protocol +${PROTOCOL_VERSION.major}\\.${PROTOCOL_VERSION.minor}, `));
    expect(text.stdout).toMatch(/last run 0, run counter 0/);
    expect(json.code).toBe(0);
    const o = JSON.parse(json.stdout) as { info: { capabilities: { maxCells: number } }; status: { state: string; runIndex?: number }; heartbeatRttMs: number };
    expect(o.info.capabilities.maxCells).toBe(4096);
    expect(o.status).toMatchObject({ state: 'IDLE', runIndex: 0 });
    expect(o.heartbeatRttMs).toBeGreaterThan(0);
  });

  it('exits 2 on a bad URL or option, 1 when the device cannot be reached', async () => {
    const [badUrl, badOpt, gone] = await Promise.all([tngd('info', 'emu:?sead=1'), tngd('info', 'emu:', '--timeout', 'soon'), tngd('info', 'tcp://127.0.0.1:1')]);
    expect(badUrl.code).toBe(2);
    expect(badUrl.stderr).toMatch(/unknown parameter\(s\) sead/);
    expect(badOpt.code).toBe(2);
    expect(gone.code).toBe(1);
    expect(gone.stderr).toMatch(/cannot connect to 127\.0\.0\.1:1/);
  });
});

describe('tngd conformance', () => {
  it('exits 0 and prints the table when the device conforms; --json holds the report', async () => {
    const [r, j] = await Promise.all([tngd('conformance', 'emu:?seed=3', '--only', 'handshake,bulk.window,atomic'), tngd('conformance', 'emu:?seed=3', '--only', 'numerics.mean', '--json')]);
    expect(r.code).toBe(0);
    expect(r.stdout).toMatch(/atomic\.curvature +PASS/);
    expect(r.stdout).toMatch(/CONFORMS/);
    const rep = JSON.parse(j.stdout) as { ok: boolean; checks: { id: string; status: string }[] };
    expect(rep.ok).toBe(true);
    expect(rep.checks).toMatchObject([{ id: 'numerics.mean', status: 'pass' }]);
  });

  it('exits 1 when a check fails (device never answers ErrorsClear), 2 on usage errors', async () => {
    const srv = await serveTcp(emulatorFactory({ seed: 1, faults: { ignore: ['ErrorsClear'] } }), { port: 0 });
    servers.push(srv);
    const [r, badOnly, noUrl] = await Promise.all([
      tngd('conformance', srv.url, '--only', 'errors.clear', '--timeout', '300'),
      tngd('conformance', 'emu:', '--only', 'no-such-check'),
      tngd('conformance'),
    ]);
    expect(r.code).toBe(1);
    expect(r.stdout).toMatch(/errors\.clear +FAIL/);
    expect(r.stdout).toMatch(/DOES NOT CONFORM/);
    expect(badOnly.code).toBe(2);
    expect(noUrl.code).toBe(2);
  });
});
