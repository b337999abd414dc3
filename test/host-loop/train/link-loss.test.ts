// Link loss during training (issue 12 item 7): the TCP link to the device is cut mid-run by a
// proxy standing in for the cable. With the device reachable again, train() reconnects, restores
// and continues to the same parameter bits as a run without the fault (seeded noise, κ₀ > 0);
// with the device gone, it stops with a checkpoint at the last completed iteration, and resuming
// from it ends on the same bits as well.
import { afterAll, describe, expect, it } from 'vitest';
import { createServer, connect as netConnect, type Server, type Socket } from 'node:net';
import { existsSync, readdirSync } from 'node:fs';
import { join } from 'node:path';
import { emulatorFactory } from '../../../src/emulator/firmware/index.ts';
import { serveTcp, type TcpDeviceServer } from '../../../src/emulator/transports/tcp-server.ts';
import { faultyLink } from '../../../src/emulator/transports/faults.ts';
import { LinkLostError, deviceNeeds, parseTrainConfig, train } from '../../../src/host-loop/train/index.ts';
import { sameBytes, tempDir } from './helpers.ts';

const dir = tempDir('link-loss');

// κ₀ > 0: the continuation is bit-identical only if the restored device draws the same noise.
const cfg = {
  model: 'mlp:196-4-10',
  batch: 4,
  iters: 8,
  evalEvery: 4,
  checkpointEvery: 100,
  seed: 3,
  optimizer: 'tngd',
  optimizerOptions: { lr: 0.1, damping: 0.1, kappa0: 1e-3, tTau: 2, integrator: 'exact' },
};
const needs = deviceNeeds(parseTrainConfig(cfg));

/** A TCP proxy in front of the device server: cut() drops every connection (the cable pulled). */
interface Cable {
  url: string;
  /** host→device bytes so far */
  bytes(): number;
  /** device→host bytes so far */
  replyBytes(): number;
  cutAfterBytes(n: number, then?: () => void): void;
  close(): Promise<void>;
}

async function cable(target: TcpDeviceServer): Promise<Cable> {
  const { port } = new URL(target.url);
  const sockets = new Set<Socket>();
  let sent = 0;
  let received = 0;
  let cutAt = Infinity;
  let after: (() => void) | undefined;
  const cut = (): void => {
    cutAt = Infinity;
    for (const s of sockets) s.destroy();
    after?.();
  };
  const server: Server = createServer((host) => {
    const dev = netConnect(Number(port), '127.0.0.1');
    sockets.add(host).add(dev);
    host.on('data', (d: Buffer) => {
      sent += d.length;
      dev.write(d);
      if (sent >= cutAt) cut();
    });
    dev.on('data', (d: Buffer) => {
      received += d.length;
      host.write(d);
    });
    for (const [a, b] of [
      [host, dev],
      [dev, host],
    ] as const) {
      a.on('close', () => b.destroy());
      a.on('error', () => b.destroy());
    }
  });
  await new Promise<void>((r) => server.listen(0, '127.0.0.1', () => r()));
  return {
    url: `tcp://127.0.0.1:${(server.address() as { port: number }).port}`,
    bytes: () => sent,
    replyBytes: () => received,
    cutAfterBytes: (n, then) => {
      cutAt = sent + n;
      after = then;
    },
    close: () => {
      for (const s of sockets) s.destroy();
      return new Promise<void>((r) => server.close(() => r()));
    },
  };
}

const servers: TcpDeviceServer[] = [];
afterAll(async () => {
  for (const s of servers) await s.close();
});

async function device(): Promise<TcpDeviceServer> {
  const s = await serveTcp(emulatorFactory({ maxCells: needs.cells, maxRank: needs.rank, memoryBytes: needs.memoryBytes + 64 * 2 ** 20, maxFrameBytes: 65535 }), { port: 0 });
  servers.push(s);
  return s;
}

