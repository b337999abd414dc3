// Parses and validates link URLs (zod), with errors a user can act on:
//   serial:///dev/ttyUSB0?baud=921600   /dev/ttyUSB0   COM3        → a real serial port
//   tcp://127.0.0.1:5555?secret=...&timeout=5000                   → a TCP device server
//   emu:name?seed=1&profile=...   (emu: alone = emu:default)        → in-process device
// Query parameters of emu: are passed through untouched; the emulator validates its own.
import { z } from 'zod';
import { LinkError } from './errors.ts';

export const DEFAULT_BAUD = 921600;
export const DEFAULT_TCP_TIMEOUT_MS = 5000;

export type SerialLinkSpec = { kind: 'serial'; path: string; baudRate: number };
export type TcpLinkSpec = { kind: 'tcp'; host: string; port: number; secret?: string; timeoutMs: number };
export type EmuLinkSpec = { kind: 'emu'; name: string; path: string; params: Record<string, string> };
export type LinkSpec = SerialLinkSpec | TcpLinkSpec | EmuLinkSpec;

const intString = (what: string, min: number, max: number) =>
  z
    .string()
    .regex(/^\d+$/, `${what} must be an integer in ${min}..${max}`)
    .transform(Number)
    .pipe(z.number().int().min(min, `${what} must be an integer in ${min}..${max}`).max(max, `${what} must be an integer in ${min}..${max}`));

const serialQuery = z.strictObject({ baud: intString('baud', 50, 16_000_000).optional() });
const tcpQuery = z.strictObject({
  secret: z.string().min(1, 'secret must not be empty').optional(),
  timeout: intString('timeout (ms)', 1, 600_000).optional(),
});
const tcpTarget = z.object({
  host: z.string().min(1, 'host is missing'),
  port: intString('port', 1, 65535),
});

function fail(url: string, what: string): never {
  throw new LinkError('BAD_URL', `invalid link URL ${JSON.stringify(redactLinkUrl(url))}: ${what}`);
}

function zodFail(url: string, err: z.ZodError): never {
  const msgs = err.issues.map((i) => {
    if (i.code === 'unrecognized_keys') return `unknown parameter(s) ${i.keys.map((k) => JSON.stringify(k)).join(', ')}`;
    return i.message;
  });
  return fail(url, msgs.join('; '));
}

function queryObject(q: string): Record<string, string> {
  const out: Record<string, string> = {};
  for (const [k, v] of new URLSearchParams(q)) {
    if (!/^[A-Za-z][\w.-]*$/.test(k) || k === '__proto__') throw new LinkError('BAD_URL', `invalid parameter name ${JSON.stringify(k)}`);
    if (Object.hasOwn(out, k)) throw new LinkError('BAD_URL', `parameter ${JSON.stringify(k)} is given twice`);
    out[k] = v;
  }
  return out;
}

/** Replaces secret values so URLs can be logged. */
export function redactLinkUrl(url: string): string {
  return url.replace(/([?&]secret=)[^&#]*/gi, '$1***');
}

/** A short label for logs: kind and address, never the secret. */
export function describeLink(spec: LinkSpec): string {
  switch (spec.kind) {
    case 'serial':
      return `serial:${spec.path}@${spec.baudRate}`;
    case 'tcp':
      return `tcp://${spec.host.includes(':') ? `[${spec.host}]` : spec.host}:${spec.port}${spec.secret ? ' (secret)' : ''}`;
    case 'emu':
      return spec.path;
  }
}

export function parseLinkUrl(url: string): LinkSpec {
  if (typeof url !== 'string' || url.trim() === '') throw new LinkError('BAD_URL', 'empty link URL');
  url = url.trim();
  const scheme = /^([a-z][a-z0-9+.-]+):/i.exec(url)?.[1]?.toLowerCase();
  if (scheme === undefined) return parseSerial(url, url, ''); // a bare path: /dev/ttyUSB0, COM3, ./tty
  const rest = url.slice(scheme.length + 1);
  switch (scheme) {
    case 'serial': {
      const [p, q = ''] = splitQuery(rest);
      const path = decode(url, p.startsWith('//') ? p.slice(2) : p); // serial:///dev/x, serial://COM3
      return parseSerial(url, path, q);
    }
    case 'tcp':
      return parseTcp(url);
    case 'emu': {
      const [p, q = ''] = splitQuery(rest);
      const name = decode(url, p.replace(/^\/\//, '')) || 'default';
      if (!/^[\w.-]+$/.test(name)) fail(url, `emulator name ${JSON.stringify(name)} may contain only letters, digits, '_', '.', '-'`);
      return { kind: 'emu', name, path: `emu:${name}`, params: queryObject(q) };
    }
    default:
      return fail(url, `unknown scheme "${scheme}:" (expected serial:, tcp:, emu: or a bare device path)`);
  }
}

function decode(url: string, s: string): string {
  try {
    return decodeURIComponent(s);
  } catch {
    return fail(url, `malformed %-escape in ${JSON.stringify(s)}`);
  }
}

function splitQuery(s: string): [string, string?] {
  const i = s.indexOf('?');
  return i < 0 ? [s] : [s.slice(0, i), s.slice(i + 1)];
}

function parseSerial(url: string, path: string, q: string): SerialLinkSpec {
  if (path === '') fail(url, 'serial device path is missing (e.g. serial:///dev/ttyUSB0)');
  const r = serialQuery.safeParse(queryObject(q));
  if (!r.success) zodFail(url, r.error);
  return { kind: 'serial', path, baudRate: r.data.baud ?? DEFAULT_BAUD };
}

function parseTcp(url: string): TcpLinkSpec {
  // Host and port by hand first: URL() rejects a bad port with no useful message.
  const m = /^tcp:\/\/(\[[^\]]*\]|[^/:?#]*)(?::([^/?#]*))?([^?#]*)(?:\?([^#]*))?$/i.exec(url);
  if (!m) return fail(url, 'expected tcp://host:port');
  const [, host, port, path, query = ''] = m;
  if (path !== '' && path !== '/') fail(url, `unexpected path ${JSON.stringify(path)} (expected tcp://host:port)`);
  if (port === undefined || port === '') fail(url, 'port is missing (expected tcp://host:port)');
  const t = tcpTarget.safeParse({ host, port });
  if (!t.success) zodFail(url, t.error);
  const q = tcpQuery.safeParse(queryObject(query));
  if (!q.success) zodFail(url, q.error);
  return {
    kind: 'tcp',
    host: t.data.host.replace(/^\[(.*)\]$/, '$1'),
    port: t.data.port,
    ...(q.data.secret !== undefined ? { secret: q.data.secret } : {}),
    timeoutMs: q.data.timeout ?? DEFAULT_TCP_TIMEOUT_MS,
  };
}
