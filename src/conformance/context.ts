// What a conformance check works with: the driver (typed requests), raw frames (for malformed
// input), and helpers that bring the device to a known state. Checks speak the protocol through
// `dev.request` rather than the high-level API where the point is the device's exact answer.
import type { Logger } from 'pino';
import {
  ErrorCode,
  PROTOCOL_MAJOR,
  cobsEncode,
  crc32c,
  encodeRawFrame,
  errorCodeName,
  packPlain,
  tensorFromFloat64,
  writeHeader,
} from '../protocol/index.ts';
import type { Capabilities, DecodedFrame, ReplyBody, RequestBody, WireTensor } from '../protocol/index.ts';
import { DeviceError } from '../driver/errors.ts';
import type { SpuDriver } from '../driver/driver.ts';
import type { CurvatureInput, DeviceInfo } from '../driver/types.ts';
import { CheckFailure } from './types.ts';

export class CheckContext {
  dev: SpuDriver;
  readonly hardware: boolean;
  readonly log: Logger;
  readonly reconnect: () => Promise<SpuDriver>;

  constructor(dev: SpuDriver, opts: { hardware: boolean; log: Logger; reconnect: () => Promise<SpuDriver> }) {
    this.dev = dev;
    this.hardware = opts.hardware;
    this.log = opts.log;
    this.reconnect = opts.reconnect;
  }

  get caps(): Capabilities {
    return this.dev.capabilities;
  }

  get info(): DeviceInfo {
    return this.dev.info;
  }

  has(feature: Capabilities['features'][number]): boolean {
    return this.caps.features.includes(feature);
  }

  get isEmulator(): boolean {
    return this.has('emulator');
  }

  expect(cond: unknown, message: string, details?: Record<string, unknown>): void {
    if (!cond) throw new CheckFailure(message, details);
  }

  /** Awaits a request that must fail with `code`. */
  async expectError(p: Promise<unknown>, code: number, what: string): Promise<DeviceError> {
    try {
      await p;
    } catch (e) {
      if (e instanceof DeviceError) {
        if (e.code !== code) throw new CheckFailure(`${what}: expected ${errorCodeName(code)}, device answered ${e.codeName}: ${e.message}`, { expected: errorCodeName(code), got: e.codeName });
        return e;
      }
      throw new CheckFailure(`${what}: expected error ${errorCodeName(code)}, got ${(e as Error).name}: ${(e as Error).message}`);
    }
    throw new CheckFailure(`${what}: expected ${errorCodeName(code)}, the device accepted it`);
  }

  request<K extends Parameters<SpuDriver['request']>[0]>(op: K, body: RequestBody<K>): Promise<ReplyBody<K>> {
    return this.dev.request(op, body);
  }

  status(): Promise<ReplyBody<'Status'>> {
    return this.dev.request('Status', {});
  }

  /** Back to IDLE with an empty error queue, whatever the previous check left behind. */
  async fresh(): Promise<void> {
    if (!this.dev.isOpen) this.dev = await this.reconnect();
    try {
      await this.dev.request('Abort', {});
      await this.dev.request('DeviceReset', {});
      await this.dev.request('ErrorsClear', {});
    } catch (e) {
      this.log.warn({ err: (e as Error).message }, 'could not reset the device; reconnecting');
      await this.dev.close();
      this.dev = await this.reconnect();
      await this.dev.request('DeviceReset', {});
      await this.dev.request('ErrorsClear', {});
    }
  }

  /** A κ₀ the device accepts, as close to `want` as it allows. */
  kappa(want: number): number {
    return Math.min(Math.max(want, this.caps.kappa0Min), this.caps.kappa0Max);
  }

  configureBody(over: Partial<RequestBody<'Configure'>> = {}): RequestBody<'Configure'> {
    return {
      kappa0: this.kappa(0.01),
      readout: 'both',
      samplePeriodTau: 0.1,
      windowTau: 0,
      burnInTau: 0,
      integrator: this.has('exact-integrator') ? { kind: 'exact' } : { kind: 'euler', dtTau: 0.05 },
      ...over,
    };
  }

