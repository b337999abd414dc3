// The composition point: a URL → a connected SpuDriver. The driver knows only byte links; this
// module (with the CLI) is where the emulator is wired in for emu: URLs, so layers stay one-way
// (protocol ← driver, protocol ← emulator; connect composes them).
//
//   emu:[name][?seed=1&profile=prototype&maxCells=4096&maxRank=256&maxFrameBytes=4096&rate=92160&realtime=1&link=bytes]
//       link=messages (default): the in-process message link, messages handed to the firmware
//       without COBS, CRC or MessagePack; link=bytes: frames through the in-process serial port
//       (what a real serial device sees; rate= paces bytes, so it implies link=bytes)
//       profile overrides: dacBits=8&adcBits=10 (2..24, 0 or none = not quantised), mismatch=1e-3
//       (σ in [0, 0.5)), fullScale=8, saturate=0|1
//   tcp://host:port[?secret=...&timeout=ms]
//   serial:///dev/ttyUSB0[?baud=921600]   or a bare path (/dev/ttyUSB0, COM3)
import { z } from 'zod';
import { SpuDriver } from './driver/driver.ts';
import type { DriverOptions } from './driver/driver.ts';
import { LinkError } from './driver/transports/errors.ts';
import { parseLinkUrl, redactLinkUrl } from './driver/transports/link-url.ts';
import { openLink } from './driver/transports/open-link.ts';
import type { EmuDeviceFactory } from './driver/transports/open-link.ts';
import { duplexLink } from './driver/duplex-link.ts';
import { describeLink } from './driver/transports/link-url.ts';
import { OVERRIDE_BITS_MAX, OVERRIDE_BITS_MIN, PROFILE_NAMES, createEmulatedDevice, createMessageLinkDevice } from './emulator/index.ts';
import type { EmulatorOptions, ProfileName, ProfileOverrides } from './emulator/index.ts';

export interface ConnectOptions extends DriverOptions {
  /** emu: noise seed (overrides the URL's ?seed). */
  seed?: number;
  /** emu: non-ideality profile at power-on (overrides ?profile). */
  profile?: ProfileName;
  /** emu: largest N (overrides ?maxCells). */
  maxCells?: number;
  /** emu: largest rank (overrides ?maxRank). */
  maxRank?: number;
  /** emu: any further emulator options (faults, pacing, capabilities…); URL and fields above win. */
  emulator?: EmulatorOptions;
  /** tcp: shared secret (keeps it out of URLs and shell history). */
  secret?: string;
  /** tcp: connect + greeting budget in ms. */
  linkTimeoutMs?: number;
}

const uint = (what: string, min: number, max: number) =>
  z
    .string()
    .regex(/^\d+$/, `${what} must be an integer in ${min}..${max}`)
    .transform(Number)
    .pipe(z.number().int().min(min, `${what} must be ≥ ${min}`).max(max, `${what} must be ≤ ${max}`));

const bitsParam = (what: string) =>
  z
    .string()
    .regex(/^(\d+|none)$/, `${what} must be an integer in ${OVERRIDE_BITS_MIN}..${OVERRIDE_BITS_MAX}, or 0 / none for no quantisation`)
    .transform((v) => (v === 'none' || Number(v) === 0 ? null : Number(v)))
    .refine((v) => v === null || (v >= OVERRIDE_BITS_MIN && v <= OVERRIDE_BITS_MAX), `${what} must be an integer in ${OVERRIDE_BITS_MIN}..${OVERRIDE_BITS_MAX}, or 0 / none for no quantisation`);

/** A decimal number such as 1e-3 or 0.002 (no hex, no empty string, finite). */
const numParam = (what: string, ok: (x: number) => boolean, range: string) =>
  z
    .string()
    .regex(/^[+]?(\d+\.?\d*|\.\d+)([eE][+-]?\d+)?$/, `${what} must be a number ${range}`)
    .transform(Number)
    .refine(ok, `${what} must be a number ${range}`);

const EmuQuery = z.strictObject({
  seed: uint('seed', 0, 0xffffffff).optional(),
  profile: z.enum(PROFILE_NAMES as [ProfileName, ...ProfileName[]], { message: `profile must be one of ${PROFILE_NAMES.join(', ')}` }).optional(),
  maxCells: uint('maxCells', 1, 1 << 24).optional(),
  maxRank: uint('maxRank', 1, 1 << 16).optional(),
  maxFrameBytes: uint('maxFrameBytes', 1024, 65535).optional(),
  /** link pacing, bytes per second */
  rate: uint('rate', 1, 1e9).optional(),
  /** runs take analog time × τ of wall time */
  realtime: z.enum(['0', '1'], { message: 'realtime must be 0 or 1' }).optional(),
  baud: uint('baud', 50, 16_000_000).optional(),
  /** what carries the messages in-process: validated messages (default) or encoded frames */
  link: z.enum(['messages', 'bytes'], { message: 'link must be messages or bytes' }).optional(),
  dacBits: bitsParam('dacBits').optional(),
  adcBits: bitsParam('adcBits').optional(),
  /** coupling mismatch σ */
  mismatch: numParam('mismatch', (x) => x >= 0 && x < 0.5, 'in [0, 0.5)').optional(),
  fullScale: numParam('fullScale', (x) => x > 0 && Number.isFinite(x), '> 0').optional(),
  saturate: z.enum(['0', '1'], { message: 'saturate must be 0 or 1' }).optional(),
});

