// CRC-32C (catalogue name CRC-32/ISCSI; Castagnoli polynomial 0x1EDC6F41, reflected 0x82F63B78,
// init 0xFFFFFFFF, refin/refout true, xorout 0xFFFFFFFF, check "123456789" → 0xE3069283).
// Slicing-by-8: eight 256-entry tables let the hot loop consume 8 bytes per iteration.

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

/**
 * Continues a CRC-32C over `bytes[start, end)`. Pass the previous return value as `crc` to
 * checksum data that arrives in pieces; start with 0 (the init/xorout handling is internal).
 */
export function crc32c(bytes: Uint8Array, crc = 0, start = 0, end = bytes.length): number {
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
