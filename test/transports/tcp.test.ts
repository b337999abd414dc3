import { describe, it, expect } from 'vitest';
import { connect, createServer, type Socket } from 'node:net';
import { serveTcp, RemoteBindRefusedError, isLoopbackHost } from '../../src/emulator/transports/tcp-server.ts';
import { openTcpLink, tcpLinkMac } from '../../src/driver/transports/tcp-link.ts';
import { linkMac } from '../../src/protocol/index.ts';
import { rebootableDevice, staleBytes } from '../../src/emulator/transports/faults.ts';
import { LinkError } from '../../src/driver/transports/errors.ts';
import { reverseDevice, echoDevice, patternBytes, collect, until } from './devices.ts';

describe('TCP device server and host link', () => {
  it('round-trips through the greeting without a secret, and carries 1 MiB intact', async () => {
    const srv = await serveTcp(echoDevice, { port: 0 });
    try {
      expect(srv.url).toMatch(/^tcp:\/\/127\.0\.0\.1:\d+$/);
      const link = await openTcpLink(srv.url);
      const data = patternBytes(1 << 20, 3);
      const back = collect(link, data.length);
      for (let i = 0; i < data.length; i += 16384) link.write(data.subarray(i, i + 16384));
      expect((await back).equals(data)).toBe(true);
      link.destroy();
      expect(srv.stats.sessions).toBe(1);
    } finally {
      await srv.close();
    }
  });

  it('authenticates with the right secret (both directions) and refuses a wrong one, counting it', async () => {
    const srv = await serveTcp(reverseDevice, { port: 0, secret: 's3cret' });
    try {
      const link = await openTcpLink({ host: '127.0.0.1', port: srv.port, secret: 's3cret' });
      const answer = collect(link, 4);
      link.write(Buffer.from('abc\0'));
      expect((await answer).toString()).toBe('cba\0');
      link.destroy();
      await until(() => !srv.connected, 5000, 'server sees the host leave');

      const wrong = openTcpLink(`${srv.url}?secret=nope`);
      await expect(wrong).rejects.toMatchObject({ code: 'AUTH_FAILED', message: expect.stringMatching(/wrong shared secret/) });
      await expect(openTcpLink(srv.url)).rejects.toMatchObject({ code: 'AUTH_REQUIRED' });
      await until(() => !srv.connected, 5000, 'server sees the host hang up');
      // Only the wrong secret counts; a host that hangs up on seeing the challenge does not.
      expect(srv.stats.authFailures).toBe(1);
      expect(srv.stats.sessions).toBe(1);
    } finally {
      await srv.close();
    }
  });

  it('a host that offers a secret refuses a server that has none (no silent downgrade)', async () => {
    const srv = await serveTcp(echoDevice, { port: 0 });
    try {
      await expect(openTcpLink({ host: '127.0.0.1', port: srv.port, secret: 'x' })).rejects.toMatchObject({ code: 'AUTH_REQUIRED' });
    } finally {
      await srv.close();
    }
  });

  it('a raw client that never answers the challenge is cut off with auth-timeout', async () => {
    const srv = await serveTcp(echoDevice, { port: 0, secret: 'k', authTimeoutMs: 100 });
    try {
      const sock = connect({ host: '127.0.0.1', port: srv.port });
      const text = await new Promise<string>((resolve) => {
        let acc = '';
        sock.on('data', (d) => (acc += d.toString()));
        sock.on('close', () => resolve(acc));
      });
      expect(text).toMatch(/^TNGD-LINK\/1 challenge [0-9a-f]{64}\n/);
      expect(text).toMatch(/TNGD-LINK\/1 refused auth-timeout /);
      expect(srv.stats.authFailures).toBe(1);
    } finally {
      await srv.close();
    }
  });

  it('serves one host at a time: a second client is refused as busy; the device keeps its state', async () => {
    const srv = await serveTcp(reverseDevice, { port: 0 });
    try {
      const a = await openTcpLink(srv.url);
      a.write(Buffer.from('xy')); // half a message
      await expect(openTcpLink(srv.url)).rejects.toMatchObject({ code: 'REFUSED', message: expect.stringMatching(/busy.*already has a host/) });
      expect(srv.stats.refusedBusy).toBe(1);
      await new Promise((r) => setTimeout(r, 20)); // let 'xy' reach the device before hanging up
      a.destroy();
      await until(() => !srv.connected, 5000, 'server sees the host leave');
      const b = await openTcpLink(srv.url);
      const answer = collect(b, 4);
      b.write(Buffer.from('z\0'));
      expect((await answer).toString()).toBe('zyx\0'); // same device instance, same half message
      expect(srv.stats.powerOns).toBe(1);
      b.destroy();
    } finally {
      await srv.close();
    }
  });

  it('refuses to bind a non-loopback address unless allowRemote', async () => {
    await expect(serveTcp(echoDevice, { port: 0, host: '0.0.0.0' })).rejects.toBeInstanceOf(RemoteBindRefusedError);
    await expect(serveTcp(echoDevice, { port: 0, host: '::' })).rejects.toThrow(/allowRemote/);
    const srv = await serveTcp(echoDevice, { port: 0, host: '0.0.0.0', allowRemote: true, secret: 'k' });
    await srv.close();
    expect(isLoopbackHost('127.0.0.5')).toBe(true);
    expect(isLoopbackHost('::1')).toBe(true);
    expect(isLoopbackHost('10.0.0.1')).toBe(false);
  });

  it('reports connection refused as a typed open failure', async () => {
    const srv = await serveTcp(echoDevice, { port: 0 });
    const port = srv.port;
    await srv.close();
    const err = await openTcpLink({ host: '127.0.0.1', port }).catch((e: unknown) => e);
    expect(err).toBeInstanceOf(LinkError);
    expect(err).toMatchObject({ code: 'OPEN_FAILED', message: expect.stringMatching(/ECONNREFUSED/) });
  });

  it('a device that powers off drops the host connection; the next host gets a fresh device', async () => {
    let made = 0;
    const instances: ReturnType<typeof echoDevice>[] = [];
    const srv = await serveTcp(() => {
      made++;
      const d = echoDevice();
      instances.push(d);
      return d;
    }, { port: 0 });
    try {
      const a = await openTcpLink(srv.url);
      const closed = new Promise((r) => a.once('close', r));
      a.write(Buffer.from('ping'));
      await collect(a, 4);
      instances[0].destroy();
      await closed;
      await until(() => !srv.connected, 5000, 'server sees the host leave');
      const b = await openTcpLink(srv.url);
      const back = collect(b, 2);
      b.write(Buffer.from('ok'));
      expect((await back).toString()).toBe('ok');
      expect(made).toBe(2);
      b.destroy();
    } finally {
      await srv.close();
    }
  });
});

