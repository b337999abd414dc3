// Configure and Run arguments → validated wire requests, checked against the device's
// capabilities on the host first, so a bad call fails at once with ArgumentError or
// CapabilityError and sends nothing (uploads.ts does the same for tensors).
import type { Capabilities, ConfigureRequest, RequestBody } from '../protocol/index.ts';
import { ArgumentError, CapabilityError } from './errors.ts';
import type { ConfigureOptions, DeviceInfo, RunOptions } from './types.ts';

/** True when Configure.runIndex will be honoured: feature 'emulator' and protocol ≥ 1.1. */
export function honoursRunIndex(info: DeviceInfo): boolean {
  const p = info.protocol;
  return info.capabilities.features.includes('emulator') && (p.major > 1 || p.minor >= 1);
}

/** The Configure request, and what the session record keeps of it (the same without runIndex). */
export function prepareConfigure(o: ConfigureOptions, info: DeviceInfo): { req: ConfigureRequest; recorded: ConfigureRequest } {
  const caps = info.capabilities;
  if (!o || typeof o.kappa0 !== 'number' || !Number.isFinite(o.kappa0) || o.kappa0 < 0) throw new ArgumentError(`kappa0 must be a finite number ≥ 0, got ${String(o?.kappa0)}`);
  if (o.kappa0 < caps.kappa0Min || o.kappa0 > caps.kappa0Max)
    throw new CapabilityError('kappa0', [caps.kappa0Min, caps.kappa0Max], o.kappa0, `κ₀ = ${o.kappa0} is outside the device's range [${caps.kappa0Min}, ${caps.kappa0Max}]`);
  const integrator = o.integrator ?? { kind: 'euler', dtTau: 0.05 };
  if (integrator.kind === 'exact' && !caps.features.includes('exact-integrator'))
    throw new CapabilityError('features', caps.features, 'exact-integrator', "the exact integrator needs the device feature 'exact-integrator'");
  const req: ConfigureRequest = {
    kappa0: o.kappa0,
    readout: o.readout ?? 'both',
    samplePeriodTau: o.samplePeriodTau ?? 0.1,
    windowTau: o.windowTau ?? 0,
    burnInTau: o.burnInTau ?? 0,
    integrator,
  };
  if (o.seed !== undefined) req.seed = o.seed;
  if (o.profile !== undefined) req.profile = o.profile;
  const recorded = { ...req };
  if (o.runIndex !== undefined) {
    if (!Number.isInteger(o.runIndex) || o.runIndex < 0 || o.runIndex > 0xffffffff) throw new ArgumentError(`runIndex must be an integer in [0, 2^32 − 1], got ${String(o.runIndex)}`);
    // Other devices ignore it (PROTOCOL.md §7.3.1): refuse rather than let the noise differ.
    if (!honoursRunIndex(info))
      throw new CapabilityError('features', caps.features, 'emulator', `runIndex needs an emulator speaking protocol ≥ 1.1 (this device: ${caps.features.includes('emulator') ? `protocol ${info.protocol.major}.${info.protocol.minor}` : "no 'emulator' feature"})`);
    req.runIndex = o.runIndex;
  }
  return { req, recorded };
}

export interface PreparedRun {
  body: RequestBody<'Run'>;
  /** wait this long for the Run reply (extended while the device reports RUNNING), ms */
  timeoutMs: number;
  /** never wait longer than this in all, ms */
  maxRunMs: number;
}

/** The Run request and its time budget: the request timeout plus twice the analog time, unless the caller sets one. */
export function prepareRun(o: RunOptions, caps: Capabilities, limits: { timeoutMs: number; maxRunMs: number }): PreparedRun {
  if (!o || typeof o.durationTau !== 'number' || !Number.isFinite(o.durationTau) || o.durationTau <= 0)
    throw new ArgumentError(`durationTau must be a finite number > 0, got ${String(o?.durationTau)}`);
  const delayTau = o.delayTau ?? 0;
  if (!Number.isFinite(delayTau) || delayTau < 0) throw new ArgumentError(`delayTau must be a finite number ≥ 0, got ${delayTau}`);
  if (delayTau > 0 && !caps.features.includes('delay')) throw new CapabilityError('features', caps.features, 'delay', "delayTau needs the device feature 'delay'");
  if (o.streamSamples && !caps.features.includes('sample-stream'))
    throw new CapabilityError('features', caps.features, 'sample-stream', "streamSamples needs the device feature 'sample-stream'");
  const start = o.start ?? 'carry';
  if (!['carry', 'reset', 'gradient'].includes(start)) throw new ArgumentError(`start must be carry, reset or gradient, got ${String(start)}`);
  const body: RequestBody<'Run'> = { durationTau: o.durationTau, start };
  if (delayTau > 0) body.delayTau = delayTau;
  if (o.streamSamples) body.streamSamples = true;
  const analogMs = (o.durationTau + delayTau) * caps.tauSeconds * 1000;
  const timeoutMs = o.timeoutMs ?? Math.ceil(limits.timeoutMs + 2 * analogMs);
  return { body, timeoutMs, maxRunMs: Math.max(timeoutMs, limits.maxRunMs) };
}
