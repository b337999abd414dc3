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
  // Runs between zeros are found with indexOf and copied in blocks of ≤ 254 bytes.
  const n = src.length;
  let out = dstOffset;
  let i = 0;
  for (;;) {
    let z = src.indexOf(0, i);
    if (z < 0) z = n;
    // emit the run src[i, z) as full 254-byte blocks plus a final block closed by the zero (or end)
    while (z - i >= 254) {
      dst[out++] = 0xff;
      dst.set(src.subarray(i, i + 254), out);
      out += 254;
      i += 254;
      // a full block that ends the input is not followed by an empty 0x01 block
      if (i === n) return out - dstOffset;
    }
    const len = z - i;
    dst[out++] = len + 1;
    if (len < 16) for (let k = 0; k < len; k++) dst[out++] = src[i + k];
    else {
      dst.set(src.subarray(i, z), out);
      out += len;
    }
    if (z >= n) return out - dstOffset;
    i = z + 1;
  }
}

/**
 * cobsEncodeInto over the concatenation of `parts`, without concatenating them: a frame's header,
 * payload pieces and CRC trailer go straight into `dst`. A run is scanned byte by byte for its
 * first 16 bytes (zero-dense data such as a real Jacobian, ~75 % zero bytes, would pay a native
 * indexOf call per zero); a longer zero-free run is found with indexOf and copied whole.
 */
export function cobsEncodePartsInto(parts: readonly Uint8Array[], dst: Uint8Array, dstOffset = 0): number {
  let total = 0;
  for (const p of parts) total += p.length;
  let out = dstOffset;
  let codeAt = out++;
  let run = 0;
  let consumed = 0;
  for (const src of parts) {
    const n = src.length;
    let i = 0;
    while (i < n) {
      if (src[i] === 0) {
        dst[codeAt] = run + 1;
        codeAt = out++;
        run = 0;
        i++;
        consumed++;
        continue;
      }
      let z = i + 1;
      const scan = Math.min(n, i + 16);
      while (z < scan && src[z] !== 0) z++;
      if (z === scan && z < n) {
        z = src.indexOf(0, z);
        if (z < 0) z = n;
      }
      // the zero-free run src[i, z), cut into blocks of at most 254 bytes
      while (i < z) {
        const take = Math.min(254 - run, z - i);
        if (take < 16) for (let k = 0; k < take; k++) dst[out++] = src[i + k];
        else {
          dst.set(src.subarray(i, i + take), out);
          out += take;
        }
        i += take;
        run += take;
        consumed += take;
        if (run === 254) {
          dst[codeAt] = 0xff;
          // a full block that ends the input is not followed by an empty 0x01 block
          if (consumed === total) return out - dstOffset;
          codeAt = out++;
          run = 0;
        }
      }
    }
  }
  dst[codeAt] = run + 1;
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
