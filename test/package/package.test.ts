// The package as another project gets it: `npm pack` → install the tarball into a scratch
// project → import every entry point from plain Node, compile a strict TypeScript consumer
// against the shipped .d.ts, and run the installed `tngd`. Needs the build (npm test runs it
// first) and the npm registry for the dependencies (bounded by a timeout).
import { describe, expect, it } from 'vitest';
import { execFileSync, spawnSync } from 'node:child_process';
import { copyFileSync, existsSync, mkdtempSync, readFileSync, rmSync, symlinkSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { afterAll } from 'vitest';

const root = fileURLToPath(new URL('../..', import.meta.url));
const here = fileURLToPath(new URL('.', import.meta.url));
const pkg = JSON.parse(readFileSync(join(root, 'package.json'), 'utf8')) as { version: string; exports: Record<string, unknown> };
const npm = process.platform === 'win32' ? 'npm.cmd' : 'npm';
const tsc = join(root, 'node_modules', 'typescript', 'bin', 'tsc');

const scratch = mkdtempSync(join(tmpdir(), 'tngd-pack-'));
afterAll(() => rmSync(scratch, { recursive: true, force: true }));

function run(cmd: string, args: string[], cwd: string, timeout = 120_000): string {
  const r = spawnSync(cmd, args, { cwd, encoding: 'utf8', timeout, env: { ...process.env, npm_config_audit: 'false', npm_config_fund: 'false', npm_config_update_notifier: 'false' } });
  if (r.status !== 0) throw new Error(`${cmd} ${args.join(' ')} exited ${r.status ?? r.signal}\n${r.stdout}\n${r.stderr}`);
  return r.stdout;
}

describe('the packed package, installed into a scratch project', () => {
  let tarball = '';

  it('packs only the build, the data, the spec and the licence', () => {
    expect(existsSync(join(root, 'dist', 'api', 'index.js')), 'dist/ is built by npm test (npm run build)').toBe(true);
    // --ignore-scripts: dist/ is already built, and a rebuild would swap it under parallel tests.
    const out = JSON.parse(run(npm, ['pack', '--json', '--ignore-scripts', '--pack-destination', scratch], root)) as { filename: string; files: { path: string }[] }[];
    tarball = join(scratch, out[0].filename);
    const files = out[0].files.map((f) => f.path);
    expect(files).toContain('LICENSE');
    expect(files).toContain('dist/api/index.d.ts');
    expect(files).toContain('bin/tngd.js');
    // assets the code loads at run time: without the kernels the emulator runs the scalar reference
    expect(files).toContain('dist/emulator/physics/kernels/kernels.wasm');
    expect(files).toContain('dist/host-loop/run/live/client.js');
    expect(files).toContain('firmware-spec/vectors/emulator/digests.json');
    expect(files.filter((f) => f.startsWith('test/') || f.startsWith('src/') || f.startsWith('bench/'))).toEqual([]);
    expect(files.filter((f) => f.endsWith('.ts') && !f.endsWith('.d.ts'))).toEqual([]);
  });

  it('installs, imports from plain Node, type-checks a strict consumer and runs the CLI', () => {
    const app = join(scratch, 'app');
    execFileSync('mkdir', ['-p', app]);
    writeFileSync(join(app, 'package.json'), JSON.stringify({ name: 'scratch-app', private: true, type: 'module' }));
    // --ignore-scripts: serialport and msgpackr ship prebuilt binaries; nothing needs compiling.
    run(npm, ['install', tarball, '--ignore-scripts', '--prefer-offline', '--no-package-lock'], app, 240_000);

    copyFileSync(join(here, 'smoke.mjs.txt'), join(app, 'smoke.mjs'));
    const smoke = JSON.parse(run(process.execPath, ['smoke.mjs'], app)) as { model: string; checks: number; trainSamples: number };
    expect(smoke.model).toBe('spu-emulator');
    expect(smoke.trainSamples).toBeGreaterThan(0);

    copyFileSync(join(here, 'consumer.ts.txt'), join(app, 'consumer.ts'));
    // The README's library examples, compiled as written (vitest linked in for the second).
    const readme = readFileSync(join(root, 'README.md'), 'utf8');
    const blocks = [...readme.slice(readme.indexOf('## As a library')).matchAll(/```ts\n([\s\S]*?)```/g)].map((m) => m[1]);
    expect(blocks).toHaveLength(2);
    writeFileSync(join(app, 'readme-driver.ts'), blocks[0]);
    writeFileSync(join(app, 'readme-conformance.test.ts'), blocks[1]);
    symlinkSync(join(root, 'node_modules', 'vitest'), join(app, 'node_modules', 'vitest'), 'dir');
    writeFileSync(
      join(app, 'tsconfig.json'),
      JSON.stringify({
        compilerOptions: {
          target: 'ES2022',
          module: 'NodeNext',
          moduleResolution: 'NodeNext',
          strict: true,
          exactOptionalPropertyTypes: true,
          noUncheckedIndexedAccess: true,
          noImplicitOverride: true,
          // our .d.ts are checked too (skipLibCheck would hide errors in them)
          skipLibCheck: false,
          outDir: 'out',
          types: ['node'],
          typeRoots: [join(root, 'node_modules', '@types')],
        },
        files: ['consumer.ts', 'readme-driver.ts', 'readme-conformance.test.ts'],
      }),
    );
    const t = spawnSync(process.execPath, [tsc, '-p', 'tsconfig.json'], { cwd: app, encoding: 'utf8', timeout: 120_000 });
    expect(t.stdout + t.stderr).toBe('');
    expect(t.status).toBe(0);
    // …and the driver example runs, compiled to JS by the same tsc run, from plain Node.
    expect(run(process.execPath, [join('out', 'readme-driver.js')], app)).toMatch(/x ≈ A⁻¹g: Float64Array\(4\)/);

    const bin = join(app, 'node_modules', '.bin', 'tngd');
    expect(run(bin, ['--version'], app).trim()).toBe(pkg.version);
    expect(run(bin, ['info', 'emu:?seed=3'], app)).toMatch(/serial EMU-00000003/);
    expect(Object.keys(pkg.exports).length).toBe(8);
  }, 300_000);
});
