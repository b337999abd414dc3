import { describe, it, expect, afterEach } from 'vitest';
import fc from 'fast-check';
import { spawnSync } from 'node:child_process';
import { openLink } from '../../src/driver/transports/open-link.ts';
import { parseLinkUrl, redactLinkUrl, describeLink, DEFAULT_BAUD } from '../../src/driver/transports/link-url.ts';
import { LinkError } from '../../src/driver/transports/errors.ts';
import { registerVirtualDevice, type VirtualDeviceHandle } from '../../src/driver/transports/virtual-binding.ts';
import { serveTcp } from '../../src/emulator/transports/tcp-server.ts';
import { startPty } from '../../src/emulator/transports/pty.ts';
import { echoDevice, reverseDevice, collect } from './devices.ts';

const haveSocat = spawnSync('socat', ['-V']).status === 0;
const handles: VirtualDeviceHandle[] = [];
afterEach(() => {
  for (const h of handles.splice(0)) h.unregister();
});

describe('link URL parsing', () => {
  it('accepts the documented forms', () => {
    expect(parseLinkUrl('serial:///dev/ttyUSB0?baud=921600')).toEqual({ kind: 'serial', path: '/dev/ttyUSB0', baudRate: 921600 });
    expect(parseLinkUrl('/dev/ttyACM0')).toEqual({ kind: 'serial', path: '/dev/ttyACM0', baudRate: DEFAULT_BAUD });
    expect(parseLinkUrl('COM3')).toEqual({ kind: 'serial', path: 'COM3', baudRate: DEFAULT_BAUD });
    expect(parseLinkUrl('serial://COM7?baud=115200')).toEqual({ kind: 'serial', path: 'COM7', baudRate: 115200 });
    expect(parseLinkUrl('tcp://127.0.0.1:5555?secret=k&timeout=250')).toEqual({ kind: 'tcp', host: '127.0.0.1', port: 5555, secret: 'k', timeoutMs: 250 });
    expect(parseLinkUrl('tcp://[::1]:80')).toMatchObject({ host: '::1', port: 80 });
    expect(parseLinkUrl('emu:')).toEqual({ kind: 'emu', name: 'default', path: 'emu:default', params: {} });
    expect(parseLinkUrl('emu:lab?seed=3&profile=small')).toEqual({ kind: 'emu', name: 'lab', path: 'emu:lab', params: { seed: '3', profile: 'small' } });
  });

  it.each([
    ['http://x:1', /unknown scheme "http:"/],
    ['tcp://host', /port is missing/],
    ['tcp://host:99999', /port must be an integer in 1\.\.65535/],
    ['tcp://host:0', /port must be an integer in 1\.\.65535/],
    ['tcp://host:12/x', /unexpected path/],
    ['tcp://h:1?secret=k&sekret=j', /unknown parameter\(s\) "sekret"/],
    ['serial:///dev/x?baud=fast', /baud must be an integer in 50\.\.16000000/],
    ['serial:///dev/x?baud=20', /baud must be an integer in 50\.\.16000000/],
    ['serial:///dev/x?baud=9600&baud=19200', /given twice/],
    ['serial://', /path is missing/],
    ['emu:a b', /emulator name/],
    ['', /empty link URL/],
  ])('rejects %s with a clear BAD_URL error', (url, msg) => {
    let err: unknown;
    try {
      parseLinkUrl(url);
    } catch (e) {
      err = e;
    }
    expect(err).toBeInstanceOf(LinkError);
    expect(err).toMatchObject({ code: 'BAD_URL', message: expect.stringMatching(msg) });
  });

  it('never leaks a secret into errors or labels', () => {
    expect(() => parseLinkUrl('tcp://h:1?secret=hunter2&bad=1')).toThrow(/secret=\*\*\*/);
    expect(() => parseLinkUrl('tcp://h:1?secret=hunter2&bad=1')).not.toThrow(/hunter2/);
    expect(redactLinkUrl('tcp://h:1?a=1&secret=hunter2&b=2')).toBe('tcp://h:1?a=1&secret=***&b=2');
    expect(describeLink(parseLinkUrl('tcp://h:1?secret=hunter2'))).toBe('tcp://h:1 (secret)');
  });

  it('property: any string either parses or fails with BAD_URL, nothing else (300 runs)', () => {
    fc.assert(
      fc.property(fc.oneof(fc.string(), fc.webUrl(), fc.constantFrom('tcp://', 'serial:', 'emu:').chain((p) => fc.string().map((s) => p + s))), (s) => {
        try {
          parseLinkUrl(s);
        } catch (e) {
          expect(e).toBeInstanceOf(LinkError);
          expect((e as LinkError).code).toBe('BAD_URL');
        }
      }),
      { numRuns: 300, seed: 4 },
    );
  });

  it('property: serial URLs round-trip any integer baud in range and any plain path (200 runs)', () => {
    fc.assert(
      fc.property(fc.integer({ min: 50, max: 16_000_000 }), fc.stringMatching(/^\/dev\/[A-Za-z0-9_]{1,12}$/), (baud, path) => {
        expect(parseLinkUrl(`serial://${path}?baud=${baud}`)).toEqual({ kind: 'serial', path, baudRate: baud });
      }),
      { numRuns: 200, seed: 5 },
    );
  });
});

