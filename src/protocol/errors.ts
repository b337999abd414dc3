// Numbered error codes: the high nibble of the 12-bit code is its class. Codes are normative
// (firmware-spec/PROTOCOL.md §Errors); names are for humans and may be renamed in a minor.

export const ERROR_CLASSES = {
  framing: 0x100,
  protocol: 0x200,
  schema: 0x300,
  range: 0x400,
  state: 0x500,
  resource: 0x600,
  device: 0x700,
} as const;
export type ErrorClass = keyof typeof ERROR_CLASSES;

export const ErrorCode = {
  // framing 0x1xx: the bytes of a frame are damaged
  BAD_CRC: 0x101,
  COBS_INVALID: 0x102,
  FRAME_TOO_SHORT: 0x103,
  FRAME_TOO_LARGE: 0x104,
  TENSOR_CRC_MISMATCH: 0x105,
  // protocol 0x2xx: an intact frame that breaks the protocol's rules
  VERSION_UNSUPPORTED: 0x201,
  UNKNOWN_MUST_FLAG: 0x202,
  UNKNOWN_TYPE: 0x203,
  BAD_FLAGS: 0x204,
  // schema 0x3xx: the payload does not decode or does not match the message schema
  MSGPACK_INVALID: 0x301,
  SCHEMA_INVALID: 0x302,
  TENSOR_INVALID: 0x303,
  // range 0x4xx: well-formed but outside the device's capabilities or the allowed range
  OUT_OF_RANGE: 0x401,
  TOO_MANY_CELLS: 0x402,
  RANK_TOO_LARGE: 0x403,
  DTYPE_UNSUPPORTED: 0x404,
  SHAPE_MISMATCH: 0x405,
  KAPPA_OUT_OF_RANGE: 0x406,
  CHUNK_OUT_OF_BOUNDS: 0x407,
  NON_FINITE_VALUE: 0x408,
  // state 0x5xx: not legal now
  ILLEGAL_IN_STATE: 0x501,
  NOT_CONFIGURED: 0x502,
  NO_CURVATURE: 0x503,
  NO_GRADIENT: 0x504,
  BUSY: 0x505,
  NO_SUCH_TRANSFER: 0x506,
  NO_RESULTS: 0x507,
  TRANSFER_INCOMPLETE: 0x508,
  // resource 0x6xx: the device ran out of something
  OUT_OF_MEMORY: 0x601,
  TOO_MANY_TRANSFERS: 0x602,
  WINDOW_EXCEEDED: 0x603,
  QUEUE_OVERFLOW: 0x604,
  REPLY_TOO_LARGE: 0x605,
  SAMPLES_LOST: 0x606,
  // device 0x7xx: the device itself failed or stopped the operation
  INTERNAL: 0x701,
  HARDWARE_FAULT: 0x702,
  ABORTED: 0x703,
  RESET: 0x704,
} as const;
export type ErrorCodeName = keyof typeof ErrorCode;
export type ErrorCodeValue = (typeof ErrorCode)[ErrorCodeName];

const NAME_BY_CODE = new Map<number, ErrorCodeName>(
  Object.entries(ErrorCode).map(([k, v]) => [v, k as ErrorCodeName]),
);

export function errorCodeName(code: number): string {
  return NAME_BY_CODE.get(code) ?? `0x${code.toString(16).padStart(3, '0')}`;
}

/** Class of a code from its high nibble; unknown classes read as 'device'. */
export function errorClassOf(code: number): ErrorClass {
  const hi = code & 0xf00;
  for (const [k, v] of Object.entries(ERROR_CLASSES)) if (v === hi) return k as ErrorClass;
  return 'device';
}

/** Base of every typed protocol error. `code` is the wire code; `detail` is JSON-safe. */
export class ProtocolError extends Error {
  readonly code: number;
  readonly errorClass: ErrorClass;
  readonly detail: Record<string, unknown> | undefined;
  constructor(code: number, message: string, detail?: Record<string, unknown>) {
    super(`${errorCodeName(code)}: ${message}`);
    this.name = new.target.name;
    this.code = code;
    this.errorClass = errorClassOf(code);
    this.detail = detail;
  }
}
export class FramingError extends ProtocolError {}
export class ProtocolViolationError extends ProtocolError {}
export class SchemaError extends ProtocolError {}
export class ValueRangeError extends ProtocolError {}
export class StateError extends ProtocolError {}
export class ResourceError extends ProtocolError {}
/** Class 0x7xx: the device itself failed or stopped the operation (INTERNAL, HARDWARE_FAULT, ABORTED, RESET). */
export class DeviceFaultError extends ProtocolError {}

const CLASS_CTORS: Record<ErrorClass, new (code: number, message: string, detail?: Record<string, unknown>) => ProtocolError> = {
  framing: FramingError,
  protocol: ProtocolViolationError,
  schema: SchemaError,
  range: ValueRangeError,
  state: StateError,
  resource: ResourceError,
  device: DeviceFaultError,
};

/** Builds the typed error for a code (e.g. from an Error reply received over the wire). */
export function protocolError(code: number, message: string, detail?: Record<string, unknown>): ProtocolError {
  return new CLASS_CTORS[errorClassOf(code)](code, message, detail);
}
