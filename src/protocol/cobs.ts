// Consistent Overhead Byte Stuffing (Cheshire & Baker 1999). Encoded data contains no 0x00, so
// 0x00 can delimit frames. Block code c (1..255) is followed by c−1 non-zero bytes; a block with
// c < 255 that is not the last block of the frame stands for its bytes followed by one 0x00.
// Encoders emit no empty trailing block after a final 255 block; decoders accept one.

/** Upper bound on the encoded length of n bytes (without the 0x00 delimiter). */
export function cobsMaxEncodedLength(n: number): number {
  return n + Math.floor(n / 254) + 1;
}

/**
 * Encodes `src` into `dst` at `dstOffset`; returns the number of bytes written (no delimiter).
 * `dst` must have room for cobsMaxEncodedLength(src.length) bytes.
 */
export function cobsEncodeInto(src: Uint8Array, dst: Uint8Array, dstOffset = 0): number {
  return cobsEncodePartsInto([src], dst, dstOffset);
}

/**
 * cobsEncodeInto over the concatenation of `parts`, without concatenating them elsewhere: a
 * frame's header, payload pieces and CRC trailer are staged once (one copy each) at the end of
 * the room the output may take in `dst`, then encoded forward within `dst`. The output never
 * overtakes the staged input (it is at most ⌊n/254⌋ + 1 bytes longer, which is the head start),
 * so each block moves with copyWithin (a memmove inside one buffer: no view object per block,
 * which was most of the cost at ~250-byte blocks). A run is scanned byte by byte for its first
 * 16 bytes (zero-dense data such as a real Jacobian, ~60 % zero bytes, would pay a native indexOf
 * call per zero); a longer zero-free run is found with indexOf. `dst` must have room for
 * cobsMaxEncodedLength(total) bytes from dstOffset.
 */
export function cobsEncodePartsInto(parts: readonly Uint8Array[], dst: Uint8Array, dstOffset = 0): number {
  let total = 0;
  for (const p of parts) total += p.length;
  const room = cobsMaxEncodedLength(total);
  if (dst.length - dstOffset < room) throw new RangeError(`COBS output needs ${room} bytes, ${dst.length - dstOffset} available`);
  const end = dstOffset + room;
  // a Buffer view bounded at the staged input's end (Buffer's indexOf is the fast one)
  const d = Buffer.from(dst.buffer, dst.byteOffset, end);
  let r = end - total;
  for (const p of parts) {
    d.set(p, r);
    r += p.length;
  }
  r = end - total;
  let out = dstOffset;
  let codeAt = out++;
  let run = 0;
  while (r < end) {
    if (d[r] === 0) {
      d[codeAt] = run + 1;
      codeAt = out++;
      run = 0;
      r++;
      continue;
    }
    let z = r + 1;
    const scan = Math.min(end, r + 16);
    while (z < scan && d[z] !== 0) z++;
    if (z === scan && z < end) {
      z = d.indexOf(0, z);
      if (z < 0) z = end;
    }
    // the zero-free run d[r, z), cut into blocks of at most 254 bytes
    while (r < z) {
      const take = Math.min(254 - run, z - r);
      if (take < 16) for (let k = 0; k < take; k++) d[out++] = d[r + k];
      else {
        d.copyWithin(out, r, r + take);
        out += take;
      }
      r += take;
      run += take;
      if (run === 254) {
        d[codeAt] = 0xff;
        // a full block that ends the input is not followed by an empty 0x01 block
        if (r === end) return out - dstOffset;
        codeAt = out++;
        run = 0;
      }
    }
  }
  d[codeAt] = run + 1;
  return out - dstOffset;
}

export function cobsEncode(src: Uint8Array): Buffer {
  const dst = Buffer.allocUnsafe(cobsMaxEncodedLength(src.length));
  const n = cobsEncodeInto(src, dst);
  return dst.subarray(0, n);
}

/**
 * Decodes one complete COBS block sequence (no delimiter). Returns null when the input is not
 * valid COBS (contains 0x00, or a block code runs past the end).
 */
export function cobsDecode(src: Uint8Array): Buffer | null {
  const dst = Buffer.allocUnsafe(src.length);
  let i = 0;
  let out = 0;
  while (i < src.length) {
    const code = src[i++];
    if (code === 0) return null;
    const end = i + code - 1;
    if (end > src.length) return null;
    for (; i < end; i++) {
      const b = src[i];
      if (b === 0) return null;
      dst[out++] = b;
    }
    if (code !== 0xff && i < src.length) dst[out++] = 0;
  }
  return dst.subarray(0, out);
}
