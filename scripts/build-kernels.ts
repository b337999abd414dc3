// Assembles src/emulator/physics/kernels/kernels.wat into kernels.wasm with wabt (an npm package:
// WebAssembly, nothing downloaded). `npx tsx scripts/build-kernels.ts` rewrites the committed
// binary; test/emulator-physics/kernels.test.ts rebuilds it and requires identical bytes.
import { readFileSync, writeFileSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import wabtInit from 'wabt';

export const WAT_URL = new URL('../src/emulator/physics/kernels/kernels.wat', import.meta.url);
export const WASM_URL = new URL('../src/emulator/physics/kernels/kernels.wasm', import.meta.url);

/** The binary for the WAT source: SIMD on, no other post-MVP feature, no names section. */
export async function assembleKernels(): Promise<Uint8Array> {
  const wabt = await wabtInit();
  const mod = wabt.parseWat('kernels.wat', readFileSync(WAT_URL, 'utf8'), { simd: true, bulk_memory: true });
  try {
    mod.validate();
    return Uint8Array.from(mod.toBinary({ log: false, write_debug_names: false }).buffer);
  } finally {
    mod.destroy();
  }
}

if (process.argv[1] && fileURLToPath(import.meta.url) === process.argv[1]) {
  const bytes = await assembleKernels();
  writeFileSync(WASM_URL, bytes);
  console.log(`kernels.wasm: ${bytes.length} bytes`);
}
