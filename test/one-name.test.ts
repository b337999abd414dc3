// One name, one meaning: a name exported by the protocol, the driver, the host loop, the
// conformance suite or connect.ts is declared once across them (two DeviceError classes, one per
// layer, and two applyCore functions with different signatures were the cases that prompted this).
import { readFileSync, readdirSync, statSync } from 'node:fs';
import { join, relative } from 'node:path';
import { describe, expect, it } from 'vitest';

const root = join(import.meta.dirname, '..');
const LAYERS = ['src/protocol', 'src/driver', 'src/host-loop', 'src/conformance', 'src/connect.ts'];

function files(p: string): string[] {
  const abs = join(root, p);
  if (statSync(abs).isFile()) return [abs];
  return readdirSync(abs).flatMap((f) => files(join(p, f)));
}

describe('exported names', () => {
  it('are declared once across protocol, driver, host loop, conformance and connect.ts', () => {
    const where = new Map<string, string[]>();
    for (const f of LAYERS.flatMap(files).filter((f) => f.endsWith('.ts'))) {
      const decl = /^export (?:declare )?(?:abstract )?(?:class|interface|type|const|let|function|enum) ([A-Za-z0-9_$]+)/gm;
      for (const m of readFileSync(f, 'utf8').matchAll(decl)) where.set(m[1], [...(where.get(m[1]) ?? []), relative(root, f)]);
    }
    expect(where.size).toBeGreaterThan(200);
    expect(where.get('DeviceFaultError')).toEqual(['src/protocol/errors.ts']);
    expect([...where].filter(([, fs]) => fs.length > 1)).toEqual([]);
  });
});
