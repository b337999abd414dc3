// Language-neutral scenario scripts (firmware-spec/vectors/emulator/digests.json) and their
// replay: a list of uploads/configure/run operations whose result bytes are hashed (SHA-256 of
// mean then final, each as f64 little-endian, run after run, then streamed samples if any).
import { createHash } from 'node:crypto';
import { SpuCore } from './core.ts';
import type { RunConfig, StartMode } from './types.ts';
import type { Profile } from './profile.ts';
import type { CoreSpec } from './couplings.ts';
import type { LayeredCurvature } from './layered-coupling.ts';

type CoreJson =
  | { kind: 'identity' }
  | { kind: 'diagonal'; d: number[] }
  | { kind: 'block'; dz: number; blocks: number[] }
  | { kind: 'dense'; h: number[] };

export type ScenarioOp =
  | { op: 'setCurvatureDense'; n: number; A: number[]; lambda?: number }
  | { op: 'setCurvatureFactored'; n: number; r: number; J: number[]; core: CoreJson; scale: number; lambda: number }
  | {
      op: 'setCurvatureLayered'; n: number; r: number; b: number; core: CoreJson; scale: number; lambda: number;
      layers: ({ kind: 'explicit'; cols: number; J: number[] } | { kind: 'dense'; nIn: number; nOut: number; bias: boolean; A: number[]; D: number[] })[];
    }
  | { op: 'setGradient'; g: number[] }
  | { op: 'setState'; x: number[] }
  | { op: 'configure'; config: RunConfig }
  | { op: 'run'; durationTau: number; start?: StartMode; delayTau?: number; stream?: boolean; chunks?: number[] };

export interface Scenario {
  name: string;
  description: string;
  profile: Profile;
  seed: number;
  maxCells: number;
  maxRank: number;
  ops: ScenarioOp[];
}

export interface RunSummary {
  sampleCount: number;
  saturationCount: number;
  clipCount: number;
  flags: string[];
  runIndex: number;
  analogTimeTau: number;
  /** first up-to-4 mean entries, for debugging a port */
  meanHead: number[];
}

export interface ScenarioOutcome {
  sha256: string;
  runs: RunSummary[];
}

const f64 = (v: number[]) => Float64Array.from(v);

function coreOf(c: CoreJson): CoreSpec {
  return c.kind === 'identity' ? c
    : c.kind === 'diagonal' ? { kind: 'diagonal', d: f64(c.d) }
    : c.kind === 'block' ? { kind: 'block', dz: c.dz, blocks: f64(c.blocks) }
    : { kind: 'dense', h: f64(c.h) };
}

/** The physics core's layered upload for a scenario op (also used by the vector generator). */
export function layeredOf(o: Extract<ScenarioOp, { op: 'setCurvatureLayered' }>): LayeredCurvature {
  return {
    n: o.n, r: o.r, b: o.b, core: coreOf(o.core), scale: o.scale, lambda: o.lambda,
    layers: o.layers.map((l) => (l.kind === 'explicit' ? { kind: 'explicit', cols: l.cols, J: f64(l.J) } : { kind: 'dense', nIn: l.nIn, nOut: l.nOut, bias: l.bias, A: f64(l.A), D: f64(l.D) })),
  };
}

/** Replays a scenario; `chunks` on a run op advances it in those step counts (cycled). */
export function replayScenario(s: Scenario, opts: { forceChunk?: number } = {}): ScenarioOutcome {
  const core = new SpuCore({ maxCells: s.maxCells, maxRank: s.maxRank, profile: s.profile, seed: s.seed });
  const hash = createHash('sha256');
  const runs: RunSummary[] = [];
  const put = (v: Float64Array) => hash.update(Buffer.from(v.buffer, v.byteOffset, v.byteLength));
  for (const o of s.ops) {
    switch (o.op) {
      case 'setCurvatureDense':
        core.setCurvatureDense(o.n, f64(o.A), o.lambda ?? 0);
        break;
      case 'setCurvatureFactored': {
        const c = o.core;
        const core2 =
          c.kind === 'identity' ? c
          : c.kind === 'diagonal' ? { kind: 'diagonal' as const, d: f64(c.d) }
          : c.kind === 'block' ? { kind: 'block' as const, dz: c.dz, blocks: f64(c.blocks) }
          : { kind: 'dense' as const, h: f64(c.h) };
        core.setCurvatureFactored({ n: o.n, r: o.r, J: f64(o.J), core: core2, scale: o.scale, lambda: o.lambda });
        break;
      }
      case 'setCurvatureLayered':
        core.setCurvatureLayered(layeredOf(o));
        break;
      case 'setGradient':
        core.setGradient(f64(o.g));
        break;
      case 'setState':
        core.setState(f64(o.x));
        break;
      case 'configure':
        core.configure(o.config);
        break;
      case 'run': {
        const samples: Float64Array[] = [];
        const h = core.startRun({
          durationTau: o.durationTau, start: o.start, delayTau: o.delayTau,
          onSampleBlock: o.stream ? (b) => samples.push(b.values.slice()) : undefined,
        });
        const chunks = opts.forceChunk ? [opts.forceChunk] : (o.chunks ?? [Number.MAX_SAFE_INTEGER]);
        for (let i = 0; !h.done; i++) h.advance(chunks[i % chunks.length]);
        const r = h.result();
        put(r.mean);
        put(r.final);
        for (const b of samples) put(b);
        runs.push({
          sampleCount: r.sampleCount, saturationCount: r.saturationCount, clipCount: r.clipCount, flags: r.flags,
          runIndex: r.runIndex, analogTimeTau: r.analogTimeTau, meanHead: Array.from(r.mean.subarray(0, 4)),
        });
        break;
      }
    }
  }
  return { sha256: hash.digest('hex'), runs };
}
