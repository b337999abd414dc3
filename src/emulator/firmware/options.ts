// Options of the emulated firmware and what it advertises in its Hello reply. Every advertised
// limit is also enforced (firmware-spec/EMULATED-DEVICE.md). Validation here is for programmer
// and CLI input: a bad option throws a RangeError before the device powers on.
import type { Logger } from 'pino';
import { FEATURES } from '../../protocol/index.ts';
import type { Capabilities, Dtype } from '../../protocol/index.ts';
import { PROFILES } from '../physics/index.ts';
import type { Profile } from '../physics/index.ts';
import type { DeviceFaults } from './faults.ts';
import { DEVICE_FIELDS, OVERRIDE_BITS_MAX, OVERRIDE_BITS_MIN, PACING_FIELDS, PROFILE_OVERRIDE_FIELDS, fieldDefault, parseFields } from './option-fields.ts';

export { OVERRIDE_BITS_MAX, OVERRIDE_BITS_MIN };

export type ProfileName = keyof typeof PROFILES;
export const PROFILE_NAMES = Object.keys(PROFILES) as ProfileName[];

export const FIRMWARE_VERSION = '0.2.0';

export interface Identity {
  vendor: string;
  model: string;
  serial: string;
  firmware: string;
}

export interface EmulatorPacing {
  /** Device↔host bytes leave no faster than this (both directions); also advertised. */
  linkBytesPerSecond?: number;
  /** A run takes at least its analog time × tauSeconds of wall time. */
  analogRealtime?: boolean;
}

/** Capabilities a caller may change; the rest follow from the options above and the profile. */
export type CapabilityOverrides = Partial<
  Pick<Capabilities, 'dtypes' | 'features' | 'tauSeconds' | 'kappa0Min' | 'kappa0Max' | 'maxOpenTransfers' | 'bulkWindow' | 'sampleRingBlocks' | 'errorQueueDepth'>
>;

/**
 * Changes to the named power-on profile (EMULATED-DEVICE.md §1.1): a device "prototype with an
 * 8-bit DAC". The overridden profile is what Configure selects under the power-on name.
 */
export interface ProfileOverrides {
  /** DAC resolution, integer in [2, 24]; null = not quantised. */
  dacBits?: number | null;
  /** ADC resolution, integer in [2, 24]; null = not quantised. */
  adcBits?: number | null;
  /** Relative σ of static coupling mismatch, in [0, 0.5). */
  mismatchSigma?: number;
  /** ADC range and state rail ±F, positive and finite. */
  fullScale?: number;
  /** Clamp the state at ±fullScale (Euler). */
  saturate?: boolean;
}

export const PROFILE_OVERRIDE_KEYS = ['dacBits', 'adcBits', 'mismatchSigma', 'fullScale', 'saturate'] as const;

export interface EmulatorOptions {
  /** Noise / mismatch seed (integer in [0, 2^32)); Configure may change it. Default 0. */
  seed?: number;
  /** Non-ideality profile at power-on; Configure may change it. Default 'ideal'. */
  profile?: ProfileName;
  /** Changes to the power-on profile (bits, mismatch σ, full scale, rails); validated. */
  profileOverrides?: ProfileOverrides;
  /** Largest N (cells). Default 4096. */
  maxCells?: number;
  /** Largest factor rank r. Default 256. */
  maxRank?: number;
  /**
   * Largest encoded frame the device accepts (advertised). Default 65535, the protocol's largest
   * (64 KiB frames): bulk chunks then cost one request per ~64 KiB (TRANSPORTS.md §7).
   */
  maxFrameBytes?: number;
  /** Budget for staged transfers + loaded tensors, bytes. Default 64 MiB. */
  memoryBytes?: number;
  identity?: Partial<Identity>;
  capabilities?: CapabilityOverrides;
  pacing?: EmulatorPacing;
  faults?: DeviceFaults;
  /** pino logger; frames are logged at trace level. Default: silent. */
  logger?: Logger;
  /** Millisecond clock for uptime (tests pin it). Default performance.now. */
  now?: () => number;
}

export interface ResolvedOptions {
  seed: number;
  profile: ProfileName;
  /** The power-on profile as realised: the named one with the overrides applied. */
  profileDef: Readonly<Profile>;
  maxCells: number;
  maxRank: number;
  maxFrameBytes: number;
  memoryBytes: number;
  identity: Identity;
  capabilities: Capabilities;
  pacing: EmulatorPacing;
  faults: DeviceFaults;
  now: () => number;
}

function intIn(name: string, v: number | undefined, dflt: number, lo: number, hi: number): number {
  const x = v ?? dflt;
  if (!Number.isInteger(x) || x < lo || x > hi) throw new RangeError(`${name} must be an integer in [${lo}, ${hi}], got ${String(v)}`);
  return x;
}

export function profileOf(name: string): Profile | undefined {
  return (PROFILES as Record<string, Profile>)[name];
}

/**
 * The named profile with `overrides` applied; RangeError naming the field on a bad value. Without
 * overrides (or with an empty object) it is the table entry itself, so named profiles' numerics
 * cannot change.
 */
