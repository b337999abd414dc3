// Typed failures of opening or keeping a byte link. The driver maps these to its own errors;
// `code` is stable, `message` is for humans.
export type LinkErrorCode =
  | 'BAD_URL' // the link URL or its options are invalid
  | 'OPEN_FAILED' // the OS / peer refused to open (no such port, port locked, connection refused)
  | 'REFUSED' // the device server refused this host (busy, shutting down)
  | 'AUTH_FAILED' // shared-secret mismatch, in either direction
  | 'AUTH_REQUIRED' // the server wants a secret the URL does not carry (or the reverse)
  | 'TIMEOUT' // no connection / greeting in time
  | 'PROTOCOL'; // the link greeting was malformed

export class LinkError extends Error {
  readonly code: LinkErrorCode;
  constructor(code: LinkErrorCode, message: string, options?: { cause?: unknown }) {
    super(message, options);
    this.name = 'LinkError';
    this.code = code;
  }
}
