// The stated hardware timing model for one TNGD iteration's device part (the paper's Table 1
// made concrete):
//   upload   = [b·d_z·(b·d_z + 2N) + N] · bits/8 bytes at the link rate  (J, H, Jᵀ arrays + g)
//   analogue = t · τ
//   readout  = N · bits/8 bytes at the link rate (one ADC per cell, conversions in parallel)
export interface DeviceModel {
  tauSeconds: number;
  /** analogue time per iteration t, in τ */
  analogTimeTau: number;
  /** DAC/ADC word size used for transfers */
  bits: number;
  linkBytesPerSecond: number;
}

export interface TngdProjection {
  uploadBytes: number;
  readoutBytes: number;
  uploadSeconds: number;
  analogSeconds: number;
  readoutSeconds: number;
  /** device part only: upload + analogue + readout */
  deviceSeconds: number;
}

/** The paper's assumptions: τ = RC = 1 µs, 16-bit values, 50 Gb/s. */
export const PAPER_DEVICE: Omit<DeviceModel, 'analogTimeTau'> = { tauSeconds: 1e-6, bits: 16, linkBytesPerSecond: 50e9 / 8 };

export function projectTngdDevice(n: number, b: number, dz: number, m: DeviceModel): TngdProjection {
  const r = b * dz;
  const bytesPerValue = m.bits / 8;
  const uploadBytes = (r * (r + 2 * n) + n) * bytesPerValue;
  const readoutBytes = n * bytesPerValue;
  const uploadSeconds = uploadBytes / m.linkBytesPerSecond;
  const analogSeconds = m.analogTimeTau * m.tauSeconds;
  const readoutSeconds = readoutBytes / m.linkBytesPerSecond;
  return { uploadBytes, readoutBytes, uploadSeconds, analogSeconds, readoutSeconds, deviceSeconds: uploadSeconds + analogSeconds + readoutSeconds };
}

/**
 * The device part for an upload of `uploadValues` words (projectTngdDevice's model otherwise):
 * e.g. the layered factors, each value once — a device taking the layered form expands them in
 * its digital front end (or its array layout) for both J and Jᵀ, which this model assumes free.
 */
export function projectTngdDeviceUpload(uploadValues: number, n: number, m: DeviceModel): TngdProjection {
  const bytesPerValue = m.bits / 8;
  const uploadBytes = uploadValues * bytesPerValue;
  const readoutBytes = n * bytesPerValue;
  const uploadSeconds = uploadBytes / m.linkBytesPerSecond;
  const analogSeconds = m.analogTimeTau * m.tauSeconds;
  const readoutSeconds = readoutBytes / m.linkBytesPerSecond;
  return { uploadBytes, readoutBytes, uploadSeconds, analogSeconds, readoutSeconds, deviceSeconds: uploadSeconds + analogSeconds + readoutSeconds };
}
