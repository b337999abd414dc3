#!/usr/bin/env python3
"""Decode every golden frame following firmware-spec/PROTOCOL.md "Speak it by hand" only:
a COBS routine, a CRC-32C routine and a MessagePack decoder (stock `msgpack` if installed,
otherwise the minimal one below). Also recomputes the schema fingerprint. Standard library only.
Usage: by_hand.py <firmware-spec dir>; prints a JSON summary, exits non-zero on any mismatch."""
import hashlib, json, os, struct, sys

def cobs_decode(enc):
    out, i = bytearray(), 0
    while i < len(enc):
        code = enc[i]; i += 1
        if code == 0 or i + code - 1 > len(enc): raise ValueError("bad COBS")
        out += enc[i:i + code - 1]; i += code - 1
        if code != 0xFF and i < len(enc): out.append(0)
    return bytes(out)

def crc32c(data):
    c = 0xFFFFFFFF
    for b in data:
        c ^= b
        for _ in range(8): c = (c >> 1) ^ 0x82F63B78 if c & 1 else c >> 1
    return c ^ 0xFFFFFFFF

def unpack(b, i=0):  # minimal MessagePack: returns (value, next index)
    t = b[i]; i += 1
    if t <= 0x7F: return t, i
    if t >= 0xE0: return t - 0x100, i
    if 0xA0 <= t <= 0xBF: n = t & 0x1F; return b[i:i + n].decode(), i + n
    if 0x90 <= t <= 0x9F or t in (0xDC, 0xDD):
        n, i = (t & 0x0F, i) if t <= 0x9F else (struct.unpack_from(">H" if t == 0xDC else ">I", b, i)[0], i + (2 if t == 0xDC else 4))
        out = []
        for _ in range(n): v, i = unpack(b, i); out.append(v)
        return out, i
    if 0x80 <= t <= 0x8F or t in (0xDE, 0xDF):
        n, i = (t & 0x0F, i) if t <= 0x8F else (struct.unpack_from(">H" if t == 0xDE else ">I", b, i)[0], i + (2 if t == 0xDE else 4))
        out = {}
        for _ in range(n): k, i = unpack(b, i); v, i = unpack(b, i); out[k] = v
        return out, i
    if t == 0xC0: return None, i
    if t in (0xC2, 0xC3): return t == 0xC3, i
    fixed = {0xCA: ">f", 0xCB: ">d", 0xCC: ">B", 0xCD: ">H", 0xCE: ">I", 0xCF: ">Q", 0xD0: ">b", 0xD1: ">h", 0xD2: ">i", 0xD3: ">q"}
    if t in fixed: return struct.unpack_from(fixed[t], b, i)[0], i + struct.calcsize(fixed[t])
    lens = {0xC4: ">B", 0xC5: ">H", 0xC6: ">I", 0xD9: ">B", 0xDA: ">H", 0xDB: ">I"}
    if t in lens:
        n = struct.unpack_from(lens[t], b, i)[0]; i += struct.calcsize(lens[t])
        raw = bytes(b[i:i + n])
        return (raw if t <= 0xC6 else raw.decode()), i + n
    raise ValueError("unsupported MessagePack byte 0x%02x" % t)

try:
    import msgpack  # a stock decoder, when present
    def decode_payload(p): return msgpack.unpackb(p, raw=False, strict_map_key=False), "msgpack " + msgpack.version.__repr__()
except ImportError:
    def decode_payload(p):
        v, end = unpack(p)
        if end != len(p): raise ValueError("trailing bytes")
        return v, "minimal"

def json_form(v):  # bins as hex, like the vector files
    if isinstance(v, bytes): return v.hex()
    if isinstance(v, list): return [json_form(x) for x in v]
    if isinstance(v, dict): return {k: json_form(x) for k, x in v.items()}
    return v

spec = sys.argv[1]
vec_dir = os.path.join(spec, "vectors", "protocol", "messages")
checked, problems, decoder = 0, [], None
for name in sorted(os.listdir(vec_dir)):
    v = json.load(open(os.path.join(vec_dir, name), encoding="utf-8"))
    frame = bytes.fromhex(v["frameHex"])
    assert frame[-1] == 0 and 0 not in frame[:-1]
    inner = cobs_decode(frame[:-1])
    if crc32c(inner[:-4]) != struct.unpack_from("<I", inner, len(inner) - 4)[0]: problems.append(name + ": CRC"); continue
    version, flags, mtype, req_id = struct.unpack_from("<BBHI", inner, 0)
    if (version, flags, mtype, req_id) != (1, v["flags"], v["type"], v["requestId"]): problems.append(name + ": header")
    body, decoder = decode_payload(inner[8:-4])
    if json_form(body) != v["message"]["body"]: problems.append(name + ": body")
    checked += 1

bundle = json.load(open(os.path.join(spec, "schemas", "protocol.schema.json"), encoding="utf-8"))
canon = json.dumps(bundle, sort_keys=True, separators=(",", ":"), ensure_ascii=False)
fingerprint = hashlib.sha256(canon.encode("utf-8")).hexdigest()[:16]
expected_fp = open(os.path.join(spec, "schemas", "FINGERPRINT")).read().strip()
if fingerprint != expected_fp: problems.append("fingerprint %s != %s" % (fingerprint, expected_fp))
print(json.dumps({"checked": checked, "decoder": decoder, "fingerprint": fingerprint, "problems": problems}))
sys.exit(1 if problems else 0)
