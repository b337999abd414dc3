// CRC-32C (catalogue name CRC-32/ISCSI; Castagnoli polynomial 0x1EDC6F41, reflected 0x82F63B78,
// init 0xFFFFFFFF, refin/refout true, xorout 0xFFFFFFFF, check "123456789" → 0xE3069283).
// Large inputs go to the native CRC-32C of @node-rs/crc32 (prebuilt binaries for the usual
// platforms, SSE4.2/ARMv8 CRC instructions: ~5× the JS speed); without its binary, and for short
// inputs where a native call costs more than it saves, the portable slicing-by-8 JS below, which
// gives the same value (tested on both paths).
import { createRequire } from 'node:module';

const POLY_REFLECTED = 0x82f63b78;

const TABLES: Uint32Array[] = (() => {
  const t = Array.from({ length: 8 }, () => new Uint32Array(256));
  for (let n = 0; n < 256; n++) {
    let c = n;
    for (let k = 0; k < 8; k++) c = c & 1 ? (c >>> 1) ^ POLY_REFLECTED : c >>> 1;
    t[0][n] = c >>> 0;
  }
  for (let n = 0; n < 256; n++) {
    let c = t[0][n];
    for (let s = 1; s < 8; s++) {
      c = (t[0][c & 0xff] ^ (c >>> 8)) >>> 0;
      t[s][n] = c;
    }
  }
  return t;
})();

export const CRC32C_CHECK_VALUE = 0xe3069283;

/** A native CRC-32C: `(data, previous)` → the CRC continued over data (previous 0 = a fresh CRC). */
export type NativeCrc32c = (data: Uint8Array, previous: number) => number;

/**
 * Loads the native CRC-32C, or returns null when the package or its platform binary is missing
 * (or gives a wrong check value). `load` is the module loader (replaceable in tests).
 */
export function loadNativeCrc32c(load: (id: string) => unknown = createRequire(import.meta.url)): NativeCrc32c | null {
  try {
    const m = load('@node-rs/crc32') as { crc32c?: (data: Uint8Array, initial?: number) => number };
    if (typeof m?.crc32c !== 'function') return null;
    const f: NativeCrc32c = (data, previous) => m.crc32c!(data, previous) >>> 0;
    return f(Buffer.from('123456789', 'latin1'), 0) === CRC32C_CHECK_VALUE ? f : null;
  } catch {
    return null;
  }
}

let native: NativeCrc32c | null | undefined;
/**
 * The native CRC-32C in use, or null (portable JS only). Loaded on the first CRC long enough to
 * want it: loading the binary costs ~7 ms, which a start whose messages are all short need not pay.
 */
export function nativeCrc32c(): NativeCrc32c | null {
  if (native === undefined) native = loadNativeCrc32c();
  return native;
}

/** Below this many bytes a native call costs more than the JS loop (measured ~0.6 µs per call). */
const NATIVE_MIN_BYTES = 512;

/**
 * Continues a CRC-32C over `bytes[start, end)`. Pass the previous return value as `crc` to
 * checksum data that arrives in pieces; start with 0 (the init/xorout handling is internal).
 */
export function crc32c(bytes: Uint8Array, crc = 0, start = 0, end = bytes.length): number {
  if (end - start >= NATIVE_MIN_BYTES) {
    const f = native === undefined ? nativeCrc32c() : native;
    if (f !== null) return f(start === 0 && end === bytes.length ? bytes : bytes.subarray(start, end), crc);
  }
  return crc32cPortable(bytes, crc, start, end);
}

/** crc32c in portable JS (slicing-by-8), whatever the platform. */
export function crc32cPortable(bytes: Uint8Array, crc = 0, start = 0, end = bytes.length): number {
  const [t0, t1, t2, t3, t4, t5, t6, t7] = TABLES;
  let c = ~crc >>> 0;
  let i = start;
  const end8 = end - ((end - start) & 7);
  while (i < end8) {
    const lo = (c ^ (bytes[i] | (bytes[i + 1] << 8) | (bytes[i + 2] << 16) | (bytes[i + 3] << 24))) >>> 0;
    c =
      t7[lo & 0xff] ^
      t6[(lo >>> 8) & 0xff] ^
      t5[(lo >>> 16) & 0xff] ^
      t4[lo >>> 24] ^
      t3[bytes[i + 4]] ^
      t2[bytes[i + 5]] ^
      t1[bytes[i + 6]] ^
      t0[bytes[i + 7]];
    i += 8;
  }
  while (i < end) c = t0[(c ^ bytes[i++]) & 0xff] ^ (c >>> 8);
  return ~c >>> 0;
}

// ————————————————————————————————————————— combining
// crc(A ‖ B) from crc(A), crc(B) and |B| alone (zlib's crc32_combine, for this polynomial): one
// pass over a tensor yields both each chunk's CRC (a frame's CRC is its head's combined with its
// data's) and the whole tensor's. In GF(2)[x] mod P: crc(A ‖ B) = crc(A)·x^(8|B|) + crc(B), the
// init and final XOR cancelling as they are equal.

/** a(x)·b(x) mod P(x), reflected (bit 31 is x⁰). */
function multModP(a: number, b: number): number {
  let p = 0;
  for (let m = 0x80000000; m !== 0; m >>>= 1) {
    if (a & m) {
      p ^= b;
      if ((a & (m - 1)) === 0) break;
    }
    b = b & 1 ? (b >>> 1) ^ POLY_REFLECTED : b >>> 1;
  }
  return p >>> 0;
}

/** x^(2^k) mod P for k = 0..31. */
const X2N: Uint32Array = (() => {
  const t = new Uint32Array(32);
  let p = 0x40000000; // x¹
  for (let k = 0; k < 32; k++) {
    t[k] = p;
    p = multModP(p, p);
  }
  return t;
})();

/** x^(8·bytes) mod P, the factor that moves a CRC past `bytes` bytes (a few lengths cached: chunks repeat theirs). */
const shiftCache = new Map<number, number>();
function shiftOperator(bytes: number): number {
  let p = shiftCache.get(bytes);
  if (p !== undefined) return p;
  p = 0x80000000; // x⁰
  for (let n = bytes, k = 3; n > 0; n = Math.floor(n / 2), k++) if (n % 2) p = multModP(X2N[k & 31], p);
  if (shiftCache.size >= 8) shiftCache.clear();
  shiftCache.set(bytes, p);
  return p;
}

/** The CRC-32C of A ‖ B from crcA = crc32c(A), crcB = crc32c(B) and B's length in bytes. */
export function crc32cCombine(crcA: number, crcB: number, lengthB: number): number {
  return (multModP(shiftOperator(lengthB), crcA) ^ crcB) >>> 0;
}
