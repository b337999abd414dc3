// Message bodies: the single source of truth for the wire payloads. Each body is a MessagePack
// map; unknown keys are ignored on receipt (so a minor version may add optional fields).
// Integers are in [−2^31, 2^32−1] (counters wrap modulo 2^32); floats are finite.
import { z } from 'zod';
import { BinSchema, DtypeSchema, TensorSchema } from './tensor.ts';
import { MAX_MAX_FRAME_BYTES, MIN_MAX_FRAME_BYTES } from './version.ts';

const u8 = z.number().int().min(0).max(0xff);
const u16 = z.number().int().min(0).max(0xffff);
const u32 = z.number().int().min(0).max(0xffffffff);
const posFinite = z.number().positive();
const nonNeg = z.number().min(0);
const str = (max: number) => z.string().max(max);
const frameLimit = z.number().int().min(MIN_MAX_FRAME_BYTES).max(MAX_MAX_FRAME_BYTES);
/** An emulator's run counter: the run index that keys the next run's noise (EMULATOR.md §4). */
const runIndexField = u32;

export const DeviceStateSchema = z.enum(['IDLE', 'READY', 'RUNNING', 'FAULT']);
export type DeviceState = z.infer<typeof DeviceStateSchema>;

/** A tensor sent inline, or a reference to a committed bulk transfer holding it. */
export const TensorRefSchema = z.object({ ref: u32.meta({ description: 'transferId of a committed BulkBegin/BulkCommit upload' }) });
export const TensorOrRefSchema = z.union([TensorSchema, TensorRefSchema]);
export type TensorOrRef = z.infer<typeof TensorOrRefSchema>;

export const EmptySchema = z.object({});

// ---- handshake -------------------------------------------------------------------------------
export const FEATURES = ['emulator', 'exact-integrator', 'sample-stream', 'delay', 'dense-curvature', 'factored-curvature', 'i16-dac', 'layered-curvature'] as const;
/** Features a device advertises only in sessions of at least this minor (older hosts' enums lack them). */
export const FEATURE_SINCE_MINOR: Partial<Record<(typeof FEATURES)[number], number>> = { 'layered-curvature': 3 };

export const HelloRequestSchema = z.object({
  major: u8.meta({ description: 'host protocol major' }),
  minor: u8.meta({ description: 'highest minor the host speaks' }),
  host: str(64).meta({ description: 'free-form host identification' }),
  maxFrameBytes: frameLimit.meta({ description: 'largest encoded frame the host accepts (excluding the delimiter)' }),
  schemaFingerprint: z.string().regex(/^[0-9a-f]{16}$/),
});

export const IdentitySchema = z.object({
  vendor: str(64),
  model: str(64),
  serial: str(64),
  firmware: str(64),
});

export const CapabilitiesSchema = z.object({
  maxCells: u32.meta({ description: 'max N' }),
  maxRank: u32.meta({ description: 'max factor rank r' }),
  dtypes: z.array(DtypeSchema).min(1),
  dacBits: u8,
  adcBits: u8,
  fullScale: posFinite.meta({ description: 'value represented by a full-scale DAC/ADC code' }),
  tauSeconds: posFinite.meta({ description: 'time constant τ = RC in seconds' }),
  kappa0Min: nonNeg,
  kappa0Max: nonNeg,
  maxFrameBytes: frameLimit.meta({ description: 'largest encoded frame the device accepts (excluding the delimiter)' }),
  linkBytesPerSecond: nonNeg.meta({ description: 'nominal link payload rate; 0 = unknown' }),
  maxOpenTransfers: u16,
  bulkWindow: u16.meta({ description: 'max unacknowledged BulkChunk requests in flight' }),
  sampleRingBlocks: u32.meta({ description: 'sample blocks kept for SamplesRead' }),
  errorQueueDepth: u16,
  features: z.array(z.enum(FEATURES)),
});
export type Capabilities = z.infer<typeof CapabilitiesSchema>;

export const HelloReplySchema = z.object({
  major: u8,
  minor: u8.meta({ description: 'minor used for the session: min(host, device)' }),
  identity: IdentitySchema,
  schemaFingerprint: z.string().regex(/^[0-9a-f]{16}$/),
  capabilities: CapabilitiesSchema,
  sessionId: u32,
});

// ---- status / liveness / errors ---------------------------------------------------------------
export const LinkCountersSchema = z.object({
  framesOk: u32,
  badCrc: u32,
  oversize: u32,
  undecodable: u32,
  unknownType: u32,
  unsupported: u32,
  bytesDiscarded: u32,
});
export type LinkCounters = z.infer<typeof LinkCountersSchema>;

export const StatusReplySchema = z.object({
  state: DeviceStateSchema,
  uptimeMs: u32,
  counters: LinkCountersSchema,
  errorQueueLength: u16,
  lastError: z.object({ code: u16, message: str(256) }).optional(),
  n: u32.meta({ description: 'dimension of the committed curvature, 0 if none' }),
  hasCurvature: z.boolean(),
  hasGradient: z.boolean(),
  openTransfers: u16,
  runId: u32.meta({ description: 'id of the current or last run, 0 if none' }),
  runIndex: runIndexField.optional().meta({ description: "v1.1, devices with feature 'emulator': the run counter, i.e. the noise run index of the next run" }),
});

