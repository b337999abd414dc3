// Message registry: operation ↔ type number ↔ request/reply schemas. A frame's kind is its type
// plus the REPLY/ERROR/EVENT flags: request (no flag), reply (REPLY), error (REPLY|ERROR, body =
// Error, type echoes the request), event (EVENT, device-initiated).
import type { z } from 'zod';
import * as S from './schemas.ts';

export const OPERATIONS = {
  Hello: { type: 0x0001, request: S.HelloRequestSchema, reply: S.HelloReplySchema },
  Status: { type: 0x0002, request: S.EmptySchema, reply: S.StatusReplySchema },
  Heartbeat: { type: 0x0003, request: S.HeartbeatRequestSchema, reply: S.HeartbeatReplySchema },
  DeviceReset: { type: 0x0004, request: S.DeviceResetRequestSchema, reply: S.EmptySchema },
  ErrorsRead: { type: 0x0005, request: S.ErrorsReadRequestSchema, reply: S.ErrorsReadReplySchema },
  ErrorsClear: { type: 0x0006, request: S.EmptySchema, reply: S.ErrorsClearReplySchema },
  Configure: { type: 0x0010, request: S.ConfigureRequestSchema, reply: S.ConfigureReplySchema },
  Curvature: { type: 0x0011, request: S.CurvatureRequestSchema, reply: S.CurvatureReplySchema },
  Gradient: { type: 0x0012, request: S.GradientRequestSchema, reply: S.GradientReplySchema },
  StateSet: { type: 0x0013, request: S.StateSetRequestSchema, reply: S.StateSetReplySchema },
  StateReset: { type: 0x0014, request: S.EmptySchema, reply: S.EmptySchema },
  BulkBegin: { type: 0x0020, request: S.BulkBeginRequestSchema, reply: S.BulkBeginReplySchema },
  BulkChunk: { type: 0x0021, request: S.BulkChunkRequestSchema, reply: S.BulkChunkReplySchema },
  BulkCommit: { type: 0x0022, request: S.BulkCommitRequestSchema, reply: S.BulkCommitReplySchema },
  BulkAbort: { type: 0x0023, request: S.BulkAbortRequestSchema, reply: S.BulkAbortReplySchema },
  Run: { type: 0x0030, request: S.RunRequestSchema, reply: S.RunReplySchema },
  Abort: { type: 0x0031, request: S.EmptySchema, reply: S.AbortReplySchema },
  Results: { type: 0x0032, request: S.ResultsRequestSchema, reply: S.ResultsReplySchema },
  ResultsRead: { type: 0x0033, request: S.ResultsReadRequestSchema, reply: S.ResultsReadReplySchema },
  SamplesRead: { type: 0x0034, request: S.SamplesReadRequestSchema, reply: S.SamplesReadReplySchema },
} as const;

/** Device-initiated messages (FLAG_EVENT); the request id is that of the request they belong to. */
export const EVENTS = {
  SampleBlock: { type: 0x0040, body: S.SampleBlockSchema },
} as const;

export type OpName = keyof typeof OPERATIONS;
export type EventName = keyof typeof EVENTS;

type Ops = typeof OPERATIONS;
export type RequestBody<K extends OpName> = z.infer<Ops[K]['request']>;
export type ReplyBody<K extends OpName> = z.infer<Ops[K]['reply']>;
export type EventBody<K extends EventName> = z.infer<(typeof EVENTS)[K]['body']>;

export type RequestKind = `${OpName}Request`;
export type ReplyKind = `${OpName}Reply`;
export type EventKind = `${EventName}Event`;
export type MessageKind = RequestKind | ReplyKind | EventKind | 'Error';

export type RequestMessage = { [K in OpName]: { kind: `${K}Request`; body: RequestBody<K> } }[OpName];
export type ReplyMessage = { [K in OpName]: { kind: `${K}Reply`; body: ReplyBody<K> } }[OpName];
export type EventMessage = { [K in EventName]: { kind: `${K}Event`; body: EventBody<K> } }[EventName];
/** An error reply; `requestType` is the type of the request it answers (may be unknown). */
export type ErrorMessage = { kind: 'Error'; requestType: number; body: S.ErrorBody };
export type Message = RequestMessage | ReplyMessage | EventMessage | ErrorMessage;
export type MessageOf<K extends MessageKind> = Extract<Message, { kind: K }>;

export type Direction = 'request' | 'reply' | 'event' | 'error';

export interface KindInfo {
  kind: MessageKind;
  /** operation or event name */
  name: OpName | EventName | 'Error';
  direction: Direction;
  /** header type; for errors the type of the failed request (not fixed) */
  type: number;
  schema: z.ZodType;
}

const byKind = new Map<string, KindInfo>();
const opByType = new Map<number, OpName>();
const eventByType = new Map<number, EventName>();
for (const [name, op] of Object.entries(OPERATIONS) as [OpName, Ops[OpName]][]) {
  byKind.set(`${name}Request`, { kind: `${name}Request`, name, direction: 'request', type: op.type, schema: op.request });
  byKind.set(`${name}Reply`, { kind: `${name}Reply`, name, direction: 'reply', type: op.type, schema: op.reply });
  opByType.set(op.type, name);
}
for (const [name, ev] of Object.entries(EVENTS) as [EventName, (typeof EVENTS)[EventName]][]) {
  byKind.set(`${name}Event`, { kind: `${name}Event`, name, direction: 'event', type: ev.type, schema: ev.body });
  eventByType.set(ev.type, name);
}
byKind.set('Error', { kind: 'Error', name: 'Error', direction: 'error', type: 0, schema: S.ErrorBodySchema });

export const MESSAGE_KINDS: readonly MessageKind[] = [...byKind.keys()] as MessageKind[];

export function kindInfo(kind: MessageKind): KindInfo {
  const k = byKind.get(kind);
  if (!k) throw new TypeError(`unknown message kind ${kind}`);
  return k;
}
export function opNameOfType(type: number): OpName | undefined {
  return opByType.get(type);
}
export function eventNameOfType(type: number): EventName | undefined {
  return eventByType.get(type);
}
/** Every request kind is answered by exactly this reply kind (or by an Error). */
export function replyKindOf(kind: RequestKind): ReplyKind {
  return kind.replace(/Request$/, 'Reply') as ReplyKind;
}
export function isKnownType(type: number): boolean {
  return opByType.has(type) || eventByType.has(type);
}
