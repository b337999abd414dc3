// One definition per emulator input that arrives from more than one place: its bounds, default
// and its spelling in code (EmulatorOptions), in an emu: URL query (?maxCells=8192) and as a
// `tngd emulate` flag (--max-cells 8192). Code, connect() and the CLI all parse through
// parseFields() below, so a bound is written once and every source gets the same message:
//   "<name as the user spelled it> must be <rule>, got <value>"
// Text sources (URL, flags) are coerced first (decimal numbers, 0/none for "no quantisation",
// 0/1 for switches); the zod schema then checks the value exactly as it checks code input.
import { z } from 'zod';
import { MAX_MAX_FRAME_BYTES, MIN_MAX_FRAME_BYTES } from '../../protocol/index.ts';

/** Converters beyond 24 bits are not physical (and f64 quantisation stops being exact well before 53). */
export const OVERRIDE_BITS_MIN = 2;
export const OVERRIDE_BITS_MAX = 24;

/** Where an input came from: its name and how strings are read depend on it. */
export type InputSource = 'code' | 'url' | 'flag';

export interface OptionField {
  /** key in EmulatorOptions (or in its `group`) */
  key: string;
  /** nested object of EmulatorOptions holding the key, if any */
  group?: 'profileOverrides' | 'pacing';
  /** name in an emu: URL query */
  url: string;
  /** `tngd emulate` flag */
  flag: string;
  /** value taken when the input leaves the field out (undefined: none, or the profile's) */
  default?: number;
  /** one line for --help */
  help: string;
  schema: z.ZodType;
  /** the rule, for messages ("an integer in [1, 4096]") */
  rule(source: InputSource): string;
  /** text (URL, flag) → the value the schema checks */
  fromText(text: string): unknown;
}

const DECIMAL = /^[+-]?(\d+\.?\d*|\.\d+)([eE][+-]?\d+)?$/;
const decimal = (s: string): unknown => (DECIMAL.test(s.trim()) ? Number(s) : s);
const switchText = (s: string): unknown => ({ '0': false, '1': true, false: false, true: true })[s as '0'] ?? s;

function intField(key: string, url: string, flag: string, lo: number, hi: number, dflt: number | undefined, help: string, group?: OptionField['group']): OptionField {
  return {
    key,
    url,
    flag,
    group,
    default: dflt,
    help: `${help} (integer in ${lo}..${hi}${dflt !== undefined ? `, default ${dflt}` : ''})`,
    schema: z.number().int().min(lo).max(hi),
    rule: () => `an integer in [${lo}, ${hi}]`,
    fromText: decimal,
  };
}

function bitsField(key: 'dacBits' | 'adcBits', flag: string, what: string): OptionField {
  return {
    key,
    url: key,
    flag,
    group: 'profileOverrides',
    help: `override the profile's ${what} resolution: ${OVERRIDE_BITS_MIN}..${OVERRIDE_BITS_MAX} bits, or 0 / none = not quantised`,
    schema: z.number().int().min(OVERRIDE_BITS_MIN).max(OVERRIDE_BITS_MAX).nullable(),
    rule: (s) => `an integer in [${OVERRIDE_BITS_MIN}, ${OVERRIDE_BITS_MAX}], or ${s === 'code' ? 'null' : '0 / none'} for no quantisation`,
    fromText: (t) => (t === 'none' || t === '0' ? null : decimal(t)),
  };
}

const MIB = 2 ** 20;

/** Device limits and power-on settings (what EMULATED-DEVICE.md §2 lists as options). */
export const DEVICE_FIELDS: readonly OptionField[] = [
  intField('seed', 'seed', '--seed', 0, 0xffffffff, 0, 'noise and mismatch seed'),
  intField('maxCells', 'maxCells', '--max-cells', 1, 1 << 24, 4096, 'largest N (cells) the device accepts'),
  intField('maxRank', 'maxRank', '--max-rank', 1, 1 << 16, 256, 'largest factor rank r'),
  intField('maxFrameBytes', 'maxFrameBytes', '--max-frame-bytes', MIN_MAX_FRAME_BYTES, MAX_MAX_FRAME_BYTES, MAX_MAX_FRAME_BYTES, 'largest encoded frame the device accepts (64 KiB frames by default: one request per ~64 KiB of bulk data, TRANSPORTS.md §7)'),
  intField('memoryBytes', 'memoryBytes', '--memory', 1024, 2 ** 40, 64 * MIB, 'memory budget for staged transfers and loaded tensors, bytes'),
];

