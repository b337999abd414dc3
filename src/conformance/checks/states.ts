// PROTOCOL.md §10: every request in every reachable state, against the shared legality table.
import { ErrorCode, LEGALITY, OPERATIONS, crc32c, errorCodeName } from '../../protocol/index.ts';
import type { DeviceState, OpName } from '../../protocol/index.ts';
import { DeviceError } from '../../driver/errors.ts';
import type { CheckContext } from '../context.ts';
import { f64 } from '../context.ts';
import type { CheckDef } from '../types.ts';
import { CheckFailure } from '../types.ts';
import { hello } from './handshake.ts';

const STATE_CODES: ReadonlySet<number> = new Set([ErrorCode.ILLEGAL_IN_STATE, ErrorCode.NOT_CONFIGURED, ErrorCode.BUSY]);
const N = 2;

async function begin(ctx: CheckContext): Promise<{ transferId: number; data: Buffer }> {
  const data = f64([0.5, 0.25], [N]).data as Buffer;
  const r = await ctx.request('BulkBegin', { dtype: 'f64', shape: [N], totalBytes: data.length, crc32c: crc32c(data) });
  return { transferId: r.transferId, data };
}

/** One well-formed request per operation (DeviceReset is covered by the reset checks). */
const PROBES: Partial<Record<OpName, (ctx: CheckContext) => Promise<unknown>>> = {
  Hello: (ctx) => ctx.request('Hello', hello()),
  Status: (ctx) => ctx.request('Status', {}),
  Heartbeat: (ctx) => ctx.request('Heartbeat', { nonce: 5 }),
  ErrorsRead: (ctx) => ctx.request('ErrorsRead', { max: 1 }),
  ErrorsClear: (ctx) => ctx.request('ErrorsClear', {}),
  Configure: (ctx) => ctx.request('Configure', ctx.configureBody()),
  Curvature: (ctx) => ctx.request('Curvature', ctx.curvatureBody([2, 0, 0, 2], N)),
  Gradient: (ctx) => ctx.request('Gradient', { g: f64([1, 1], [N]) }),
  StateSet: (ctx) => ctx.request('StateSet', { x: f64([0.1, 0.2], [N]) }),
  StateReset: (ctx) => ctx.request('StateReset', {}),
  BulkBegin: async (ctx) => {
    const t = await begin(ctx);
    await ctx.request('BulkAbort', { transferId: t.transferId });
  },
  // BulkBegin is legal wherever BulkChunk/BulkCommit are, so the probes open their own transfer.
  BulkChunk: async (ctx) => {
    const t = await begin(ctx);
    await ctx.request('BulkChunk', { transferId: t.transferId, seq: 0, offset: 0, data: t.data });
    await ctx.request('BulkAbort', { transferId: t.transferId });
  },
  BulkCommit: async (ctx) => {
    const t = await begin(ctx);
    await ctx.request('BulkChunk', { transferId: t.transferId, seq: 0, offset: 0, data: t.data });
    await ctx.request('BulkCommit', { transferId: t.transferId });
    await ctx.request('BulkAbort', { transferId: t.transferId });
  },
  BulkAbort: (ctx) => ctx.request('BulkAbort', { transferId: 0xfffffff0 }),
  Run: (ctx) => ctx.request('Run', { durationTau: 1, start: 'reset' }),
  Results: (ctx) => ctx.request('Results', { vectors: 'none', dtype: 'f64' }),
  ResultsRead: (ctx) => ctx.request('ResultsRead', { field: 'mean', dtype: 'f64', offset: 0, count: 1 }),
  SamplesRead: (ctx) => ctx.request('SamplesRead', { fromSeq: 0, maxBlocks: 1 }),
  Abort: (ctx) => ctx.request('Abort', {}),
};

/** Legal probes that may still fail for a reason that is not the state (no run yet). */
const BENIGN: Partial<Record<OpName, ReadonlySet<number>>> = {
  Results: new Set([ErrorCode.NO_RESULTS]),
  ResultsRead: new Set([ErrorCode.NO_RESULTS, ErrorCode.OUT_OF_RANGE]),
};

type Outcome = { op: OpName; expected: string; got: string; ok: boolean };

