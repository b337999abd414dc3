// Structural check of a payload's raw MessagePack bytes (PROTOCOL.md §5), before any decoder sees
// them: one value, plain families only (no 0xC1 or extension type byte), map keys that are UTF-8
// strings and unique within their map, every str valid UTF-8, nesting ≤ 64. A decoder such as
// msgpackr would otherwise turn a bin or int key into a property name, replace invalid UTF-8 with
// U+FFFD and let the last of two equal keys win — all silently. Bin contents are skipped unread,
// so a 0xC1 byte inside tensor data is just data.

export class MsgpackCheckError extends TypeError {
  constructor(message: string, readonly offset: number) {
    super(`${message} at byte ${offset}`);
    this.name = 'MsgpackCheckError';
  }
}

/** Deepest nesting of arrays/maps accepted (the deepest message body nests 4). */
export const MAX_MSGPACK_DEPTH = 64;

const utf8 = new TextDecoder('utf-8', { fatal: true });

/** Maps up to this many keys (every message body) check duplicates by comparing bytes, no strings built. */
const SMALL_MAP = 16;

class Scanner {
  pos = 0;
  constructor(private readonly b: Uint8Array) {}

  private need(n: number): void {
    if (this.pos + n > this.b.length) throw new MsgpackCheckError('truncated MessagePack value', this.pos);
  }

  private uint(n: 1 | 2 | 4): number {
    this.need(n);
    const b = this.b;
    const p = this.pos;
    this.pos += n;
    if (n === 1) return b[p];
    if (n === 2) return (b[p] << 8) | b[p + 1];
    return ((b[p] << 24) >>> 0) + ((b[p + 1] << 16) | (b[p + 2] << 8) | b[p + 3]);
  }

  private skip(n: number): void {
    this.need(n);
    this.pos += n;
  }

  /**
   * Skips a str body of `len` bytes, checking it is UTF-8. ASCII (every key and enum value this
   * protocol defines) is valid as it stands, so the decoder is only asked about other bytes.
   */
  private str(len: number): void {
    const at = this.pos;
    this.need(len);
    this.pos += len;
    const b = this.b;
    for (let i = at; i < at + len; i++) {
      if (b[i] < 0x80) continue;
      try {
        utf8.decode(b.subarray(at, at + len));
      } catch {
        throw new MsgpackCheckError('str is not valid UTF-8', at);
      }
      return;
    }
  }

  /** A map key: must be a str (any width), valid UTF-8. Returns the offset of its bytes (length in keyLen). */
  private key(): number {
    const at = this.pos;
    this.need(1);
    const t = this.b[this.pos++];
    let len: number;
    if (t >= 0xa0 && t <= 0xbf) len = t & 0x1f;
    else if (t === 0xd9) len = this.uint(1);
    else if (t === 0xda) len = this.uint(2);
    else if (t === 0xdb) len = this.uint(4);
    else throw new MsgpackCheckError(`map key is not a str (type byte 0x${t.toString(16).padStart(2, '0')})`, at);
    const start = this.pos;
    this.str(len);
    this.keyLen = len;
    return start;
  }

  private keyLen = 0;

  /** Valid UTF-8 has one encoding per string, so equal keys are equal bytes: compared without building strings. */
  private sameBytes(p: number, q: number, len: number): boolean {
    const b = this.b;
    for (let i = 0; i < len; i++) if (b[p + i] !== b[q + i]) return false;
    return true;
  }

  private map(n: number, depth: number): void {
    if (n > SMALL_MAP) return this.bigMap(n, depth);
    const starts: number[] = [];
    const lens: number[] = [];
    for (let i = 0; i < n; i++) {
      const at = this.pos;
      const k = this.key();
      const len = this.keyLen;
      for (let j = 0; j < starts.length; j++) {
        if (lens[j] === len && this.sameBytes(starts[j], k, len))
          throw new MsgpackCheckError(`map key ${JSON.stringify(utf8.decode(this.b.subarray(k, k + len)))} appears twice`, at);
      }
      starts.push(k);
      lens.push(len);
      this.value(depth);
    }
  }

  /** Many keys: a set, so a hostile frame of thousands of keys costs linear, not quadratic, time. */
  private bigMap(n: number, depth: number): void {
    const seen = new Set<string>();
    for (let i = 0; i < n; i++) {
      const at = this.pos;
      const k = this.key();
      const name = utf8.decode(this.b.subarray(k, k + this.keyLen));
      if (seen.has(name)) throw new MsgpackCheckError(`map key ${JSON.stringify(name)} appears twice`, at);
      seen.add(name);
      this.value(depth);
    }
  }

  private array(n: number, depth: number): void {
    for (let i = 0; i < n; i++) this.value(depth);
  }

  value(depth: number): void {
    if (depth > MAX_MSGPACK_DEPTH) throw new MsgpackCheckError(`MessagePack nesting deeper than ${MAX_MSGPACK_DEPTH}`, this.pos);
    const at = this.pos;
    this.need(1);
    const t = this.b[this.pos++];
    if (t <= 0x7f || t >= 0xe0) return; // positive / negative fixint
    if (t <= 0x8f) return this.map(t & 0x0f, depth + 1);
    if (t <= 0x9f) return this.array(t & 0x0f, depth + 1);
    if (t <= 0xbf) return this.str(t & 0x1f);
    switch (t) {
      case 0xc0: // nil
      case 0xc2: // false
      case 0xc3: // true
        return;
      case 0xc4:
        return this.skip(this.uint(1)); // bin 8/16/32: contents are not inspected
      case 0xc5:
        return this.skip(this.uint(2));
      case 0xc6:
        return this.skip(this.uint(4));
      case 0xca:
        return this.skip(4); // float 32
      case 0xcb:
        return this.skip(8); // float 64
      case 0xcc:
      case 0xd0:
        return this.skip(1);
      case 0xcd:
      case 0xd1:
        return this.skip(2);
      case 0xce:
      case 0xd2:
        return this.skip(4);
      case 0xcf:
      case 0xd3:
        return this.skip(8);
      case 0xd9:
        return this.str(this.uint(1));
      case 0xda:
        return this.str(this.uint(2));
      case 0xdb:
        return this.str(this.uint(4));
      case 0xdc:
        return this.array(this.uint(2), depth + 1);
      case 0xdd:
        return this.array(this.uint(4), depth + 1);
      case 0xde:
        return this.map(this.uint(2), depth + 1);
      case 0xdf:
        return this.map(this.uint(4), depth + 1);
      case 0xc1:
        throw new MsgpackCheckError('type byte 0xc1 is never used by MessagePack', at);
      default: // 0xc7–0xc9 ext 8/16/32, 0xd4–0xd8 fixext
        throw new MsgpackCheckError(`extension type byte 0x${t.toString(16)} is not plain MessagePack`, at);
    }
  }
}

/** Throws MsgpackCheckError unless `bytes` is exactly one plain MessagePack value (§5). */
export function checkPlainMsgpack(bytes: Uint8Array): void {
  if (bytes.length === 0) throw new MsgpackCheckError('empty payload', 0);
  const s = new Scanner(bytes);
  s.value(0);
  if (s.pos !== bytes.length) throw new MsgpackCheckError(`${bytes.length - s.pos} trailing bytes after the value`, s.pos);
}
