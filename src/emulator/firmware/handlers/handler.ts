// The shape of a request handler, and the table type that makes a missing handler a compile
// error: HANDLERS in ./index.ts must name one function per operation of the catalogue.
import type { OpName, RequestBody } from '../../../protocol/index.ts';
import type { FirmwareState } from '../firmware-state.ts';

/**
 * Serves one request that passed decoding, the fault layer and the legality table. Answers
 * through dev.reply (now or later, e.g. a Run); throws a ProtocolError (or a PhysicsError) to
 * refuse it, which the caller turns into the Error reply.
 */
export type Handler<K extends OpName> = (dev: FirmwareState, body: RequestBody<K>, requestId: number) => void;

export type HandlerTable = { [K in OpName]: Handler<K> };
