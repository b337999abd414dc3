// The composition point: a URL → a connected SpuDriver. The driver knows only byte links; this
// module (with the CLI) is where the emulator is wired in for emu: URLs, so layers stay one-way
// (protocol ← driver, protocol ← emulator; connect composes them).
//
//   emu:[name][?seed=1&profile=prototype&maxCells=4096&maxRank=256&maxFrameBytes=4096&memoryBytes=…&rate=92160&realtime=1&link=bytes]
//       link=messages (default): the in-process message link, messages handed to the firmware
//       without COBS, CRC or MessagePack; link=bytes: frames through the in-process serial port
//       (what a real serial device sees; rate= paces bytes, so it implies link=bytes)
//       profile overrides: dacBits=8&adcBits=10 (2..24, 0 or none = not quantised), mismatch=1e-3
//       (σ in [0, 0.5)), fullScale=8, saturate=0|1 — bounds in src/emulator/firmware/option-fields.ts
//   tcp://host:port[?secret=...&timeout=ms]
//   serial:///dev/ttyUSB0[?baud=921600]   or a bare path (/dev/ttyUSB0, COM3)
import { SpuDriver } from './driver/driver.ts';
import type { DriverOptions } from './driver/driver.ts';
import { LinkError } from './driver/transports/errors.ts';
import { parseLinkUrl, redactLinkUrl } from './driver/transports/link-url.ts';
import { openLink } from './driver/transports/open-link.ts';
import type { EmuDeviceFactory } from './driver/transports/open-link.ts';
import { duplexLink } from './driver/duplex-link.ts';
import { describeLink } from './driver/transports/link-url.ts';
import { OPTION_FIELDS, PROFILE_NAMES, createEmulatedDevice, createMessageLinkDevice, parseFields } from './emulator/index.ts';
import type { EmulatorOptions, EmulatorPacing, ProfileName, ProfileOverrides } from './emulator/index.ts';

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

// Everything but profile and baud is defined once in the emulator's option fields (bounds,
// defaults, names), so a URL, EmulatorOptions and `tngd emulate` flags are checked alike.
const EMU_URL_FIELDS = OPTION_FIELDS;
const EMU_URL_NAMES = ['profile', 'baud', 'link', ...EMU_URL_FIELDS.map((f) => f.url)];
const BAUD = /^\d+$/;
const LINK_KINDS = ['messages', 'bytes'];

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
  const problems: string[] = [];
  const unknown = Object.keys(params).filter((k) => !EMU_URL_NAMES.includes(k));
  if (unknown.length) problems.push(`unknown parameter(s) ${unknown.join(', ')} (emu: takes ${EMU_URL_NAMES.join(', ')})`);
  if (params.profile !== undefined && !(PROFILE_NAMES as string[]).includes(params.profile)) problems.push(`profile must be one of ${PROFILE_NAMES.join(', ')}`);
  if (params.link !== undefined && !LINK_KINDS.includes(params.link)) problems.push('link must be messages or bytes');
  if (params.baud !== undefined && !(BAUD.test(params.baud) && Number(params.baud) >= 50 && Number(params.baud) <= 16_000_000)) problems.push('baud must be an integer in 50..16000000');
  const p = parseFields(EMU_URL_FIELDS, params, 'url');
  problems.push(...p.problems);
  if (problems.length) throw new LinkError('BAD_URL', `invalid link URL ${JSON.stringify(redactLinkUrl(url))}: ${problems.join('; ')}`);
  const base = opts.emulator ?? {};
  const out: EmulatorOptions = { ...base, ...(p.device as Partial<EmulatorOptions>) };
  if (params.profile !== undefined) out.profile = params.profile as ProfileName;
  // Explicit connect() options win over the URL.
  if (opts.seed !== undefined) out.seed = opts.seed;
  if (opts.profile !== undefined) out.profile = opts.profile;
  if (opts.maxCells !== undefined) out.maxCells = opts.maxCells;
  if (opts.maxRank !== undefined) out.maxRank = opts.maxRank;
  const ov: ProfileOverrides = { ...base.profileOverrides, ...(p.profileOverrides as ProfileOverrides) };
  if (Object.keys(ov).length > 0) out.profileOverrides = ov;
  if (Object.keys(p.pacing).length > 0) out.pacing = { ...base.pacing, ...(p.pacing as EmulatorPacing) };
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
