// The loaded system: Configure, Curvature, Gradient, StateSet, StateReset (PROTOCOL.md §7.2–7.5).
// Each request is checked in full before anything changes, so a refused one leaves the device as
// it was (atomic uploads).
import { ErrorCode, ValueRangeError } from '../../../protocol/index.ts';
import { PhysicsError } from '../../physics/index.ts';
import type { RunConfig } from '../../physics/index.ts';
import { next32 } from '../firmware-state.ts';
import type { FirmwareState } from '../firmware-state.ts';
import { checkCurvatureRules } from '../curvature-rules.ts';
import { deviceProfile, profileOf } from '../options.ts';
import { TensorResolver, committedJ, curvatureLoad, settleAdoptedJ, vectorLoad } from '../uploads.ts';
import type { CurvatureLoad } from '../uploads.ts';
import type { HandlerTable } from './handler.ts';

export const systemHandlers: Pick<HandlerTable, 'Configure' | 'Curvature' | 'Gradient' | 'StateSet' | 'StateReset'> = {
  Configure(dev, b, id) {
    const caps = dev.opts.capabilities;
    if (b.kappa0 < caps.kappa0Min || b.kappa0 > caps.kappa0Max)
      throw new ValueRangeError(ErrorCode.KAPPA_OUT_OF_RANGE, `κ₀ = ${b.kappa0} outside [${caps.kappa0Min}, ${caps.kappa0Max}]`, { kappa0Min: caps.kappa0Min, kappa0Max: caps.kappa0Max });
    if (b.integrator.kind === 'exact') dev.needFeature('exact-integrator', 'the exact integrator');
    if (b.profile !== undefined && !profileOf(b.profile)) throw new ValueRangeError(ErrorCode.OUT_OF_RANGE, `unknown profile '${b.profile}' (emulator profiles: ideal, prototype)`);
    const cfg: RunConfig = {
      kappa0: b.kappa0,
      integrator: b.integrator,
      samplePeriodTau: b.samplePeriodTau,
      burnInTau: b.burnInTau,
      windowTau: b.windowTau > 0 ? b.windowTau : undefined,
    };
    const seed = b.seed ?? dev.seed;
    const profile = b.profile ?? dev.profile;
    if (seed !== dev.seed || profile !== dev.profile) {
      // The physics fixes seed and profile for a core's life: a new one is a new analog core, on
      // which the committed tensors are realised again (DAC, mismatch) and the state carried over.
      const core = dev.newCore(profile, seed);
      core.configure(cfg); // validate before anything changes
      const x = dev.core.getState(dev.opts.maxCells);
      dev.seed = seed;
      dev.profile = profile;
      dev.core = core;
      dev.hasLive = false;
      dev.coreBytes = { next: 0, live: 0 };
      const c = dev.committed;
      if (c.curvature) {
        c.curvature = committedJ(c.curvature);
        c.notPd = realise(dev, c.curvature);
        settleAdoptedJ(c.curvature);
        dev.coreBytes.next = c.curvature.bytes;
      }
      if (c.gradient) dev.core.setGradient(c.gradient);
      dev.core.setState(x.subarray(0, c.curvature?.n ?? dev.opts.maxCells));
    } else dev.core.configure(cfg);
    // After a new core (counter 0): the run counter the host asks for; hardware ignores it (§7.3.1).
    if (b.runIndex !== undefined && dev.has('emulator')) dev.core.setRunIndex(b.runIndex);
    dev.runConfig = cfg;
    dev.readout = b.readout;
    dev.state = 'READY';
    dev.reply('Configure', { state: dev.state, ...dev.reportedRunIndex() }, id);
  },

  Curvature(dev, b, id) {
    dev.needFeature(b.form === 'dense' ? 'dense-curvature' : b.form === 'factored' ? 'factored-curvature' : 'layered-curvature', `${b.form} curvature`);
    const res = new TensorResolver(dev.staging, dev.opts.capabilities);
    const load = curvatureLoad(b, res, dev.opts.capabilities);
    checkCurvatureRules(load);
    const c = dev.committed;
    // The uploaded copy and the core's realisation both live until the next upload.
    dev.checkMemory(2 * load.bytes, (c.curvature?.bytes ?? 0) + dev.coreBytes.next, 'curvature');
    const notPd = realise(dev, load);
    settleAdoptedJ(load);
    for (const ref of res.refs) dev.staging.release(ref);
    if (c.curvature && c.curvature.n !== load.n) {
      // A new dimension invalidates the gradient and the state (§7.4).
      c.gradient = null;
      dev.core.resetState();
    }
    c.curvature = load;
    c.notPd = notPd;
    dev.coreBytes.next = load.bytes;
    dev.curvatureId = next32(dev.curvatureId);
    dev.reply('Curvature', { n: load.n, r: load.r, curvatureId: dev.curvatureId }, id);
  },

  Gradient(dev, b, id) {
    const n = dev.committedN();
    const res = new TensorResolver(dev.staging, dev.opts.capabilities);
    const g = vectorLoad(b.g, 'g', res, dev.opts.capabilities);
    if (g.length !== n) throw new ValueRangeError(ErrorCode.SHAPE_MISMATCH, `g has ${g.length} cells, the committed curvature has N = ${n}`, { n });
    dev.checkMemory(8 * n, 8 * (dev.committed.gradient?.length ?? 0), 'gradient');
    dev.core.setGradient(g);
    for (const ref of res.refs) dev.staging.release(ref);
    dev.committed.gradient = g;
    dev.reply('Gradient', { n }, id);
  },

  StateSet(dev, b, id) {
    const n = dev.committedN();
    const res = new TensorResolver(dev.staging, dev.opts.capabilities);
    const x = vectorLoad(b.x, 'x', res, dev.opts.capabilities);
    if (x.length !== n) throw new ValueRangeError(ErrorCode.SHAPE_MISMATCH, `x has ${x.length} cells, the committed curvature has N = ${n}`, { n });
    dev.core.setState(x);
    for (const ref of res.refs) dev.staging.release(ref);
    dev.reply('StateSet', { n }, id);
  },

  StateReset(dev, _b, id) {
    dev.core.resetState();
    dev.reply('StateReset', {}, id);
  },
};

/**
 * Loads A into the core; returns true when the core refuses it as not positive definite. The
 * committed load stays as uploaded (a new seed or profile realises it again), so the core may
 * take the arrays without copying only when its profile leaves values as they are (no DAC
 * quantisation, no mismatch: the only in-place changes the core makes to J and H, EMULATOR.md §6).
 */
function realise(dev: FirmwareState, load: CurvatureLoad): boolean {
  const p = deviceProfile(dev.opts, dev.profile)!;
  const transfer = p.dacBits === null && p.mismatchSigma === 0;
  try {
    if (load.form === 'dense') dev.core.setCurvatureDense(load.n, load.a, load.lambda, { transfer: false });
    else if (load.form === 'layered') dev.core.setCurvatureLayered(load.f, { transfer });
    else dev.core.setCurvatureFactored(load.f, { transfer });
    return false;
  } catch (e) {
    if (e instanceof PhysicsError && e.code === 'not-positive-definite') return true;
    throw e;
  }
}
