// Deterministic elementary functions built only from IEEE-754 + − × ÷ √, floor and bit
// extraction, evaluated in a fixed order (no fused multiply-add). Every engine and every C/Python
// port following firmware-spec/EMULATOR.md gets the same bits; Math.exp/log are not used because
// libms differ in the last bit.

const f64 = new Float64Array(1);
const u32 = new Uint32Array(f64.buffer);
const HI = new Uint8Array(new Uint16Array([1]).buffer)[0] === 1 ? 1 : 0; // little-endian → word 1
const LO = 1 - HI;

/** ln 2 split so that k·LN2_HI is exact for |k| < 2^11. */
export const LN2_HI = 0.6931471803691238;
export const LN2_LO = 1.9082149292705877e-10;
const INV_LN2 = 1.4426950408889634;
const SQRT2 = 1.4142135623730951;

// Nearest doubles to 1/(2j+1), j = 1..11 (atanh series of log) and 1/(j+2)!, j = 0..12 (expm1).
const ATANH_C: number[] = [];
for (let j = 1; j <= 11; j++) ATANH_C.push(1 / (2 * j + 1));
const EXP_C: number[] = [];
{
  let f = 1;
  for (let j = 2; j <= 14; j++) {
    f = f * j; // exact: 14! < 2^53
    EXP_C.push(1 / f);
  }
}

/** 2^k as a double for −1022 ≤ k ≤ 1023 (exact, from bits). */
export function pow2(k: number): number {
  u32[HI] = (k + 1023) << 20;
  u32[LO] = 0;
  return f64[0];
}

/** Natural log of a positive normal double; deterministic (≈1 ulp). Returns NaN/−Inf outside. */
export function logDet(x: number): number {
  if (!(x > 0)) return x === 0 ? -Infinity : NaN;
  if (x === Infinity) return Infinity;
  let scaleK = 0;
  if (x < 2.2250738585072014e-308) {
    x = x * 18014398509481984; // 2^54, exact, lifts subnormals
    scaleK = -54;
  }
  f64[0] = x;
  const hi = u32[HI];
  let e = ((hi >>> 20) & 0x7ff) - 1023 + scaleK;
  u32[HI] = (hi & 0x000fffff) | 0x3ff00000;
  let m = f64[0]; // [1, 2)
  if (m > SQRT2) {
    m = m * 0.5;
    e = e + 1;
  }
  return logReduced(m, e);
}

/** e·ln2 + log(m) for m ∈ [√½, √2] (the common tail of logDet). */
function logReduced(m: number, e: number): number {
  const f = m - 1;
  const s = f / (2 + f);
  const s2 = s * s;
  let p = ATANH_C[10];
  for (let j = 9; j >= 0; j--) p = p * s2 + ATANH_C[j];
  const twoS = s * 2;
  const logm = twoS + twoS * (s2 * p);
  return e * LN2_HI + (e * LN2_LO + logm);
}

// 2^−e for e = −1..31, exact (repeated halving).
const POW2_NEG: number[] = [];
for (let e = -1, v = 2; e <= 31; e++, v = v * 0.5) POW2_NEG.push(v);

/**
 * logDet((w + ½)·2^−32) for a 32-bit word w, bit-identical to logDet of that double but with
 * the exponent taken from the integer (no float bit access): the hot path of the Gaussian tail.
 */
export function logWordUniform(w: number): number {
  const e = w === 0 ? -1 : 31 - Math.clz32(w);
  let m = (w + 0.5) * POW2_NEG[e + 1]; // exact, in [1, 2)
  let ee = e - 32;
  if (m > SQRT2) {
    m = m * 0.5;
    ee = ee + 1;
  }
  return logReduced(m, ee);
}

/** e^r − 1 for |r| ≤ ~0.35 by its Taylor series (Horner, 13 coefficients). */
function expm1Small(r: number): number {
  let p = EXP_C[12];
  for (let j = 11; j >= 0; j--) p = p * r + EXP_C[j];
  return r + (r * r) * p;
}

/** e^x, deterministic (a few ulp). */
export function expDet(x: number): number {
  if (x !== x) return NaN;
  if (x < -745.2) return 0;
  if (x > 709.78) return Infinity;
  const k = Math.floor(x * INV_LN2 + 0.5);
  const r = (x - k * LN2_HI) - k * LN2_LO;
  const y = 1 + expm1Small(r);
  if (k >= -1022) return y * pow2(k);
  return (y * pow2(k + 600)) * pow2(-600);
}

/** e^x − 1 without cancellation for small |x|. */
export function expm1Det(x: number): number {
  if (x > -0.34657359 && x < 0.34657359) return expm1Small(x);
  return expDet(x) - 1;
}

/** (1 − e^{−z}) for z ≥ 0, accurate for small z. */
export function oneMinusExpNeg(z: number): number {
  return -expm1Det(-z);
}

