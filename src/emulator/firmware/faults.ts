// Device-side fault switches: misbehaviours of the firmware itself (as opposed to the link faults
// of src/emulator/transports/faults.ts), for testing that a host recovers or fails with a typed
// error. All are off by default and deterministic (counted in requests/frames, not random).
import type { OpName } from '../../protocol/index.ts';

export interface DeviceFaults {
  /** Requests of these operations are read and then never answered (a hung handler). */
  ignore?: OpName[];
  /** After this many requests have been answered, the device answers nothing more (silence). */
  silentAfterRequests?: number;
  /** Every outgoing frame leaves this much later (order kept). */
  replyDelayMs?: number;
  /** Every k-th outgoing frame (k, 2k, …) has its CRC trailer damaged. */
  corruptCrcEvery?: number;
  /**
   * After this many requests (counted since power-on), the firmware reboots instead of answering
   * the next one: state is lost as on power-up, and `staleBytes` bytes of garbage go to the host.
   */
  rebootAfterRequests?: number;
  /** Garbage length on reboot (default 64). */
  staleBytes?: number;
  /** The link drops (endpoint destroyed) when the k-th BulkChunk of the session arrives (1-based). */
  dropLinkAtChunk?: number;
  /** The link drops once a run has covered this much analog time (τ). */
  dropLinkAfterRunTau?: number;
  /** After this many requests the device detects a hardware fault and enters FAULT (until DeviceReset). */
  hardwareFaultAfterRequests?: number;
}

export function checkFaults(f: DeviceFaults): void {
  const pos = (k: keyof DeviceFaults, min: number): void => {
    const v = f[k];
    if (v !== undefined && !(typeof v === 'number' && Number.isFinite(v) && v >= min)) throw new RangeError(`faults.${k} must be a number ≥ ${min}, got ${String(v)}`);
  };
  pos('silentAfterRequests', 0);
  pos('replyDelayMs', 0);
  pos('corruptCrcEvery', 1);
  pos('rebootAfterRequests', 0);
  pos('staleBytes', 0);
  pos('dropLinkAtChunk', 1);
  pos('dropLinkAfterRunTau', 0);
  pos('hardwareFaultAfterRequests', 0);
}