  async configure(over: Partial<RequestBody<'Configure'>> = {}): Promise<void> {
    await this.dev.request('Configure', this.configureBody(over));
  }

  /** A as the device takes it: dense if it can, else factored with J = I, H = A − λI. */
  system(A: ArrayLike<number>, n: number, lambda = 0.5): Extract<CurvatureInput, { form: 'dense' | 'factored' }> {
    if (this.has('dense-curvature')) return { form: 'dense', n, A: Float64Array.from(A), lambda: 0 };
    const H = Float64Array.from(A);
    for (let i = 0; i < n; i++) H[i * n + i] -= lambda;
    const J = new Float64Array(n * n);
    for (let i = 0; i < n; i++) J[i * n + i] = 1;
    return { form: 'factored', n, r: n, J, core: { kind: 'dense', h: H }, scale: 1, lambda };
  }

  /** Inline f64 Curvature body for A (same form choice as system()). */
  curvatureBody(A: ArrayLike<number>, n: number, lambda = 0.5): Extract<RequestBody<'Curvature'>, { form: 'dense' | 'factored' }> {
    const s = this.system(A, n, lambda);
    if (s.form === 'dense') return { form: 'dense', a: f64(s.A, [n, n]), lambda: 0 };
    const core = s.core as { kind: 'dense'; h: ArrayLike<number> };
    return { form: 'factored', j: f64(s.J, [n, n]), core: { kind: 'dense', h: f64(core.h, [n, n]) }, scale: 1, lambda };
  }

  /** Configured, with A = 2I (n×n) and g = 1 loaded. */
  async loadSmall(n = 2, over: Partial<RequestBody<'Configure'>> = {}): Promise<void> {
    await this.configure(over);
    const A = new Float64Array(n * n);
    for (let i = 0; i < n; i++) A[i * n + i] = 2;
    await this.dev.request('Curvature', this.curvatureBody(A, n));
    await this.dev.request('Gradient', { g: f64(new Float64Array(n).fill(1), [n]) });
  }

  /**
   * Analog time long enough that a run is still going after every check made during it: ~30 s
   * of real analog time, or for an emulator 2·10⁹ Euler steps (below its 2³² step limit).
   */
  longRunTau(): number {
    return this.isEmulator ? 2e6 : Math.max(1000, 30 / this.caps.tauSeconds);
  }

  /**
   * Starts a run that outlives the check; returns its request promise (rejection pre-handled).
   * An emulator may integrate far faster than real time (the exact integrator covers millions of
   * τ per second), so the run is configured with a fine Euler step that keeps it busy.
   */
  async startLongRun(): Promise<{ done: Promise<ReplyBody<'Run'>>; outcome: Promise<{ reply?: ReplyBody<'Run'>; error?: unknown }> }> {
    if (this.isEmulator) await this.configure({ integrator: { kind: 'euler', dtTau: 1e-3 } });
    const done = this.dev.request('Run', { durationTau: this.longRunTau(), start: 'reset' }, { timeoutMs: 120_000 });
    const outcome = done.then(
      (reply) => ({ reply }),
      (error: unknown) => ({ error }),
    );
    return { done, outcome };
  }

  /** Waits until Status says RUNNING (the Run request may still be in the device's input). */
  async waitRunning(): Promise<void> {
    for (let i = 0; i < 50; i++) {
      if ((await this.status()).state === 'RUNNING') return;
      await sleep(10);
    }
    throw new CheckFailure('the device never reported RUNNING after a Run request');
  }

  // ---- raw frames ------------------------------------------------------------------------------

  frame(type: number, payload: Uint8Array, opts: { flags?: number; version?: number; requestId?: number; badCrc?: boolean } = {}): { bytes: Buffer; requestId: number } {
    const requestId = opts.requestId ?? this.dev.channel.allocId();
    const bytes = opts.badCrc
      ? withBadCrc(type, payload, requestId, opts)
      : encodeRawFrame({ version: opts.version ?? PROTOCOL_MAJOR, flags: opts.flags ?? 0, type, requestId }, payload);
    return { bytes, requestId };
  }

