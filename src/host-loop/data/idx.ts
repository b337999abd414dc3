// IDX files (the MNIST format): big-endian header 0x00 0x00 <dtype> <ndims>, ndims uint32
// sizes, then the data. Gzip is detected from the content (1f 8b), not from the file name.
// Only unsigned bytes (dtype 0x08) are accepted: that is what MNIST and Fashion-MNIST use.

import { readFileSync } from 'node:fs';
import { gunzipSync, gzipSync } from 'node:zlib';

export class DataFileError extends Error {
  readonly category = 'data' as const;
  constructor(
    readonly file: string,
    readonly reason: string,
  ) {
    super(`${file}: ${reason}`);
    this.name = 'DataFileError';
  }
}

export interface IdxArray {
  dims: number[];
  data: Uint8Array;
}

const DTYPE_NAMES: Record<number, string> = { 0x08: 'uint8', 0x09: 'int8', 0x0b: 'int16', 0x0c: 'int32', 0x0d: 'float32', 0x0e: 'float64' };
/** Guard against absurd headers before allocating. */
const MAX_ELEMENTS = 2 ** 31 - 1;

/** Parses an IDX buffer (raw or gzipped). `file` only names the source in errors. */
export function parseIdx(buf: Uint8Array, file = '<buffer>'): IdxArray {
  let bytes = buf;
  if (bytes.length >= 2 && bytes[0] === 0x1f && bytes[1] === 0x8b) {
    try {
      bytes = gunzipSync(bytes);
    } catch (e) {
      throw new DataFileError(file, `corrupt gzip data (${(e as Error).message})`);
    }
  }
  if (bytes.length < 4) throw new DataFileError(file, `too short for an IDX header (${bytes.length} bytes)`);
  if (bytes[0] !== 0 || bytes[1] !== 0) {
    const magic = Array.from(bytes.subarray(0, 4), (x) => x.toString(16).padStart(2, '0')).join(' ');
    throw new DataFileError(file, `bad magic number ${magic}: not an IDX file (expected 00 00 <dtype> <ndims>)`);
  }
  const dtype = bytes[2];
  if (dtype !== 0x08) {
    const name = DTYPE_NAMES[dtype];
    throw new DataFileError(file, name ? `unsupported IDX data type ${name} (only uint8 is supported)` : `unknown IDX data type code 0x${dtype.toString(16).padStart(2, '0')}`);
  }
  const ndims = bytes[3];
  if (ndims < 1) throw new DataFileError(file, 'IDX header declares 0 dimensions');
  const headerLen = 4 + 4 * ndims;
  if (bytes.length < headerLen) throw new DataFileError(file, `truncated header: ${ndims} dimensions need ${headerLen} bytes, file has ${bytes.length}`);
  const view = new DataView(bytes.buffer, bytes.byteOffset, bytes.byteLength);
  const dims: number[] = [];
  let count = 1;
  for (let i = 0; i < ndims; i++) {
    const d = view.getUint32(4 + 4 * i, false);
    dims.push(d);
    count *= d;
  }
  if (count > MAX_ELEMENTS) throw new DataFileError(file, `dimensions ${dims.join('×')} are too large`);
  const have = bytes.length - headerLen;
  if (have < count) throw new DataFileError(file, `truncated: dimensions ${dims.join('×')} need ${count} data bytes, file has ${have}`);
  if (have > count) throw new DataFileError(file, `${have - count} trailing bytes after ${dims.join('×')} data`);
  return { dims, data: bytes.slice(headerLen, headerLen + count) };
}

export function readIdxFile(path: string): IdxArray {
  let buf: Buffer;
  try {
    buf = readFileSync(path);
  } catch (e) {
    const code = (e as NodeJS.ErrnoException).code;
    throw new DataFileError(path, code === 'ENOENT' ? 'file not found' : `cannot read (${(e as Error).message})`);
  }
  return parseIdx(buf, path);
}

/** Encodes a uint8 IDX array; gzip level 9 with no timestamp, so output is reproducible. */
export function encodeIdx(dims: number[], data: Uint8Array, gzip = false): Buffer {
  const count = dims.reduce((a, d) => a * d, 1);
  if (dims.length < 1 || dims.length > 255) throw new RangeError(`IDX needs 1..255 dimensions, got ${dims.length}`);
  if (dims.some((d) => !Number.isInteger(d) || d < 0 || d > 0xffffffff)) throw new RangeError(`bad IDX dimensions ${dims.join('×')}`);
  if (count !== data.length) throw new RangeError(`IDX dimensions ${dims.join('×')} need ${count} bytes, got ${data.length}`);
  const out = Buffer.alloc(4 + 4 * dims.length + count);
  out[2] = 0x08;
  out[3] = dims.length;
  dims.forEach((d, i) => out.writeUInt32BE(d, 4 + 4 * i));
  out.set(data, 4 + 4 * dims.length);
  return gzip ? gzipSync(out, { level: 9 }) : out;
}
