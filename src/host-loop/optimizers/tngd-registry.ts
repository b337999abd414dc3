// Registers 'tngd' and 'tngd-adam'. Both need a connected device in the optimizer context:
//   createOptimizer('tngd', { lr: 0.1, damping: 0.1 }, { driver })   // driver: an SpuDriver
// `seed` in the context (optional) is sent to emulators with Configure.
import type { SpuDriver } from '../../driver/driver.ts';
import { DirectionOptimizer } from './direction.ts';
import { OptimizerOptionsError } from './errors.ts';
import { getOptimizerSpec, registerOptimizer, type OptimizerContext } from './registry.ts';
import { TngdDirection, tngdAdamOptionsSchema, tngdOptionsSchema, type TngdOptions } from './tngd.ts';
import { createUpdateRule } from './update-rules.ts';
import type { StateTraceSink } from './tngd-trace.ts';

function driverOf(name: string, ctx: OptimizerContext): SpuDriver {
  const d = ctx.driver as SpuDriver | undefined;
  if (!d || typeof d.run !== 'function' || typeof d.uploadCurvature !== 'function')
    throw new OptimizerOptionsError(name, ['needs a connected device: pass { driver } (from connect(url)) as the optimizer context']);
  return d;
}

function create(name: string, o: TngdOptions, ctx: OptimizerContext): DirectionOptimizer {
  const seed = typeof ctx.seed === 'number' ? ctx.seed : undefined;
  // optional: { stateTraces: StateTraceSink } records a few cells' x(t) of some runs (live page)
  const traces = (ctx.stateTraces as StateTraceSink | undefined) ?? null;
  return new DirectionOptimizer(name, new TngdDirection(driverOf(name, ctx), o, seed, traces), createUpdateRule(o.inner, o));
}

if (!getOptimizerSpec('tngd')) {
  registerOptimizer({
    name: 'tngd',
    description: 'thermodynamic NGD: the device relaxes to (F + λI)⁻¹g; its readout is applied by SGD (or --inner adam)',
    schema: tngdOptionsSchema,
    create: (o, ctx) => create('tngd', o, ctx),
  });
  registerOptimizer({
    name: 'tngd-adam',
    description: 'TNGD with the device readout fed to Adam (β₁ = β₂ = 0 by default, as in the paper)',
    schema: tngdAdamOptionsSchema,
    create: (o, ctx) => create('tngd-adam', o as TngdOptions, ctx),
  });
}
