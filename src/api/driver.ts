/**
 * `tngd-spu/driver`: the host driver ({@link SpuDriver}) over any byte link, its typed errors
 * and the link openers (serial, TCP, in-process). Most callers want `connect(url)` from the main
 * entry instead.
 *
 * @packageDocumentation
 */
export * from '../driver/index.ts';
export { parseLinkUrl, redactLinkUrl, describeLink, DEFAULT_BAUD, DEFAULT_TCP_TIMEOUT_MS } from '../driver/transports/link-url.ts';
export type { LinkSpec, SerialLinkSpec, TcpLinkSpec, EmuLinkSpec } from '../driver/transports/link-url.ts';
export type { LinkErrorCode } from '../driver/transports/errors.ts';
export type { EmuDeviceFactory } from '../driver/transports/open-link.ts';
export type { LinkEstimate } from '../driver/link-estimate.ts';