export const HeartbeatRequestSchema = z.object({ nonce: u32 });
export const HeartbeatReplySchema = z.object({ nonce: u32, uptimeMs: u32, state: DeviceStateSchema });

export const ErrorBodySchema = z.object({
  code: u16,
  class: z.enum(['framing', 'protocol', 'schema', 'range', 'state', 'resource', 'device']),
  message: str(256),
  detail: z.record(z.string(), z.unknown()).optional(),
});
export type ErrorBody = z.infer<typeof ErrorBodySchema>;

export const ErrorEntrySchema = z.object({
  code: u16,
  message: str(256),
  requestId: u32,
  type: u16.meta({ description: 'message type of the request that failed; 0 if none' }),
  uptimeMs: u32,
});
export type ErrorEntry = z.infer<typeof ErrorEntrySchema>;

export const ErrorsReadRequestSchema = z.object({ max: u16.min(1) });
export const ErrorsReadReplySchema = z.object({ entries: z.array(ErrorEntrySchema), remaining: u16 });
export const ErrorsClearReplySchema = z.object({ cleared: u16 });

// ---- configuration and uploads ----------------------------------------------------------------
export const IntegratorSchema = z.discriminatedUnion('kind', [
  z.object({ kind: z.literal('euler'), dtTau: posFinite }),
  z.object({ kind: z.literal('exact') }),
]);

export const ConfigureRequestSchema = z.object({
  kappa0: nonNeg.meta({ description: 'noise strength κ₀' }),
  readout: z.enum(['mean', 'final', 'both']),
  samplePeriodTau: posFinite,
  windowTau: nonNeg.meta({ description: 'averaging window; 0 = whole run after burn-in' }),
  burnInTau: nonNeg,
  integrator: IntegratorSchema,
  seed: u32.optional().meta({ description: 'emulators: noise seed' }),
  profile: str(64).optional().meta({ description: 'emulators: non-ideality profile name' }),
  runIndex: runIndexField.optional().meta({ description: "v1.1, emulators: set the run counter (noise run index of the next run); devices without feature 'emulator' ignore it" }),
});
export type ConfigureRequest = z.infer<typeof ConfigureRequestSchema>;
export const ConfigureReplySchema = z.object({
  state: DeviceStateSchema,
  runIndex: runIndexField.optional().meta({ description: "v1.1, devices with feature 'emulator': the run counter after this Configure" }),
});

export const CoreSchema = z.discriminatedUnion('kind', [
  z.object({ kind: z.literal('identity') }),
  z.object({ kind: z.literal('diagonal'), d: TensorOrRefSchema.meta({ description: 'shape [r]' }) }),
  z.object({ kind: z.literal('block'), dz: u32.min(1), blocks: TensorOrRefSchema.meta({ description: 'shape [r/dz, dz, dz]' }) }),
  z.object({ kind: z.literal('dense'), h: TensorOrRefSchema.meta({ description: 'shape [r, r]' }) }),
]);

/** Most layer blocks one layered Curvature request may carry (PROTOCOL.md §12). */
export const MAX_CURVATURE_LAYERS = 64;

/** One layer's block of J's columns in a layered curvature (v1.3, PROTOCOL.md §7.4.2). */
export const LayerBlockSchema = z.discriminatedUnion('kind', [
  z.object({
    kind: z.literal('explicit'),
    j: TensorOrRefSchema.meta({ description: 'the block of J, shape [r, cols]' }),
  }),
  z.object({
    kind: z.literal('dense'),
    bias: z.boolean().meta({ description: 'the block ends with nOut bias columns' }),
    a: TensorOrRefSchema.meta({ description: "per-sample layer inputs A, shape [b, nIn]" }),
    d: TensorOrRefSchema.meta({ description: 'per-row output sensitivities D, shape [r, nOut]; J[ρ, j·nIn + t] = D[ρ, j]·A[⌊ρ/(r/b)⌋, t], bias J[ρ, nOut·nIn + j] = D[ρ, j]' }),
  }),
]);

