// A small, bounded record of what the SPU's state did during a run, for people watching a device:
// x(t) of a few chosen cells from the run's sample-block stream, the target A⁻¹g of those cells
// (solved on the host with the same factors the device got) and the spread κ₀·(A⁻¹)ᵢᵢ the noise
// should give around it (the OU process's stationary covariance is κ₀A⁻¹).
//
// Streaming every sample of every run would cost more than the run (N cells × t/Δ samples per
// run through the link); the sink decides which runs stream (a time budget), and only the chosen
// cells are kept. With the Euler integrator, or without noise, streaming does not change a run's
// results; the exact integrator with κ₀ > 0 draws a streamed run's noise per sample instead of
// jointly (EMULATOR.md §9.4): statistically the same, not the same bits. The sink is told which.
import type { RunHandle } from '../../driver/run-handle.ts';
import type { CurvatureFactors, LayeredFactors } from '../types.ts';
import { WoodburySolver } from '../linalg/woodbury.ts';
import { LayeredWoodburySolver } from '../linalg/woodbury-layered.ts';

export interface StateTrace {
  runId: number;
  /** sample period Δ in τ; sample k is the state at k·Δ of the run's main segment */
  samplePeriodTau: number;
  kappa0: number;
  /** cell indices, ascending */
  cells: number[];
  /** sample times in τ */
  tTau: number[];
  /** x[c][k]: cell cells[c] at tTau[k] (ADC readings) */
  x: number[][];
  /** (A⁻¹g) of each chosen cell, from the host's factors; null when it could not be solved */
  target: number[] | null;
  /** √(κ₀·(A⁻¹)ᵢᵢ): the stationary standard deviation the noise should give */
  sd: number[] | null;
  /** host seconds spent on this trace (solve + stream handling), for the budget */
  costSeconds: number;
}

/** Where traces go; it decides which runs are traced so that the cost stays bounded. */
export interface StateTraceSink {
  /**
   * Asked before each run: stream this one? `neutral`: streaming leaves the run's results
   * bit-identical (Euler, or κ₀ = 0); otherwise it changes the noise draws.
   */
  wantRun(neutral: boolean): boolean;
  /** the cells to keep, given the run's gradient (keep the same ones every run, so runs compare) */
  cellsFor(g: Float64Array): number[];
  record(trace: StateTrace): void;
}

/**
 * Default choice: the `count` cells with the largest |gᵢ| (a weight on an always-dark pixel has
 * g = 0 and A⁻¹g = 0: nothing to watch), ties and an all-zero g falling back to low indices.
 */
export function activeCells(g: Float64Array, count = 4): number[] {
  const idx = Array.from({ length: g.length }, (_, i) => i);
  idx.sort((a, b) => Math.abs(g[b]) - Math.abs(g[a]) || a - b);
  return idx.slice(0, Math.min(count, g.length)).sort((a, b) => a - b);
}

/** Keeps at most this many samples per cell (evenly thinned): a trace stays a few kB. */
const MAX_SAMPLES = 400;

export interface TraceSystem {
  factors: CurvatureFactors | LayeredFactors;
  g: Float64Array;
  lambda: number;
  kappa0: number;
  samplePeriodTau: number;
}

/**
 * Starts tracing one run: solves the target now (the factors' buffers are reused by the next
 * batch) and, once `follow` is given the run handle, keeps the chosen cells of each sample block.
 */
export function beginTrace(sink: StateTraceSink, sys: TraceSystem): { follow(handle: RunHandle): void } {
  const t0 = performance.now();
  const n = sys.g.length;
  const cells = sink.cellsFor(sys.g).filter((c) => Number.isInteger(c) && c >= 0 && c < n);
  let target: number[] | null = null;
  let sd: number[] | null = null;
  try {
    const f = sys.factors;
    let solver: WoodburySolver | LayeredWoodburySolver;
    if ('layers' in f) {
      const s = new LayeredWoodburySolver();
      s.factor(f, sys.lambda);
      solver = s;
    } else {
      const s = new WoodburySolver();
      s.factor(f, sys.lambda);
      solver = s;
    }
    const sol = new Float64Array(n);
    solver.solve(sys.g, sol);
    target = cells.map((c) => sol[c]);
    const e = new Float64Array(n);
    sd = cells.map((c) => {
      e.fill(0);
      e[c] = 1;
      solver.solve(e, sol);
      return Math.sqrt(Math.max(0, sys.kappa0 * sol[c]));
    });
  } catch {
    // a core the solver cannot factor: show the trajectory and its running mean only
    target = null;
    sd = null;
  }
  let cost = (performance.now() - t0) / 1e3;
  return {
    follow(handle: RunHandle): void {
      const byK = new Map<number, Float64Array>();
      let runId = 0;
      const collect = async (): Promise<void> => {
        for await (const b of handle.samples()) {
          const t = performance.now();
          runId = b.runId;
          for (let k = 0; k < b.count; k++) {
            const idx = b.firstSample + k;
            let row = byK.get(idx);
            for (let c = 0; c < cells.length; c++) {
              const j = cells[c] - b.cellOffset;
              if (j < 0 || j >= b.cells) continue;
              if (!row) byK.set(idx, (row = new Float64Array(cells.length).fill(NaN)));
              row[c] = b.values[k * b.cells + j];
            }
          }
          cost += (performance.now() - t) / 1e3;
        }
      };
      collect().then(
        () => {
          const ks = [...byK.keys()].sort((a, b) => a - b);
          const stride = Math.max(1, Math.ceil(ks.length / MAX_SAMPLES));
          const kept = ks.filter((_, i) => i % stride === 0 || i === ks.length - 1);
          sink.record({
            runId,
            samplePeriodTau: sys.samplePeriodTau,
            kappa0: sys.kappa0,
            cells,
            tTau: kept.map((k) => k * sys.samplePeriodTau),
            x: cells.map((_, c) => kept.map((k) => byK.get(k)![c])),
            target,
            sd,
            costSeconds: cost,
          });
        },
        // the run failed: the optimizer reports that; a partial trace is not worth showing
        () => {},
      );
    },
  };
}
