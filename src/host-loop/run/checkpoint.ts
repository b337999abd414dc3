// Versioned, checksummed, atomically written training checkpoints.
//
// File layout: one header line of JSON {format, version, bodyBytes, sha256} then exactly
// bodyBytes of UTF-8 JSON body. The header lets us tell a truncated file (short body) from a
// corrupted one (hash mismatch) from a newer format (version) before trusting any field.
import { createHash } from 'node:crypto';
import { readFileSync, readdirSync, unlinkSync, mkdirSync } from 'node:fs';
import { join } from 'node:path';
import { z } from 'zod';
import { decodeF64, encodeF64, F64DecodeError } from '../linalg/f64codec.ts';
import { TEMP_SUFFIX, writeFileAtomic } from './atomic.ts';

export const CHECKPOINT_FORMAT = 'tngd-checkpoint';
export const CHECKPOINT_VERSION = 1;

export type CheckpointErrorCode = 'not-found' | 'truncated' | 'corrupt' | 'version' | 'invalid' | 'io';

export class CheckpointError extends Error {
  readonly category = 'run' as const;
  constructor(
    readonly code: CheckpointErrorCode,
    readonly path: string,
    detail: string,
  ) {
    super(`checkpoint ${path}: ${detail}`);
    this.name = 'CheckpointError';
  }
}

export interface Checkpoint {
  iteration: number;
  epoch: number;
  params: Float64Array;
  optimizer: { name: string; state: unknown };
  /** RNG state of the data pipeline / model init (opaque JSON) */
  rng: unknown;
  /** the run configuration (opaque JSON), so --resume can refuse a mismatched command line */
  config: unknown;
  /** device-side state (opaque JSON), e.g. the SPU's carried x and its RNG */
  device?: unknown;
  /** ISO time of writing; filled in on encode when absent */
  createdAt?: string;
}

const headerSchema = z.object({
  format: z.string(),
  version: z.number().int(),
  bodyBytes: z.number().int().min(0),
  sha256: z.string().regex(/^[0-9a-f]{64}$/),
});

const bodySchema = z.strictObject({
  iteration: z.number().int().min(0),
  epoch: z.number().int().min(0),
  createdAt: z.string(),
  params: z.strictObject({ n: z.number().int().min(0), f64le: z.string() }),
  optimizer: z.strictObject({ name: z.string().min(1), state: z.unknown() }),
  rng: z.unknown(),
  config: z.unknown(),
  device: z.unknown().optional(),
});

/**
 * Opaque fields must survive JSON exactly: NaN/±Inf would silently become null and typed arrays
 * would turn into index-keyed objects, so both are refused (encode vectors with encodeF64).
 */
function assertJsonSafe(v: unknown, path: string): void {
  if (v === null || typeof v === 'string' || typeof v === 'boolean') return;
  if (typeof v === 'number') {
    if (!Number.isFinite(v)) throw new CheckpointError('invalid', '(encode)', `${path} is ${v}, which JSON cannot represent`);
    return;
  }
  if (Array.isArray(v)) {
    v.forEach((x, i) => assertJsonSafe(x, `${path}[${i}]`));
    return;
  }
  if (typeof v === 'object' && (Object.getPrototypeOf(v) === Object.prototype || Object.getPrototypeOf(v) === null)) {
    for (const [k, x] of Object.entries(v as Record<string, unknown>)) if (x !== undefined) assertJsonSafe(x, `${path}.${k}`);
    return;
  }
  const what = ArrayBuffer.isView(v) ? `a ${(v as object).constructor.name} (encode it with encodeF64)` : `a ${typeof v}`;
  throw new CheckpointError('invalid', '(encode)', `${path} is ${what}, not plain JSON`);
}

export function encodeCheckpoint(c: Checkpoint): Buffer {
  assertJsonSafe(c.optimizer.state ?? null, 'optimizer.state');
  assertJsonSafe(c.rng ?? null, 'rng');
  assertJsonSafe(c.config ?? null, 'config');
  if (c.device !== undefined) assertJsonSafe(c.device, 'device');
  const body = {
    iteration: c.iteration,
    epoch: c.epoch,
    createdAt: c.createdAt ?? new Date().toISOString(),
    params: { n: c.params.length, f64le: encodeF64(c.params) },
    optimizer: { name: c.optimizer.name, state: c.optimizer.state ?? null },
    rng: c.rng ?? null,
    config: c.config ?? null,
    ...(c.device === undefined ? {} : { device: c.device }),
  };
  const parsed = bodySchema.safeParse(body);
  if (!parsed.success) throw new CheckpointError('invalid', '(encode)', z.prettifyError(parsed.error));
  const bodyBuf = Buffer.from(JSON.stringify(body), 'utf8');
  const header = {
    format: CHECKPOINT_FORMAT,
    version: CHECKPOINT_VERSION,
    bodyBytes: bodyBuf.length,
    sha256: createHash('sha256').update(bodyBuf).digest('hex'),
  };
  return Buffer.concat([Buffer.from(JSON.stringify(header) + '\n', 'utf8'), bodyBuf]);
}

