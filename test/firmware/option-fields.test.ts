// One definition per emulator input (issue 17 item 4): the same value is accepted or refused
// alike from code (EmulatorOptions), an emu: URL and a `tngd emulate` flag, with the same rule in
// the message, each naming the field as that source spells it.
import { describe, expect, it } from 'vitest';
import fc from 'fast-check';
import { pino } from 'pino';
import { connect, emulatorOptionsFromQuery } from '../../src/connect.ts';
import { OPTION_FIELDS, fieldName, flagKey, resolveOptions, type OptionField } from '../../src/emulator/firmware/index.ts';
import { emulatorOptionsFromFlags } from '../../src/cli/commands/emulate.ts';

const log = pino({ level: 'silent' });
const cliFlags = (f: Record<string, unknown>) => ({ host: '127.0.0.1', profile: 'ideal', logLevel: 'silent', ...f });

/** The field's value as code gives it (numbers, booleans, null) for a text value. */
function codeValue(f: OptionField, text: string): unknown {
  return f.fromText(text);
}

function fromCode(f: OptionField, text: string): unknown {
  const v = codeValue(f, text);
  const o = f.group ? { [f.group]: { [f.key]: v } } : { [f.key]: v };
  return resolveOptions(o as never);
}

/** A bad value per field and the rule its message must state. */
const BAD: Record<string, string> = {
  seed: '-1',
  maxCells: '0',
  maxRank: '65537',
  maxFrameBytes: '100',
  memoryBytes: '12.5',
  linkBytesPerSecond: '-3',
  analogRealtime: '2',
  dacBits: '1',
  adcBits: '25',
  mismatchSigma: '0.5',
  fullScale: '-1',
  saturate: 'yes',
};

describe('emulator inputs: one definition for code, URL and flags', () => {
  it('every field has a bad-value case here', () => {
    expect(OPTION_FIELDS.map((f) => f.key).sort()).toEqual(Object.keys(BAD).sort());
  });

  it.each(OPTION_FIELDS.map((f) => [f.key, f] as const))('%s: a bad value is refused by all three sources with the same rule', (_k, f) => {
    const bad = BAD[f.key];
    const rule = f.rule('url');
    let urlMsg = '';
    try {
      emulatorOptionsFromQuery(`emu:?${f.url}=${bad}`, { [f.url]: bad });
    } catch (e) {
      urlMsg = (e as Error).message;
    }
    expect(urlMsg).toContain(`${f.url} must be ${rule}, got '${bad}'`);
    const flag = f.key === 'analogRealtime' ? undefined : flagKey(f.flag);
    if (flag) expect(() => emulatorOptionsFromFlags(cliFlags({ [flag]: bad }), log)).toThrow(`${f.flag} must be ${rule}, got '${bad}'`);
    if (typeof codeValue(f, bad) !== 'string') expect(() => fromCode(f, bad)).toThrow(`${fieldName(f, 'code')} must be ${f.rule('code')}, got`);
    else expect(() => fromCode(f, bad)).toThrow(RangeError);
  });

  it('integer limits: code, URL and flag agree on every value (fast-check, 500 runs per field)', () => {
    for (const f of OPTION_FIELDS.filter((x) => ['seed', 'maxCells', 'maxRank', 'maxFrameBytes', 'memoryBytes'].includes(x.key))) {
      fc.assert(
        fc.property(fc.oneof(fc.integer({ min: -10, max: 2 ** 25 }), fc.double({ min: -1, max: 2 ** 20, noNaN: true })), (x) => {
          const text = String(x);
          const ok = (fn: () => unknown): boolean => {
            try {
              fn();
              return true;
            } catch {
              return false;
            }
          };
          const a = ok(() => fromCode(f, text));
          const b = ok(() => emulatorOptionsFromQuery('emu:', { [f.url]: text }));
          const c = ok(() => emulatorOptionsFromFlags(cliFlags({ [flagKey(f.flag)]: text }), log));
          return a === b && b === c;
        }),
        { numRuns: 500, seed: 17 },
      );
    }
  });

  it('a good value reaches the device the same way from each source', async () => {
    const url = emulatorOptionsFromQuery('emu:', { maxCells: '8192', dacBits: 'none', mismatch: '1e-3', rate: '92160' });
    const flags = emulatorOptionsFromFlags(cliFlags({ maxCells: '8192', dacBits: 'none', mismatch: '1e-3', pace: '92160' }), log);
    expect(url).toMatchObject({ maxCells: 8192, profileOverrides: { dacBits: null, mismatchSigma: 1e-3 }, pacing: { linkBytesPerSecond: 92160 } });
    expect(flags).toMatchObject({ maxCells: 8192, profileOverrides: { dacBits: null, mismatchSigma: 1e-3 }, pacing: { linkBytesPerSecond: 92160 } });
    const dev = await connect('emu:?maxCells=8192&memoryBytes=2000000');
    expect(dev.info.capabilities.maxCells).toBe(8192);
    await dev.close();
  });
});