/** Changes to the power-on profile (EMULATED-DEVICE.md §1.1). */
export const PROFILE_OVERRIDE_FIELDS: readonly OptionField[] = [
  bitsField('dacBits', '--dac-bits', 'DAC'),
  bitsField('adcBits', '--adc-bits', 'ADC'),
  {
    key: 'mismatchSigma',
    url: 'mismatch',
    flag: '--mismatch',
    group: 'profileOverrides',
    help: "override the profile's relative coupling mismatch σ, in [0, 0.5)",
    schema: z.number().min(0).lt(0.5),
    rule: () => 'a number in [0, 0.5)',
    fromText: decimal,
  },
  {
    key: 'fullScale',
    url: 'fullScale',
    flag: '--full-scale',
    group: 'profileOverrides',
    help: "override the profile's ADC range and state rail ±F (positive)",
    schema: z.number().positive().finite(),
    rule: () => 'a positive finite number',
    fromText: decimal,
  },
  {
    key: 'saturate',
    url: 'saturate',
    flag: '--saturate',
    group: 'profileOverrides',
    help: 'override whether the state clamps at ±full scale: 0 or 1',
    schema: z.boolean(),
    rule: (s) => (s === 'code' ? 'true or false' : '0 or 1'),
    fromText: switchText,
  },
];

/** Link pacing (EmulatorPacing). */
export const PACING_FIELDS: readonly OptionField[] = [
  {
    key: 'linkBytesPerSecond',
    url: 'rate',
    flag: '--pace',
    group: 'pacing',
    help: 'send and receive no faster than this many bytes per second (off by default)',
    schema: z.number().positive().finite(),
    rule: () => 'a positive number of bytes per second',
    fromText: decimal,
  },
  {
    key: 'analogRealtime',
    url: 'realtime',
    flag: '--realtime',
    group: 'pacing',
    help: 'runs take their analog time (duration × τ) of wall time',
    schema: z.boolean(),
    rule: (s) => (s === 'code' ? 'true or false' : '0 or 1'),
    fromText: switchText,
  },
];

export const OPTION_FIELDS: readonly OptionField[] = [...DEVICE_FIELDS, ...PACING_FIELDS, ...PROFILE_OVERRIDE_FIELDS];

/** commander's key for a flag: --max-cells → maxCells. */
export function flagKey(flag: string): string {
  return flag.replace(/^--/, '').replace(/-([a-z])/g, (_m, c: string) => c.toUpperCase());
}

/** How the field is called in `source`: maxCells / profileOverrides.dacBits, ?mismatch, --dac-bits. */
export function fieldName(f: OptionField, source: InputSource): string {
  if (source === 'url') return f.url;
  if (source === 'flag') return f.flag;
  return f.group ? `${f.group}.${f.key}` : f.key;
}

function show(v: unknown, source: InputSource): string {
  if (source !== 'code') return `'${String(v)}'`;
  return typeof v === 'string' ? v : String(v);
}

/**
 * Checks one field's raw value (a string from text sources) and returns the value or the
 * message naming the field as `source` spells it.
 */
export function parseField(f: OptionField, raw: unknown, source: InputSource): { ok: true; value: unknown } | { ok: false; problem: string } {
  const v = source !== 'code' && typeof raw === 'string' ? f.fromText(raw) : raw;
  const r = f.schema.safeParse(v);
  if (r.success) return { ok: true, value: r.data };
  return { ok: false, problem: `${fieldName(f, source)} must be ${f.rule(source)}, got ${show(raw, source)}` };
}

export interface ParsedFields {
  /** top-level fields (seed, maxCells, …) */
  device: Record<string, unknown>;
  profileOverrides: Record<string, unknown>;
  pacing: Record<string, unknown>;
  /** one message per bad field, each naming it as the source spells it */
  problems: string[];
}

/**
 * Parses every field of `fields` present in `input`. `input` is keyed by the source's spelling:
 * code keys (with `group` objects for code), URL names, or commander keys of the flags.
 */
export function parseFields(fields: readonly OptionField[], input: Readonly<Record<string, unknown>>, source: InputSource): ParsedFields {
  const out: ParsedFields = { device: {}, profileOverrides: {}, pacing: {}, problems: [] };
  for (const f of fields) {
    const raw =
      source === 'url' ? input[f.url] : source === 'flag' ? input[flagKey(f.flag)] : f.group ? (input[f.group] as Record<string, unknown> | undefined)?.[f.key] : input[f.key];
    if (raw === undefined) continue;
    const r = parseField(f, raw, source);
    if (!r.ok) out.problems.push(r.problem);
    else (f.group ? out[f.group] : out.device)[f.key] = r.value;
  }
  return out;
}

/** The default of a top-level field (DEVICE_FIELDS). */
export function fieldDefault(key: string): number {
  const f = DEVICE_FIELDS.find((d) => d.key === key);
  if (f?.default === undefined) throw new Error(`no default for ${key}`);
  return f.default;
}