describe('link loss during training', () => {
  let reference: Float64Array;
  let bytesPerRun = 0;
  let replyBytes = 0;

  it('reference: the same run without a fault, through the same proxy', async () => {
    const c = await cable(await device());
    const r = await train({ ...cfg, device: c.url }, { out: join(dir, 'ref'), report: false });
    expect(r.iterations).toBe(8);
    reference = r.params;
    bytesPerRun = c.bytes();
    replyBytes = c.replyBytes();
    await c.close();
  });

  it('the link cut mid-run: reconnected with backoff, restored, same parameter bits', async () => {
    const c = await cable(await device());
    c.cutAfterBytes(Math.floor(bytesPerRun * 0.45));
    const lines: string[] = [];
    const r = await train({ ...cfg, device: c.url }, { out: join(dir, 'recovered'), report: false, log: (l) => lines.push(l), reconnect: { attempts: 4, initialDelayMs: 20 } });
    await c.close();
    expect(lines.some((l) => /link to tcp:\/\/127\.0\.0\.1:\d+ lost at iteration [3-5]/.test(l)), lines.join('\n')).toBe(true);
    expect(lines.some((l) => /reconnected .* restored the device state; repeating iteration/.test(l))).toBe(true);
    expect(r.iterations).toBe(8);
    expect(sameBytes(r.params, reference)).toBe(true);
    // one metrics line per iteration, none duplicated by the repeat
    expect(r.records.map((x) => x.iter)).toEqual([1, 2, 3, 4, 5, 6, 7, 8]);
  });

  it('the device power-cycled with the link (reply lost after the run): a fresh device, restored, same parameter bits', async () => {
    // The first device instance dies once it has sent a share of the replies; the server powers
    // on a fresh one for the reconnect, which knows nothing: configuration, system, state and run
    // counter all come from the driver's restore.
    const base = emulatorFactory({ maxCells: needs.cells, maxRank: needs.rank, memoryBytes: needs.memoryBytes + 64 * 2 ** 20, maxFrameBytes: 65535 });
    let powerOns = 0;
    const srv = await serveTcp(() => (powerOns++ === 0 ? faultyLink(base(), { seed: 1, toHost: { disconnectAfterBytes: Math.floor(replyBytes * 0.5) } }) : base()), { port: 0 });
    servers.push(srv);
    const lines: string[] = [];
    const r = await train({ ...cfg, device: srv.url }, { out: join(dir, 'power-cycled'), report: false, log: (l) => lines.push(l), reconnect: { attempts: 4, initialDelayMs: 20 } });
    expect(powerOns).toBe(2);
    expect(lines.some((l) => /repeating iteration [2-7]/.test(l)), lines.join('\n')).toBe(true);
    expect(sameBytes(r.params, reference)).toBe(true);
  });

  it('the device gone: stops with a checkpoint at the last completed iteration and the --resume command; resuming ends on the same bits', async () => {
    const srv = await device();
    const c = await cable(srv);
    // the cable is cut and the proxy stops listening: every reconnect attempt is refused
    let closing: Promise<void> | undefined;
    c.cutAfterBytes(Math.floor(bytesPerRun * 0.45), () => (closing = c.close()));
    const out = join(dir, 'stopped');
    const lines: string[] = [];
    const err = await train({ ...cfg, device: c.url }, { out, report: false, log: (l) => lines.push(l), reconnect: { attempts: 3, initialDelayMs: 10 } }).catch((e: unknown) => e);
    await closing;
    expect(err).toBeInstanceOf(LinkLostError);
    const e = err as LinkLostError;
    expect(e.category).toBe('link');
    expect(e.checkpointIteration).toBe(e.iteration - 1);
    expect(e.checkpointIteration).toBeGreaterThan(0);
    expect(e.resumeCommand).toBe(`tngd train --resume ${out}`);
    expect(lines.filter((l) => /reconnect attempt \d failed/.test(l))).toHaveLength(3);
    expect(readdirSync(join(out, 'checkpoints'))).toEqual([`ckpt-${String(e.checkpointIteration).padStart(10, '0')}.ckpt`]);

    // the device is back (another address: --device on resume)
    const again = await device();
    const r = await train(undefined, { resume: out, overrides: { device: again.url }, report: false });
    expect(r.iterations).toBe(8);
    expect(sameBytes(r.params, reference)).toBe(true);
  });

  it('lost before the first iteration completes: nothing to resume, no run folder left', async () => {
    const c = await cable(await device());
    let closing: Promise<void> | undefined;
    c.cutAfterBytes(2000, () => (closing = c.close()));
    const out = join(dir, 'never-started');
    const err = await train({ ...cfg, device: c.url }, { out, report: false, reconnect: { attempts: 1, initialDelayMs: 10 } }).catch((e: unknown) => e);
    await closing;
    expect(err).toBeInstanceOf(LinkLostError);
    expect((err as LinkLostError).checkpointIteration).toBe(0);
    expect((err as Error).message).toMatch(/nothing to resume/);
    expect(existsSync(out)).toBe(false);
  });
});
