import { spawnSync } from 'node:child_process';
import { fileURLToPath } from 'node:url';
import { join, dirname } from 'node:path';
import { describe, expect, it } from 'vitest';
import { MESSAGE_KINDS, SCHEMA_FINGERPRINT } from '../../src/protocol/index.ts';
import { variantMessages } from '../../scripts/gen-protocol-vectors.ts';

const here = dirname(fileURLToPath(import.meta.url));
const python = spawnSync('python3', ['--version'], { encoding: 'utf8' });
const hasPython = python.status === 0;

describe('cross-language: golden frames decoded in Python by the "speak it by hand" recipe', () => {
  it.skipIf(!hasPython)('every message vector decodes with a hand COBS + CRC-32C + MessagePack decoder, and the fingerprint recomputes', () => {
    const r = spawnSync('python3', [join(here, 'by_hand.py'), join(here, '..', '..', 'firmware-spec')], { encoding: 'utf8', timeout: 30_000 });
    expect(r.stderr).toBe('');
    const out = JSON.parse(r.stdout) as { checked: number; fingerprint: string; problems: string[] };
    expect(out.problems).toEqual([]);
    expect(out.checked).toBe(MESSAGE_KINDS.length + variantMessages().length); // one per kind + the variants
    expect(out.fingerprint).toBe(SCHEMA_FINGERPRINT);
    expect(r.status).toBe(0);
  });
  if (!hasPython) it.skip('skipped: python3 is not installed on this machine', () => {});
});