export function applyProfileOverrides(base: Readonly<Profile>, overrides: ProfileOverrides | undefined): Readonly<Profile> {
  if (overrides === undefined) return base;
  if (typeof overrides !== 'object' || overrides === null) throw new RangeError('profileOverrides must be an object');
  const unknown = Object.keys(overrides).filter((k) => !(PROFILE_OVERRIDE_KEYS as readonly string[]).includes(k));
  if (unknown.length) throw new RangeError(`profileOverrides: unknown key(s) ${unknown.join(', ')} (accepted: ${PROFILE_OVERRIDE_KEYS.join(', ')})`);
  const set = Object.entries(overrides).filter(([, v]) => v !== undefined);
  if (set.length === 0) return base;
  // Bounds live in option-fields.ts, shared with emu: URLs and `tngd emulate` flags.
  const parsed = parseFields(PROFILE_OVERRIDE_FIELDS, { profileOverrides: overrides }, 'code');
  if (parsed.problems.length) throw new RangeError(parsed.problems.join('; '));
  const ov = parsed.profileOverrides as ProfileOverrides;
  const dacBits = ov.dacBits === undefined ? base.dacBits : ov.dacBits;
  const adcBits = ov.adcBits === undefined ? base.adcBits : ov.adcBits;
  const sigma = ov.mismatchSigma ?? base.mismatchSigma;
  const fullScale = ov.fullScale ?? base.fullScale;
  const saturate = ov.saturate ?? base.saturate;
  const name = `${base.name}{${set.map(([k, v]) => `${k}=${String(v)}`).join(',')}}`;
  return Object.freeze({ ...base, name, dacBits, adcBits, mismatchSigma: sigma, fullScale, saturate });
}

/** The profile a core of this device uses under `name`: the power-on name means the (overridden) power-on profile. */
export function deviceProfile(opts: Pick<ResolvedOptions, 'profile' | 'profileDef'>, name: string): Readonly<Profile> | undefined {
  return name === opts.profile ? opts.profileDef : profileOf(name);
}

export function resolveOptions(o: EmulatorOptions = {}): ResolvedOptions {
  // Seed, limits and pacing: one definition each (option-fields.ts), shared with URLs and flags.
  const parsed = parseFields([...DEVICE_FIELDS, ...PACING_FIELDS], o as Record<string, unknown>, 'code');
  if (parsed.problems.length) throw new RangeError(parsed.problems.join('; '));
  const d = parsed.device as { seed?: number; maxCells?: number; maxRank?: number; maxFrameBytes?: number; memoryBytes?: number };
  const seed = d.seed ?? fieldDefault('seed');
  const profile = o.profile ?? 'ideal';
  const named = profileOf(profile);
  if (!named) throw new RangeError(`profile must be one of ${PROFILE_NAMES.join(', ')}, got ${String(profile)}`);
  const p = applyProfileOverrides(named, o.profileOverrides);
  const maxCells = d.maxCells ?? fieldDefault('maxCells');
  const maxRank = d.maxRank ?? fieldDefault('maxRank');
  const maxFrameBytes = d.maxFrameBytes ?? fieldDefault('maxFrameBytes');
  const memoryBytes = d.memoryBytes ?? fieldDefault('memoryBytes');
  const pacing = { ...o.pacing, ...(parsed.pacing as EmulatorPacing) };
  const rate = pacing.linkBytesPerSecond;
  const c = o.capabilities ?? {};
  const dtypes: Dtype[] = c.dtypes ? [...c.dtypes] : ['f64', 'f32', 'i16'];
  if (c.features && !c.features.includes('dense-curvature') && !c.features.includes('factored-curvature')) throw new RangeError('capabilities.features needs dense-curvature or factored-curvature');
  if (dtypes.length === 0 || !dtypes.includes('f64')) throw new RangeError('capabilities.dtypes must include f64 (results are read as f64)');
  const tauSeconds = c.tauSeconds ?? 1e-6;
  if (!(tauSeconds > 0 && Number.isFinite(tauSeconds))) throw new RangeError('capabilities.tauSeconds must be positive');
  const kappa0Min = c.kappa0Min ?? 0;
  const kappa0Max = c.kappa0Max ?? 1;
  if (!(kappa0Min >= 0 && kappa0Max >= kappa0Min && Number.isFinite(kappa0Max))) throw new RangeError('capabilities: need 0 ≤ kappa0Min ≤ kappa0Max < ∞');
  const capabilities: Capabilities = {
    maxCells,
    maxRank,
    dtypes,
    // the effective converters; 0 = no quantisation (the ideal profile)
    dacBits: p.dacBits ?? 0,
    adcBits: p.adcBits ?? 0,
    fullScale: p.fullScale,
    tauSeconds,
    kappa0Min,
    kappa0Max,
    maxFrameBytes,
    linkBytesPerSecond: rate ?? 0,
    maxOpenTransfers: intIn('capabilities.maxOpenTransfers', c.maxOpenTransfers, 4, 1, 0xffff),
    bulkWindow: intIn('capabilities.bulkWindow', c.bulkWindow, 8, 1, 0xffff),
    sampleRingBlocks: intIn('capabilities.sampleRingBlocks', c.sampleRingBlocks, 64, 1, 1 << 20),
    errorQueueDepth: intIn('capabilities.errorQueueDepth', c.errorQueueDepth, 16, 2, 0xffff),
    features: (c.features ? FEATURES.filter((f) => c.features!.includes(f)) : [...FEATURES]).filter((f) => f !== 'i16-dac' || dtypes.includes('i16')),
  };
  const identity: Identity = {
    vendor: 'tngd',
    model: 'spu-emulator',
    serial: `EMU-${seed.toString(16).padStart(8, '0')}`,
    firmware: FIRMWARE_VERSION,
    ...o.identity,
  };
  for (const [k, v] of Object.entries(identity)) if (typeof v !== 'string' || v.length > 64) throw new RangeError(`identity.${k} must be a string of ≤ 64 characters`);
  return {
    seed,
    profile,
    profileDef: p,
    maxCells,
    maxRank,
    maxFrameBytes,
    memoryBytes,
    identity,
    capabilities,
    pacing,
    faults: { ...o.faults },
    now: o.now ?? (() => performance.now()),
  };
}