/** Round half to even (IEEE roundTiesToEven) of a double with |y| < 2^52. */
export function roundHalfEven(y: number): number {
  const f = Math.floor(y);
  const d = y - f; // exact
  if (d > 0.5) return f + 1;
  if (d < 0.5) return f;
  return f % 2 === 0 ? f : f + 1;
}

/** Smallest power of two strictly greater than m > 0 (m finite). */
export function pow2Above(m: number): number {
  f64[0] = m;
  const e = ((u32[HI] >>> 20) & 0x7ff) - 1023;
  if (e < -1022) return pow2(-1021); // subnormal input: any tiny power above it
  return pow2(e + 1);
}

// Wichura, Algorithm AS 241 (PPND16), Appl. Statist. 37 (1988) 477-484: rational
// approximations of the standard normal quantile, relative accuracy ~1e-16.
const A0 = 3.3871328727963665, A1 = 133.14166789178438, A2 = 1971.5909503065513;
const A3 = 13731.69376550946, A4 = 45921.95393154987, A5 = 67265.7709270087;
const A6 = 33430.57558358813, A7 = 2509.0809287301227;
const B1 = 42.31333070160091, B2 = 687.1870074920579, B3 = 5394.196021424751;
const B4 = 21213.794301586597, B5 = 39307.89580009271, B6 = 28729.085735721943;
const B7 = 5226.495278852854;
const C0 = 1.4234371107496835, C1 = 4.630337846156546, C2 = 5.769497221460691;
const C3 = 3.6478483247632045, C4 = 1.2704582524523684, C5 = 0.2417807251774506;
const C6 = 0.022723844989269184, C7 = 7.745450142783414e-4;
const D1 = 2.053191626637759, D2 = 1.6763848301838038, D3 = 0.6897673349851;
const D4 = 0.14810397642748008, D5 = 0.015198666563616457, D6 = 5.475938084995345e-4;
const D7 = 1.0507500716444169e-9;
const E0 = 6.657904643501103, E1 = 5.463784911164114, E2 = 1.7848265399172913;
const E3 = 0.29656057182850487, E4 = 0.026532189526576124, E5 = 0.0012426609473880784;
const E6 = 2.7115555687434876e-5, E7 = 2.0103343992922881e-7;
const F1 = 0.599832206555888, F2 = 0.1369298809227358, F3 = 0.014875361290850615;
const F4 = 7.868691311456133e-4, F5 = 1.8463183175100548e-5, F6 = 1.421511758316446e-7;
const F7 = 2.0442631033899397e-15;

/** Rational tail of AS 241 for r = √(−log p), p the tail probability. */
/** AS 241's central region |q| ≤ 0.425, q = u − ½. */
function central(q: number): number {
  const r = 0.180625 - q * q;
  const num = (((((((A7 * r + A6) * r + A5) * r + A4) * r + A3) * r + A2) * r + A1) * r + A0);
  const den = (((((((B7 * r + B6) * r + B5) * r + B4) * r + B3) * r + B2) * r + B1) * r + 1);
  return (q * num) / den;
}

function tail(r: number): number {
  if (r <= 5) {
    r = r - 1.6;
    const num = (((((((C7 * r + C6) * r + C5) * r + C4) * r + C3) * r + C2) * r + C1) * r + C0);
    const den = (((((((D7 * r + D6) * r + D5) * r + D4) * r + D3) * r + D2) * r + D1) * r + 1);
    return num / den;
  }
  r = r - 5;
  const num = (((((((E7 * r + E6) * r + E5) * r + E4) * r + E3) * r + E2) * r + E1) * r + E0);
  const den = (((((((F7 * r + F6) * r + F5) * r + F4) * r + F3) * r + F2) * r + F1) * r + 1);
  return num / den;
}

/** normInv((w + ½)·2^−32), bit-identical to normInv(wordToUniform(w)); w a 32-bit word. */
export function normInvWord(w: number): number {
  const u = (w + 0.5) * 2.3283064365386963e-10;
  const q = u - 0.5;
  if (q >= -0.425 && q <= 0.425) return central(q);
  // the tail probability min(u, 1 − u) is (w* + ½)·2^−32 with w* = w or its complement (exact)
  const v = tail(Math.sqrt(-logWordUniform(q < 0 ? w : 4294967295 - w)));
  return q < 0 ? -v : v;
}

/** Standard normal quantile Φ⁻¹(u), 0 < u < 1, with logDet in the tails. */
export function normInv(u: number): number {
  const q = u - 0.5;
  if (q >= -0.425 && q <= 0.425) return central(q);
  const v = tail(Math.sqrt(-logDet(q < 0 ? u : 1 - u)));
  return q < 0 ? -v : v;
}

/** √(x² + y²) without overflow, from + − × ÷ √ only (Math.hypot varies between engines). */
export function hypotDet(x: number, y: number): number {
  const ax = Math.abs(x);
  const ay = Math.abs(y);
  const m = ax > ay ? ax : ay;
  if (m === 0) return 0;
  const u = ax / m;
  const v = ay / m;
  return m * Math.sqrt(u * u + v * v);
}