export const CurvatureRequestSchema = z.discriminatedUnion('form', [
  z.object({
    form: z.literal('dense'),
    a: TensorOrRefSchema.meta({ description: 'A, shape [N, N]; the device uses A + λI' }),
    lambda: nonNeg,
  }),
  z.object({
    form: z.literal('factored'),
    j: TensorOrRefSchema.meta({ description: 'J, shape [r, N]' }),
    core: CoreSchema,
    scale: posFinite,
    lambda: nonNeg.meta({ description: 'A = scale · Jᵀ H J + λ I' }),
  }),
  z.object({
    form: z.literal('layered'),
    n: u32.min(1).meta({ description: 'N = Σ of the layers\' columns' }),
    r: u32.min(1).meta({ description: 'rows of J, a multiple of b' }),
    b: u32.min(1).meta({ description: 'samples; row ρ of J belongs to sample ⌊ρ/(r/b)⌋' }),
    layers: z.array(LayerBlockSchema).min(1).max(MAX_CURVATURE_LAYERS).meta({ description: "v1.3, feature 'layered-curvature': J's column blocks in order" }),
    core: CoreSchema,
    scale: posFinite,
    lambda: nonNeg.meta({ description: 'A = scale · Jᵀ H J + λ I, J given per layer' }),
  }),
]);
export type CurvatureRequest = z.infer<typeof CurvatureRequestSchema>;
export const CurvatureReplySchema = z.object({ n: u32, r: u32, curvatureId: u32 });

export const GradientRequestSchema = z.object({ g: TensorOrRefSchema.meta({ description: 'shape [N]' }) });
export const GradientReplySchema = z.object({ n: u32 });
export const StateSetRequestSchema = z.object({ x: TensorOrRefSchema.meta({ description: 'shape [N]' }) });
export const StateSetReplySchema = z.object({ n: u32 });

// ---- bulk transfers ---------------------------------------------------------------------------
export const BulkBeginRequestSchema = z.object({
  dtype: DtypeSchema,
  shape: z.array(u32).min(1).max(4),
  scale: posFinite.optional().meta({ description: 'required for i16' }),
  totalBytes: u32,
  crc32c: u32.meta({ description: 'CRC-32C of all totalBytes data bytes' }),
});
export const BulkBeginReplySchema = z.object({ transferId: u32.min(1), chunkBytes: u32.min(1), window: u16.min(1) });
export const BulkChunkRequestSchema = z.object({ transferId: u32, seq: u32, offset: u32, data: BinSchema });
export const BulkChunkReplySchema = z.object({
  transferId: u32,
  seq: u32,
  received: u32.meta({ description: 'bytes received so far (distinct offsets)' }),
});
export const BulkCommitRequestSchema = z.object({ transferId: u32 });
export const BulkCommitReplySchema = z.object({ transferId: u32, bytes: u32, crc32c: u32 });
export const BulkAbortRequestSchema = z.object({ transferId: u32 });
export const BulkAbortReplySchema = z.object({ transferId: u32, discarded: z.boolean() });

// ---- runs and results -------------------------------------------------------------------------
export const RunRequestSchema = z.object({
  durationTau: posFinite,
  start: z.enum(['carry', 'reset', 'gradient']).meta({ description: 'x₀: previous state, 0, or g' }),
  delayTau: nonNeg.optional().meta({ description: 'first evolve this long under the previous A and g' }),
  streamSamples: z.boolean().optional(),
});
export const RESULT_FLAGS = ['not-positive-definite', 'diverged', 'aborted', 'saturated', 'clipped'] as const;
export const ResultFlagsSchema = z.array(z.enum(RESULT_FLAGS));
export const RunReplySchema = z.object({
  runId: u32,
  analogTimeTau: nonNeg,
  sampleCount: u32,
  flags: ResultFlagsSchema,
  runIndex: runIndexField.optional().meta({ description: "v1.1, devices with feature 'emulator': the run counter after this run (the next run's noise index)" }),
});
export const AbortReplySchema = z.object({ aborted: z.boolean(), runId: u32 });

export const ResultsRequestSchema = z.object({
  vectors: z.enum(['none', 'mean', 'final', 'both']).meta({ description: 'inline vectors; REPLY_TOO_LARGE if they do not fit the host frame' }),
  dtype: z.enum(['f64', 'f32']),
});
export const ResultsReplySchema = z.object({
  runId: u32,
  n: u32,
  sampleCount: u32,
  analogTimeTau: nonNeg,
  saturationCount: u32,
  clipCount: u32,
  flags: ResultFlagsSchema,
  mean: TensorSchema.optional(),
  final: TensorSchema.optional(),
});
export const ResultsReadRequestSchema = z.object({
  field: z.enum(['mean', 'final']),
  dtype: z.enum(['f64', 'f32']),
  offset: u32,
  count: u32.min(1),
});
export const ResultsReadReplySchema = z.object({ runId: u32, field: z.enum(['mean', 'final']), offset: u32, n: u32, data: TensorSchema });

export const SampleBlockSchema = z.object({
  runId: u32,
  seq: u32,
  firstSample: u32,
  cellOffset: u32,
  data: TensorSchema.meta({ description: 'shape [count, cells]' }),
});
export const SamplesReadRequestSchema = z.object({ fromSeq: u32, maxBlocks: u16.min(1) });
export const SamplesReadReplySchema = z.object({
  blocks: z.array(SampleBlockSchema),
  nextSeq: u32,
  oldestSeq: u32.meta({ description: 'oldest seq still in the ring; blocks before it are lost' }),
});

export const DeviceResetRequestSchema = z.object({ hard: z.boolean().optional() });
