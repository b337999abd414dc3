// The EMULATOR.md golden scenarios replayed through the wire: uploads, runs, results and sample
// streams as protocol messages must give the physics digests byte for byte, so the firmware adds
// nothing (no extra rounding, no reordering) between the wire and the core.
import { createHash } from 'node:crypto';
import { readFileSync } from 'node:fs';
import { describe, expect, it } from 'vitest';
import { tensorToFloat64 } from '../../src/protocol/index.ts';
import type { CoreSchema, RequestBody, WireTensor } from '../../src/protocol/index.ts';
import type { z } from 'zod';
import { createEmulatedDevice } from '../../src/emulator/index.ts';
import type { ProfileName, Scenario } from '../../src/emulator/index.ts';
import { TestHost, f64 } from './host.ts';

const file = new URL('../../firmware-spec/vectors/emulator/digests.json', import.meta.url);
const { scenarios } = JSON.parse(readFileSync(file, 'utf8')) as { scenarios: (Scenario & { expected: { sha256: string } })[] };

async function replayOverWire(s: Scenario): Promise<string> {
  const h = new TestHost(createEmulatedDevice({ seed: s.seed, profile: s.profile.name as ProfileName, maxCells: s.maxCells, maxRank: s.maxRank }));
  const hash = createHash('sha256');
  try {
    await h.hello();
    // PROTOCOL.md needs Configure before uploads; configuration does not touch uploaded tensors.
    const cfg = s.ops.find((o) => o.op === 'configure');
    if (!cfg || cfg.op !== 'configure') throw new Error('scenario without configure');
    const c = cfg.config;
    await h.ok('Configure', { kappa0: c.kappa0, readout: 'both', samplePeriodTau: c.samplePeriodTau, burnInTau: c.burnInTau, windowTau: c.windowTau ?? 0, integrator: c.integrator });
    for (const o of s.ops) {
      switch (o.op) {
        case 'setCurvatureDense':
          await h.ok('Curvature', { form: 'dense', a: { ref: await h.bulk(o.A, [o.n, o.n]) }, lambda: o.lambda ?? 0 });
          break;
        case 'setCurvatureFactored': {
          const k = o.core;
          const core: z.infer<typeof CoreSchema> =
            k.kind === 'identity' ? { kind: 'identity' }
            : k.kind === 'diagonal' ? { kind: 'diagonal', d: f64(k.d) }
            : k.kind === 'block' ? { kind: 'block', dz: k.dz, blocks: { ref: await h.bulk(k.blocks, [o.r / k.dz, k.dz, k.dz]) } }
            : { kind: 'dense', h: { ref: await h.bulk(k.h, [o.r, o.r]) } };
          await h.ok('Curvature', { form: 'factored', j: { ref: await h.bulk(o.J, [o.r, o.n]) }, core, scale: o.scale, lambda: o.lambda });
          break;
        }
        case 'setCurvatureLayered': {
          const k = o.core;
          const core: z.infer<typeof CoreSchema> =
            k.kind === 'identity' ? { kind: 'identity' }
            : k.kind === 'diagonal' ? { kind: 'diagonal', d: f64(k.d) }
            : k.kind === 'block' ? { kind: 'block', dz: k.dz, blocks: f64(k.blocks, [o.r / k.dz, k.dz, k.dz]) }
            : { kind: 'dense', h: f64(k.h, [o.r, o.r]) };
          // the largest tensor by bulk transfer, the rest inline: both paths of a layered request
          const layers: Extract<RequestBody<'Curvature'>, { form: 'layered' }>['layers'] = [];
          for (const l of o.layers)
            layers.push(
              l.kind === 'explicit' ? { kind: 'explicit', j: { ref: await h.bulk(l.J, [o.r, l.cols]) } }
              : { kind: 'dense', bias: l.bias, a: f64(l.A, [o.b, l.nIn]), d: f64(l.D, [o.r, l.nOut]) },
            );
          await h.ok('Curvature', { form: 'layered', n: o.n, r: o.r, b: o.b, layers, core, scale: o.scale, lambda: o.lambda });
          break;
        }
        case 'setGradient':
          await h.ok('Gradient', { g: f64(o.g) });
          break;
        case 'setState':
          await h.ok('StateSet', { x: f64(o.x) });
          break;
        case 'configure':
          break;
        case 'run': {
          const first = h.frames.length;
          const run: RequestBody<'Run'> = { durationTau: o.durationTau, start: o.start ?? 'carry' };
          if (o.delayTau) run.delayTau = o.delayTau;
          if (o.stream) run.streamSamples = true;
          await h.ok('Run', run);
          const r = await h.ok('Results', { vectors: 'both', dtype: 'f64' });
          hash.update(r.mean!.data);
          hash.update(r.final!.data);
          for (const f of h.frames.slice(first))
            if (f.message.kind === 'SampleBlockEvent') hash.update(Buffer.from(new Float64Array(tensorToFloat64(f.message.body.data as WireTensor)).buffer));
          break;
        }
      }
    }
    return hash.digest('hex');
  } finally {
    h.close();
  }
}

describe('golden emulator digests through the wire', () => {
  it(`all ${scenarios.length} EMULATOR.md scenarios give their published SHA-256 when driven by protocol messages`, async () => {
    const got: string[] = [];
    for (const s of scenarios) got.push(`${s.name}: ${await replayOverWire(s)}`);
    expect(got).toEqual(scenarios.map((s) => `${s.name}: ${s.expected.sha256}`));
  });
});
