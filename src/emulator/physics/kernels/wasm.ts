// Loads the committed f64x2 kernels (kernels.wasm, assembled from kernels.wat) once per process.
// Returns null where WebAssembly SIMD is unavailable (or TNGD_SCALAR_KERNELS=1 asks for the
// scalar reference): callers then use kernels/scalar.ts, which gives the same bits.
import { readFileSync } from 'node:fs';

export interface WasmKernels {
  jx(P: number, p0: number, p1: number, n: number, j0: number, j1: number, x: number, xs: number, out: number, cont: number): void;
  jx2(P: number, p0: number, p1: number, n: number, j0: number, j1: number, x: number, out0: number, out1: number, cont: number): void;
  nzidx(x: number, j0: number, j1: number, list: number): number;
  jxl(P: number, p0: number, p1: number, n: number, j0: number, list: number, cnt: number, x: number, out: number, cont: number): void;
  jx4(P: number, np: number, n: number, v: number, out: number): void;
  jtw(P: number, np: number, n: number, w: number, out: number): void;
  axpy(out: number, c: number, x: number, n: number): void;
  vadd(out: number, x: number, n: number): void;
  euler(x: number, ax: number, g: number, z: number, n: number, dt: number, sigma: number, noise: number, sat: number, fs: number): number;
  symv(A: number, n: number, k1: number, v: number, p: number): void;
  rank2(A: number, n: number, k1: number, v: number, w: number): void;
  hhacc(Q: number, n: number, np: number, V: number, B: number, K: number, nk: number): void;
  rotapply(Q: number, n: number, np: number, S: number, ns: number, CS: number): void;
  unpair(Q: number, n: number, np: number, out: number): void;
  qrsweep(d: number, e: number, l: number, m: number, cs: number): void;
  tridiag(A: number, n: number, B: number, K: number, p: number): number;
  qrdrive(d: number, e: number, n: number, Q: number, np: number, S: number, CS: number, cap: number): number;
  ktl(K: number, r: number, Lc: number, lo: number, b: number, p: number, M: number, T: number): void;
  rlw(Lc: number, lo: number, b: number, p: number, r: number, W: number, keep: number, q: number, inv: number, Wk: number, R: number): void;
  gauss(out: number, n: number, k0: number, k1: number, c1: number, c2: number, c3: number, first: number): void;
}

// The project's lib settings (no DOM) do not declare the WebAssembly globals; the three used here.
interface WasmApi {
  Module: new (bytes: Uint8Array) => object;
  Instance: new (mod: object, imports: object) => { exports: unknown };
  Memory: new (d: { initial: number }) => { buffer: ArrayBuffer };
}
const WA = (globalThis as unknown as { WebAssembly?: WasmApi }).WebAssembly;

export const KERNELS_WASM_URL = new URL('./kernels.wasm', import.meta.url);

let compiled: object | null | undefined;

function module(): object | null {
  if (compiled !== undefined) return compiled;
  if (!WA) return (compiled = null);
  try {
    compiled = process.env.TNGD_SCALAR_KERNELS === '1' ? null : new WA.Module(readFileSync(KERNELS_WASM_URL));
  } catch {
    compiled = null; // no SIMD in this engine: the scalar reference
  }
  return compiled;
}

/** A kernel instance over `bytes` of fresh memory (never grown, so views on it stay valid). */
export function instantiate(bytes: number): { memory: ArrayBuffer; kernels: WasmKernels | null } {
  const mod = module();
  if (!mod || !WA) return { memory: new ArrayBuffer(bytes), kernels: null };
  const mem = new WA.Memory({ initial: Math.max(1, Math.ceil(bytes / 65536)) });
  const inst = new WA.Instance(mod, { env: { mem } });
  return { memory: mem.buffer, kernels: inst.exports as unknown as WasmKernels };
}