/**
 * The in-process link an emu: URL asks for: messages unless link=bytes or byte pacing (?rate= or
 * emulator.pacing.linkBytesPerSecond), which only a byte link can honour.
 */
export function emuLinkKind(url: string, params: Readonly<Record<string, string>>, emu: EmulatorOptions = {}): 'messages' | 'bytes' {
  const paced = params.rate !== undefined || emu.pacing?.linkBytesPerSecond !== undefined;
  if (params.link === 'messages' && paced)
    throw new LinkError('BAD_URL', `invalid link URL ${JSON.stringify(redactLinkUrl(url))}: link pacing paces bytes; it needs link=bytes`);
  return params.link === 'bytes' || paced ? 'bytes' : 'messages';
}

/** Emulator options for an emu: URL's query, validated (clear errors naming the parameter). */
export function emulatorOptionsFromQuery(url: string, params: Readonly<Record<string, string>>, opts: ConnectOptions = {}): EmulatorOptions {
  const q = EmuQuery.safeParse(params);
  if (!q.success) {
    const msgs = q.error.issues.map((i) => (i.code === 'unrecognized_keys' ? `unknown parameter(s) ${i.keys.join(', ')} (emu: takes ${Object.keys(EmuQuery.shape).join(', ')})` : i.message));
    throw new LinkError('BAD_URL', `invalid link URL ${JSON.stringify(redactLinkUrl(url))}: ${msgs.join('; ')}`);
  }
  const p = q.data;
  const base = opts.emulator ?? {};
  const out: EmulatorOptions = { ...base };
  const seed = opts.seed ?? p.seed;
  const profile = opts.profile ?? p.profile;
  const maxCells = opts.maxCells ?? p.maxCells;
  const maxRank = opts.maxRank ?? p.maxRank;
  if (seed !== undefined) out.seed = seed;
  if (profile !== undefined) out.profile = profile;
  if (maxCells !== undefined) out.maxCells = maxCells;
  if (maxRank !== undefined) out.maxRank = maxRank;
  if (p.maxFrameBytes !== undefined) out.maxFrameBytes = p.maxFrameBytes;
  const ov: ProfileOverrides = { ...base.profileOverrides };
  if (p.dacBits !== undefined) ov.dacBits = p.dacBits;
  if (p.adcBits !== undefined) ov.adcBits = p.adcBits;
  if (p.mismatch !== undefined) ov.mismatchSigma = p.mismatch;
  if (p.fullScale !== undefined) ov.fullScale = p.fullScale;
  if (p.saturate !== undefined) ov.saturate = p.saturate === '1';
  if (Object.keys(ov).length > 0) out.profileOverrides = ov;
  if (p.rate !== undefined || p.realtime !== undefined) {
    out.pacing = { ...base.pacing };
    if (p.rate !== undefined) out.pacing.linkBytesPerSecond = p.rate;
    if (p.realtime !== undefined) out.pacing.analogRealtime = p.realtime === '1';
  }
  if (opts.logger && !out.logger) out.logger = opts.logger.child({ side: 'emulator' });
  return out;
}

/**
 * Opens the device at `url` and performs the handshake.
 *
 *     const dev = await connect('emu:?seed=1');
 *     await dev.configure({ kappa0: 0.05 });
 *     await dev.uploadCurvature({ form: 'factored', n, r, J, core: { kind: 'identity' }, scale: 1, lambda: 0.1 });
 *     await dev.uploadGradient(g);
 *     const run = dev.run({ durationTau: 5, start: 'gradient' });
 *     // … compute the next gradient …
 *     const { mean } = await run.result;
 *     await dev.close();
 */
export async function connect(url: string, opts: ConnectOptions = {}): Promise<SpuDriver> {
  const spec = parseLinkUrl(url);
  let emuFactory: EmuDeviceFactory | undefined;
  if (spec.kind === 'emu') {
    const emuOpts = emulatorOptionsFromQuery(url, spec.params, opts);
    // Fail on bad emulator options now, with the emulator's own message, not at first open.
    createEmulatedDevice(emuOpts).destroy();
    if (emuLinkKind(url, spec.params, emuOpts) === 'messages') {
      const label = describeLink(spec);
      return SpuDriver.open(async () => {
        const dev = createMessageLinkDevice(emuOpts);
        return { ...duplexLink(dev, label), spec, messages: dev.messages };
      }, opts);
    }
    emuFactory = () => createEmulatedDevice(emuOpts);
  }
  const linkOpts = {
    ...(emuFactory ? { emuFactory } : {}),
    ...(opts.secret !== undefined ? { secret: opts.secret } : {}),
    ...(opts.linkTimeoutMs !== undefined ? { timeoutMs: opts.linkTimeoutMs } : {}),
  };
  return SpuDriver.open(() => openLink(url, linkOpts), opts);
}