describe('TCP link authentication vector (firmware-spec/TRANSPORTS.md)', () => {
  // Computed independently with Python's hmac module; the shared implementation (and the host's
  // exported alias) must reproduce it.
  const secret = 'tngd-test-secret';
  const serverNonce = Buffer.from(Array.from({ length: 32 }, (_, i) => i));
  const clientNonce = Buffer.from(Array.from({ length: 32 }, (_, i) => 32 + i));
  const CLIENT = 'bfa790c3d4ca0168b4db19b4ed772109f96f156083a3db053f688f87f747dfb3';
  const SERVER = '1be0bab343fd317ce737180733b14afb24ee6bb1c22afa51fecdd0f351f02205';

  it('the link HMAC computes the pinned client and server proofs', () => {
    expect(linkMac(secret, 'client', serverNonce, clientNonce).toString('hex')).toBe(CLIENT);
    expect(linkMac(secret, 'server', serverNonce, clientNonce).toString('hex')).toBe(SERVER);
    expect(tcpLinkMac(secret, 'client', serverNonce, clientNonce).toString('hex')).toBe(CLIENT);
    expect(tcpLinkMac(secret, 'server', serverNonce, clientNonce).toString('hex')).toBe(SERVER);
  });

  it('a host rejects a server that answers with a wrong proof (impostor without the secret)', async () => {
    const impostor = createServer((s) => {
      s.write(`TNGD-LINK/1 challenge ${serverNonce.toString('hex')}\n`);
      s.once('data', () => s.write(`TNGD-LINK/1 ok ${'00'.repeat(32)}\n`));
    });
    await new Promise<void>((r) => impostor.listen(0, '127.0.0.1', () => r()));
    const port = (impostor.address() as { port: number }).port;
    try {
      await expect(openTcpLink({ host: '127.0.0.1', port, secret })).rejects.toMatchObject({ code: 'AUTH_FAILED', message: expect.stringMatching(/could not prove/) });
    } finally {
      impostor.close();
    }
  });

  it('a host gives up on a server that never greets (raw TCP bridge) with TIMEOUT', async () => {
    const conns: Socket[] = [];
    const mute = createServer((s) => void conns.push(s));
    await new Promise<void>((r) => mute.listen(0, '127.0.0.1', () => r()));
    const port = (mute.address() as { port: number }).port;
    try {
      await expect(openTcpLink({ host: '127.0.0.1', port, timeoutMs: 150 })).rejects.toMatchObject({ code: 'TIMEOUT' });
    } finally {
      for (const c of conns) c.destroy();
      mute.close();
    }
  });
});

describe('TCP link carries bytes that follow the greeting immediately', () => {
  it('stale bytes a device emits at power-on reach the host intact, right after auth (no byte lost or duplicated)', async () => {
    const board = rebootableDevice(echoDevice, { seed: 11, staleBytes: 300, staleOnPowerOn: true });
    const srv = await serveTcp(board.factory, { port: 0, secret: 'k' });
    try {
      const link = await openTcpLink({ host: '127.0.0.1', port: srv.port, secret: 'k' });
      const got = await collect(link, 300);
      expect(got.equals(staleBytes(11, 300))).toBe(true);
      const echo = collect(link, 3);
      link.write(Buffer.from('abc'));
      expect((await echo).toString()).toBe('abc');
      link.destroy();
    } finally {
      await srv.close();
    }
  });
});