export function decodeCheckpoint(buf: Buffer, path = '(buffer)'): Checkpoint {
  const nl = buf.indexOf(0x0a);
  if (nl < 0) throw new CheckpointError('truncated', path, `file is incomplete (${buf.length} bytes, no header line)`);
  let headerRaw: unknown;
  try {
    headerRaw = JSON.parse(buf.subarray(0, nl).toString('utf8'));
  } catch {
    throw new CheckpointError('corrupt', path, 'header line is not valid JSON');
  }
  const h = headerSchema.safeParse(headerRaw);
  if (!h.success || h.data.format !== CHECKPOINT_FORMAT)
    throw new CheckpointError('invalid', path, `not a ${CHECKPOINT_FORMAT} file`);
  const header = h.data;
  if (header.version !== CHECKPOINT_VERSION)
    throw new CheckpointError(
      'version',
      path,
      `format version ${header.version} is not supported (this build reads version ${CHECKPOINT_VERSION})`,
    );
  const body = buf.subarray(nl + 1);
  if (body.length < header.bodyBytes)
    throw new CheckpointError('truncated', path, `body has ${body.length} of ${header.bodyBytes} bytes (interrupted write?)`);
  if (body.length > header.bodyBytes)
    throw new CheckpointError('corrupt', path, `${body.length - header.bodyBytes} unexpected bytes after the body`);
  const sha = createHash('sha256').update(body).digest('hex');
  if (sha !== header.sha256) throw new CheckpointError('corrupt', path, 'SHA-256 of the body does not match the header (file damaged)');
  let raw: unknown;
  try {
    raw = JSON.parse(body.toString('utf8'));
  } catch {
    throw new CheckpointError('invalid', path, 'body is not valid JSON');
  }
  const b = bodySchema.safeParse(raw);
  if (!b.success) throw new CheckpointError('invalid', path, `body does not match the schema: ${z.prettifyError(b.error)}`);
  let params: Float64Array;
  try {
    params = decodeF64(b.data.params.f64le, b.data.params.n);
  } catch (e) {
    if (e instanceof F64DecodeError) throw new CheckpointError('invalid', path, `params: ${e.message}`);
    throw e;
  }
  const out: Checkpoint = {
    iteration: b.data.iteration,
    epoch: b.data.epoch,
    createdAt: b.data.createdAt,
    params,
    optimizer: { name: b.data.optimizer.name, state: b.data.optimizer.state },
    rng: b.data.rng,
    config: b.data.config,
  };
  if (b.data.device !== undefined) out.device = b.data.device;
  return out;
}

export function writeCheckpoint(path: string, c: Checkpoint): void {
  const data = encodeCheckpoint(c);
  try {
    writeFileAtomic(path, data);
  } catch (e) {
    throw new CheckpointError('io', path, `write failed: ${(e as Error).message}`);
  }
}

export function readCheckpoint(path: string): Checkpoint {
  let buf: Buffer;
  try {
    buf = readFileSync(path);
  } catch (e) {
    const code = (e as NodeJS.ErrnoException).code;
    throw new CheckpointError(code === 'ENOENT' ? 'not-found' : 'io', path, code === 'ENOENT' ? 'no such file' : (e as Error).message);
  }
  return decodeCheckpoint(buf, path);
}

const NAME = /^ckpt-(\d{10})\.ckpt$/;

export interface StoredCheckpoint {
  path: string;
  iteration: number;
}

/**
 * A directory of checkpoints named by iteration, keeping the newest `keep`. One writer per
 * directory. Leftover temp files from a crashed write are ignored by readers and removed on save.
 */
export class CheckpointStore {
  readonly keep: number;
  constructor(
    readonly dir: string,
    opts: { keep?: number } = {},
  ) {
    this.keep = opts.keep ?? 3;
    if (!Number.isInteger(this.keep) || this.keep < 1) throw new RangeError(`keep must be a positive integer, got ${opts.keep}`);
    mkdirSync(dir, { recursive: true });
  }

  pathFor(iteration: number): string {
    return join(this.dir, `ckpt-${String(iteration).padStart(10, '0')}.ckpt`);
  }

  /** Checkpoints on disk, oldest first. */
  list(): StoredCheckpoint[] {
    const out: StoredCheckpoint[] = [];
    for (const f of readdirSync(this.dir)) {
      const m = NAME.exec(f);
      if (m) out.push({ path: join(this.dir, f), iteration: Number(m[1]) });
    }
    return out.sort((a, b) => a.iteration - b.iteration);
  }

  save(c: Checkpoint): string {
    this.removeTemps();
    const path = this.pathFor(c.iteration);
    writeCheckpoint(path, c);
    const all = this.list();
    for (const old of all.slice(0, Math.max(0, all.length - this.keep))) unlinkSync(old.path);
    return path;
  }

  /**
   * The newest checkpoint that loads; damaged newer ones are reported in `skipped` rather than
   * silently ignored. null when the directory holds no loadable checkpoint.
   */
  loadLatest(): { checkpoint: Checkpoint; path: string; skipped: { path: string; error: CheckpointError }[] } | null {
    const skipped: { path: string; error: CheckpointError }[] = [];
    for (const s of this.list().reverse()) {
      try {
        return { checkpoint: readCheckpoint(s.path), path: s.path, skipped };
      } catch (e) {
        if (!(e instanceof CheckpointError)) throw e;
        skipped.push({ path: s.path, error: e });
      }
    }
    return null;
  }

  private removeTemps(): void {
    for (const f of readdirSync(this.dir))
      if (f.startsWith('.ckpt-') && f.endsWith(TEMP_SUFFIX)) {
        try {
          unlinkSync(join(this.dir, f));
        } catch {
          /* already gone */
        }
      }
  }
}