describe('openLink', () => {
  it('emu: with a caller-supplied factory gets the URL params, talks, and powers the device off on close', async () => {
    let seen: Record<string, string> | undefined;
    let dev: ReturnType<typeof reverseDevice> | undefined;
    const link = await openLink('emu:t1?seed=9', {
      emuFactory: (params) => {
        seen = { ...params };
        return (dev = reverseDevice());
      },
    });
    expect(link.kind).toBe('emu');
    expect(seen).toEqual({ seed: '9' });
    const answer = collect(link.stream, 4);
    link.stream.write(Buffer.from('abc\0'));
    expect((await answer).toString()).toBe('cba\0');
    await link.close();
    await link.close(); // idempotent
    expect(await link.closed).toEqual({ disconnected: false });
    expect(dev!.destroyed).toBe(true);
  });

  it('emu: registered device outlives the link; a device loss is reported as a disconnect', async () => {
    const h = registerVirtualDevice('emu:reg', echoDevice);
    handles.push(h);
    const a = await openLink('emu:reg');
    a.stream.on('data', () => {});
    await a.close();
    expect(h.device?.destroyed).toBe(false);
    const b = await openLink('emu:reg');
    b.stream.on('data', () => {});
    h.powerOff();
    const c = await b.closed;
    expect(c.disconnected).toBe(true);
    await b.close(); // still settles after a disconnect
  });

  it('emu: without a factory or registration fails with a hint', async () => {
    await expect(openLink('emu:ghost')).rejects.toMatchObject({ code: 'OPEN_FAILED', message: expect.stringMatching(/registerVirtualDevice|emuFactory/) });
  });

  it('tcp: opens with the secret from options, reports a server going away as a disconnect', async () => {
    const srv = await serveTcp(reverseDevice, { port: 0, secret: 'opt-secret' });
    try {
      const link = await openLink(srv.url, { secret: 'opt-secret' });
      expect(link.label).toBe(`tcp://127.0.0.1:${srv.port} (secret)`);
      const answer = collect(link.stream, 3);
      link.stream.write(Buffer.from('xy\0'));
      expect((await answer).toString()).toBe('yx\0');
      await srv.close();
      expect((await link.closed).disconnected).toBe(true);
      await link.close();
    } finally {
      await srv.close();
    }
  });

  it('serial: a missing device fails with OPEN_FAILED naming the path', async () => {
    await expect(openLink('serial:///dev/tngd-does-not-exist?baud=115200')).rejects.toMatchObject({
      code: 'OPEN_FAILED',
      message: expect.stringMatching(/\/dev\/tngd-does-not-exist/),
    });
  });

  it.skipIf(!haveSocat)('serial: a bare pty path opens through the real serialport package', async () => {
    const pty = await startPty({ factory: reverseDevice });
    try {
      const link = await openLink(pty.path);
      expect(link.kind).toBe('serial');
      const answer = collect(link.stream, 5);
      link.stream.write(Buffer.from('ping\0'));
      expect((await answer).toString()).toBe('gnip\0');
      await link.close();
      expect((await link.closed).disconnected).toBe(false);
    } finally {
      await pty.close();
    }
  });
});

describe('openLink resource hygiene', () => {
  it('a link stream destroyed by a wrapper (not closed) still releases the port for the next open', async () => {
    const h = registerVirtualDevice('emu:destroyed', echoDevice);
    handles.push(h);
    const a = await openLink('emu:destroyed');
    a.stream.destroy();
    await a.closed;
    const b = await openLink('emu:destroyed'); // would fail with "Cannot lock port" if leaked
    await b.close();
  });

  it.skipIf(!haveSocat)('startPty refuses to clobber a regular file at the link path', async () => {
    const { writeFileSync, readFileSync, rmSync } = await import('node:fs');
    const path = `/tmp/tngd-not-a-link-${process.pid}`;
    writeFileSync(path, 'precious');
    try {
      await expect(startPty({ factory: echoDevice, link: path })).rejects.toThrow(/not a symlink/);
      expect(readFileSync(path, 'utf8')).toBe('precious');
    } finally {
      rmSync(path, { force: true });
    }
  });
});