  /** Sends a hand-built frame and returns the device's answer to it. */
  async raw(type: number, payload: Uint8Array | object, opts: { flags?: number; version?: number } = {}): Promise<DecodedFrame> {
    const bytes = payload instanceof Uint8Array ? payload : packPlain(payload);
    const f = this.frame(type, bytes, opts);
    return this.dev.channel.rawExchange(f.bytes, f.requestId);
  }

  /** Sends a raw frame that must produce Error `code` echoing its id and type. */
  async rawExpectError(type: number, payload: Uint8Array | object, code: number, what: string, opts: { flags?: number; version?: number } = {}): Promise<void> {
    const f = await this.raw(type, payload, opts);
    const m = f.message;
    if (m.kind !== 'Error') throw new CheckFailure(`${what}: expected Error ${errorCodeName(code)}, got ${m.kind}`);
    if (m.body.code !== code) throw new CheckFailure(`${what}: expected ${errorCodeName(code)}, got ${errorCodeName(m.body.code)} (${m.body.message})`);
    if (f.header.type !== type) throw new CheckFailure(`${what}: the Error's type 0x${f.header.type.toString(16)} does not echo the request's 0x${type.toString(16)}`);
  }

  /**
   * Sends bytes the device must not answer, then a Status: the device answers in order, so the
   * Status reply arriving with nothing for `requestId` before it proves silence.
   */
  async expectNoReply(bytes: Uint8Array, requestId: number | null, what: string): Promise<ReplyBody<'Status'>> {
    const seen: number[] = [];
    const untap = this.dev.channel.tap((f) => {
      if (requestId !== null && f.header.requestId === requestId) seen.push(f.header.requestId);
    });
    try {
      this.dev.channel.writeRaw(bytes);
      const s = await this.status();
      if (seen.length > 0) throw new CheckFailure(`${what}: the device answered a frame it must drop`);
      return s;
    } finally {
      untap();
    }
  }

  async readAllErrors(): Promise<ReplyBody<'ErrorsRead'>['entries']> {
    const out: ReplyBody<'ErrorsRead'>['entries'] = [];
    for (let i = 0; i < 100; i++) {
      const r = await this.dev.request('ErrorsRead', { max: 64 });
      out.push(...r.entries);
      if (r.remaining === 0 || r.entries.length === 0) break;
    }
    return out;
  }
}

export function f64(values: ArrayLike<number>, shape: number[]): WireTensor {
  return tensorFromFloat64(values, shape, 'f64');
}

/** Raw f64 tensor bytes (may hold NaN, which the host-side helpers refuse). */
export function rawF64(values: number[], shape: number[]): WireTensor {
  const data = Buffer.alloc(values.length * 8);
  values.forEach((v, i) => data.writeDoubleLE(v, i * 8));
  return { dtype: 'f64', shape, order: 'le', data };
}

function withBadCrc(type: number, payload: Uint8Array, requestId: number, opts: { flags?: number; version?: number }): Buffer {
  // Valid COBS around an inner frame whose CRC trailer is wrong: exactly a CRC fault.
  const inner = Buffer.alloc(8 + payload.length + 4);
  writeHeader(inner, 0, { version: opts.version ?? PROTOCOL_MAJOR, flags: opts.flags ?? 0, type, requestId });
  inner.set(payload, 8);
  inner.writeUInt32LE((crc32c(inner, 0, 0, 8 + payload.length) ^ 0x5a5a5a5a) >>> 0, 8 + payload.length);
  return Buffer.concat([cobsEncode(inner), Buffer.of(0)]);
}

export function sleep(ms: number): Promise<void> {
  return new Promise((r) => setTimeout(r, ms));
}

export { ErrorCode };
