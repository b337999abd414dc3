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
  let codeAt = dstOffset;
  let out = dstOffset + 1;
  let code = 1;
  for (let i = 0; i < src.length; i++) {
    const b = src[i];
    if (b === 0) {
      dst[codeAt] = code;
      codeAt = out++;
      code = 1;
    } else {
      dst[out++] = b;
      if (++code === 0xff) {
        dst[codeAt] = code;
        // a full block that ends the input is not followed by an empty 0x01 block
        if (i === src.length - 1) return out - dstOffset;
        codeAt = out++;
        code = 1;
      }
    }
  }
  dst[codeAt] = code;
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
