// Layered curvature input on the host: shape checks (so a bad call fails before anything is
// sent) and the expansion to the explicit factored J, which is what the driver sends to a device
// without the 'layered-curvature' feature. The expansion is the definition of the layered form's
// J (PROTOCOL.md §6.4.3): every entry is one product D·A (or a copy), so it is exact.
import { checkVector } from './convert.ts';
import { ArgumentError } from './errors.ts';
import type { LayerBlockInput } from './types.ts';

type LayeredInput = { n: number; r: number; b: number; layers: LayerBlockInput[] };

function checkCount(name: string, v: unknown, min = 1): asserts v is number {
  if (typeof v !== 'number' || !Number.isInteger(v) || v < min) throw new ArgumentError(`${name} must be an integer ≥ ${min}, got ${String(v)}`);
}

/** Columns of J a layer block covers. */
export function layerCols(l: LayerBlockInput): number {
  return l.kind === 'explicit' ? l.cols : l.nOut * l.nIn + (l.bias ? l.nOut : 0);
}

/**
 * Checks the layered structure against n, r, b: r a multiple of b, every block's tensors of the
 * right length and finite, Σ cols = n. Throws ArgumentError naming the first problem.
 */
export function checkLayered(input: LayeredInput, maxLayers = Infinity): void {
  const { n, r, b, layers } = input;
  checkCount('n', n);
  checkCount('r', r);
  checkCount('b', b);
  if (r % b !== 0) throw new ArgumentError(`r = ${r} must be a multiple of b = ${b} (r = b·m rows, m per sample)`);
  if (!Array.isArray(layers) || layers.length === 0) throw new ArgumentError('layers must be a non-empty array');
  if (layers.length > maxLayers) throw new ArgumentError(`${layers.length} layers exceed the limit of ${maxLayers}`);
  let cols = 0;
  layers.forEach((l, i) => {
    const at = `layers[${i}]`;
    if (!l || typeof l !== 'object') throw new ArgumentError(`${at} must be an object`);
    if (l.kind === 'explicit') {
      checkCount(`${at}.cols`, l.cols);
      checkVector(`${at}.J`, l.J, r * l.cols);
    } else if (l.kind === 'dense') {
      checkCount(`${at}.nIn`, l.nIn);
      checkCount(`${at}.nOut`, l.nOut);
      if (typeof l.bias !== 'boolean') throw new ArgumentError(`${at}.bias must be a boolean`);
      checkVector(`${at}.A`, l.A, b * l.nIn);
      checkVector(`${at}.D`, l.D, r * l.nOut);
    } else throw new ArgumentError(`${at}.kind must be 'explicit' or 'dense', got ${String((l as { kind: unknown }).kind)}`);
    cols += layerCols(l);
  });
  if (cols !== n) throw new ArgumentError(`the layers cover ${cols} columns, expected n = ${n}`);
}

/** The explicit J (r × n, row-major) a checked layered input stands for. */
export function expandLayered(input: LayeredInput): Float64Array {
  const { n, r, b, layers } = input;
  const m = r / b;
  const J = new Float64Array(r * n);
  let c0 = 0;
  for (const l of layers) {
    if (l.kind === 'explicit') {
      const { cols, J: block } = l;
      for (let row = 0; row < r; row++) {
        const dst = row * n + c0;
        const src = row * cols;
        for (let k = 0; k < cols; k++) J[dst + k] = block[src + k];
      }
    } else {
      const { nIn, nOut, bias, A, D } = l;
      const biasAt = c0 + nOut * nIn;
      for (let row = 0; row < r; row++) {
        const a0 = Math.floor(row / m) * nIn;
        const base = row * n;
        for (let j = 0; j < nOut; j++) {
          const d = D[row * nOut + j];
          const dst = base + c0 + j * nIn;
          for (let t = 0; t < nIn; t++) J[dst + t] = d * A[a0 + t];
          if (bias) J[base + biasAt + j] = d;
        }
      }
    }
    c0 += layerCols(l);
  }
  return J;
}
