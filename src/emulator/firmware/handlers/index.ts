// The dispatch table: one handler per operation of the catalogue (src/protocol/registry.ts).
// Typed as { [K in OpName]: Handler<K> }, so an operation without a handler does not compile.
import type { HandlerTable } from './handler.ts';
import { bulkHandlers } from './bulk.ts';
import { resultHandlers } from './results.ts';
import { runHandlers } from './runs.ts';
import { sessionHandlers } from './session.ts';
import { systemHandlers } from './system.ts';

export const HANDLERS: HandlerTable = {
  ...sessionHandlers,
  ...systemHandlers,
  ...bulkHandlers,
  ...runHandlers,
  ...resultHandlers,
};

export type { Handler, HandlerTable } from './handler.ts';
export { enterFault } from './runs.ts';