async function probe(ctx: CheckContext, op: OpName, state: DeviceState): Promise<Outcome> {
  const want = LEGALITY[op][state];
  const expected = want === null ? 'legal' : errorCodeName(want);
  let got = 'ok';
  let code: number | null = null;
  try {
    await PROBES[op]!(ctx);
  } catch (e) {
    if (!(e instanceof DeviceError)) throw e;
    code = e.code;
    got = e.codeName;
  }
  const ok = want === null ? code === null || (!STATE_CODES.has(code) && (BENIGN[op]?.has(code) ?? false)) : code === want;
  return { op, expected, got, ok };
}

function verdict(ctx: CheckContext, state: DeviceState, outcomes: Outcome[]): Record<string, unknown> {
  const bad = outcomes.filter((o) => !o.ok);
  const table = Object.fromEntries(outcomes.map((o) => [o.op, o.got]));
  ctx.expect(bad.length === 0, `in ${state}: ${bad.map((o) => `${o.op} expected ${o.expected}, got ${o.got}`).join('; ')}`, { answers: table });
  return { answers: table };
}

const OPS = (Object.keys(OPERATIONS) as OpName[]).filter((op) => op !== 'DeviceReset' && PROBES[op]);

export const stateChecks: CheckDef[] = [
  {
    id: 'state.IDLE',
    title: 'Every request in IDLE: legal ones answered, the rest NOT_CONFIGURED (§10)',
    async run(ctx) {
      const out: Outcome[] = [];
      for (const op of OPS) {
        await ctx.fresh();
        out.push(await probe(ctx, op, 'IDLE'));
      }
      return verdict(ctx, 'IDLE', out);
    },
  },
  {
    id: 'state.READY',
    title: 'Every request in READY is legal (§10)',
    async run(ctx) {
      const out: Outcome[] = [];
      for (const op of OPS) {
        await ctx.fresh();
        await ctx.loadSmall(N);
        out.push(await probe(ctx, op, 'READY'));
      }
      return verdict(ctx, 'READY', out);
    },
  },
  {
    id: 'state.RUNNING',
    title: 'Every request in RUNNING: status/liveness/bulk/abort answered, the rest BUSY (§10)',
    async run(ctx) {
      await ctx.fresh();
      await ctx.loadSmall(N);
      const run = await ctx.startLongRun();
      await ctx.waitRunning();
      const out: Outcome[] = [];
      // Abort last: it ends the run.
      for (const op of [...OPS.filter((o) => o !== 'Abort'), 'Abort' as const]) {
        const s = (await ctx.status()).state;
        if (s !== 'RUNNING') throw new CheckFailure(`the run ended early (state ${s}) before probing ${op}`);
        out.push(await probe(ctx, op, 'RUNNING'));
      }
      const end = await run.outcome;
      ctx.expect(end.error instanceof DeviceError && end.error.code === ErrorCode.ABORTED, `the aborted Run should be answered ABORTED, got ${end.error ? (end.error as Error).message : 'a reply'}`);
      return verdict(ctx, 'RUNNING', out);
    },
  },
  {
    id: 'state.FAULT',
    title: 'Every request in FAULT (§10)',
    skip: () => 'FAULT is entered only when the device detects a hardware fault; it cannot be provoked over the protocol',
    async run() {},
  },
  {
    id: 'state.transitions',
    title: 'IDLE →Configure→ READY →Run→ RUNNING → READY; DeviceReset → IDLE',
    async run(ctx) {
      await ctx.fresh();
      const seen: string[] = [(await ctx.status()).state];
      const c = await ctx.request('Configure', ctx.configureBody());
      seen.push(c.state);
      await ctx.loadSmall(N);
      const run = await ctx.startLongRun();
      await ctx.waitRunning();
      seen.push((await ctx.status()).state);
      await ctx.request('Abort', {});
      await run.outcome;
      seen.push((await ctx.status()).state);
      await ctx.request('DeviceReset', {});
      seen.push((await ctx.status()).state);
      ctx.expect(seen.join(',') === 'IDLE,READY,RUNNING,READY,IDLE', `states seen: ${seen.join(' → ')}`);
      return { states: seen };
    },
  },
];
