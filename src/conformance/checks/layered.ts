// PROTOCOL.md §7.4.2 (since 1.3): the layered curvature form, on devices that list
// 'layered-curvature'. Its A is that of the factored form with the J the layers spell out, and a
// malformed layered request is refused with the documented errors, leaving the previous A in force.
import { ErrorCode } from '../../protocol/index.ts';
import type { RequestBody } from '../../protocol/index.ts';
import type { CurvatureInput, LayerBlockInput, RunResult } from '../../driver/types.ts';
import type { CheckContext } from '../context.ts';
import { f64, rawF64 } from '../context.ts';
import type { CheckDef } from '../types.ts';

// Dense 3→2 with bias (8 columns) then an explicit block of 2 columns: N = 10; b = 2, m = 2, r = 4.
const B = 2;
const R = 4;
const A0 = [1, 0.5, -0.5, 0.25, -1, 0.75];
const D0 = [0.5, -0.25, 0.25, 0.5, -0.5, 0.25, 0.75, -0.25];
const J1 = [0.5, 0, 0, 0.5, -0.25, 0.25, 0.25, 0.5];
const N = 10;
const LAYERS: LayerBlockInput[] = [
  { kind: 'dense', nIn: 3, nOut: 2, bias: true, A: A0, D: D0 },
  { kind: 'explicit', cols: 2, J: J1 },
];
const G = Float64Array.from({ length: N }, (_, i) => ((i % 4) - 1.5) / 4);

/** The explicit J of LAYERS (PROTOCOL.md §7.4.2), written out by the definition. */
function explicitJ(): Float64Array {
  const J = new Float64Array(R * N);
  for (let row = 0; row < R; row++) {
    const s = Math.floor(row / (R / B));
    for (let j = 0; j < 2; j++) {
      for (let t = 0; t < 3; t++) J[row * N + j * 3 + t] = D0[row * 2 + j] * A0[s * 3 + t];
      J[row * N + 6 + j] = D0[row * 2 + j];
    }
    for (let k = 0; k < 2; k++) J[row * N + 8 + k] = J1[row * 2 + k];
  }
  return J;
}

const common = { n: N, r: R, core: { kind: 'identity' as const }, scale: 1, lambda: 0.5 };
const layered: CurvatureInput = { form: 'layered', b: B, layers: LAYERS, ...common };
const factored: CurvatureInput = { form: 'factored', J: explicitJ(), ...common };

async function solve(ctx: CheckContext, c: CurvatureInput): Promise<RunResult> {
  await ctx.dev.uploadCurvature(c);
  await ctx.request('Gradient', { g: f64(G, [N]) });
  await ctx.request('Run', { durationTau: 40, start: 'reset' });
  return ctx.dev.results();
}

const relDiff = (a: ArrayLike<number>, b: ArrayLike<number>): number => {
  let num = 0;
  let den = 0;
  for (let i = 0; i < a.length; i++) {
    num = Math.max(num, Math.abs(a[i] - b[i]));
    den = Math.max(den, Math.abs(b[i]));
  }
  return num / den;
};

/** A well-formed inline layered body, for spoiling one field at a time. */
function body(): Extract<RequestBody<'Curvature'>, { form: 'layered' }> {
  return {
    form: 'layered',
    ...common,
    b: B,
    layers: [
      { kind: 'dense', bias: true, a: f64(A0, [B, 3]), d: f64(D0, [R, 2]) },
      { kind: 'explicit', j: f64(J1, [R, 2]) },
    ],
  };
}

const noLayered = (ctx: CheckContext): string | null => (ctx.has('layered-curvature') ? null : "the device does not list 'layered-curvature'");

export const layeredChecks: CheckDef[] = [
  {
    id: 'layered.equivalence',
    title: 'A layered curvature acts as the factored one with its explicit J (same solution)',
    skip: noLayered,
    async run(ctx) {
      await ctx.fresh();
      await ctx.configure({ kappa0: ctx.kappa(0), burnInTau: 20, samplePeriodTau: 0.5 });
      const a = await solve(ctx, layered);
      const b = await solve(ctx, factored);
      const d = relDiff(a.mean!, b.mean!);
      // noise-free emulators agree to rounding; an analog device within its own run-to-run spread
      const tol = ctx.isEmulator && ctx.caps.kappa0Min === 0 ? 1e-9 : 0.1;
      ctx.expect(d <= tol, `layered and factored solutions differ by ${d} (relative; tolerance ${tol})`, { relDiff: d });
      return { relDiff: d, tolerance: tol };
    },
  },
  {
    id: 'layered.validation',
    title: 'Malformed layered requests → SHAPE_MISMATCH / NON_FINITE_VALUE, previous A still in force',
    skip: noLayered,
    async run(ctx) {
      await ctx.fresh();
      await ctx.configure({ kappa0: ctx.kappa(0), burnInTau: 20, samplePeriodTau: 0.5 });
      const before = await solve(ctx, layered);
      const spoilt: [string, (b: ReturnType<typeof body>) => void, number, string | null][] = [
        ['Σ cols ≠ n', (b) => void (b.n = N + 1), ErrorCode.SHAPE_MISMATCH, 'columns'],
        ['r not a multiple of b', (b) => void (b.b = 3), ErrorCode.SHAPE_MISMATCH, 'rows-per-sample'],
        ['a of shape [b+1, nIn]', (b) => void ((b.layers[0] as { a: unknown }).a = f64([...A0, 1, 2, 3], [B + 1, 3])), ErrorCode.SHAPE_MISMATCH, 'layer-shape'],
        ['d with a NaN', (b) => void ((b.layers[0] as { d: unknown }).d = rawF64([...D0.slice(0, 7), NaN], [R, 2])), ErrorCode.NON_FINITE_VALUE, null],
      ];
      for (const [what, spoil, code, reason] of spoilt) {
        const b = body();
        spoil(b);
        const e = await ctx.expectError(ctx.request('Curvature', b), code, what);
        if (reason) ctx.expect(e.detail?.reason === reason, `${what}: detail.reason is ${String(e.detail?.reason)}, expected ${reason}`);
      }
      const st = await ctx.status();
      ctx.expect(st.n === N && st.hasCurvature && st.hasGradient, `Status after the refusals: n ${st.n}, hasCurvature ${st.hasCurvature}`);
      await ctx.request('Run', { durationTau: 40, start: 'reset' });
      const after = await ctx.dev.results();
      const d = relDiff(after.mean!, before.mean!);
      const tol = ctx.isEmulator && ctx.caps.kappa0Min === 0 ? 0 : 0.1;
      ctx.expect(d <= tol, `results after the refused uploads moved by ${d} (relative): the previous A was not kept`, { relDiff: d });
      return { refusals: spoilt.length };
    },
  },
];
