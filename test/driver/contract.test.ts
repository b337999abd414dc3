// The driver contract (contract.ts) over every link the emulator is served on: in-process (the
// serialport binding under SerialPortStream), TCP (loopback device server) and a real pty made
// by socat. A skipped link names its reason in the suite title, so a green run is not mistaken
// for a full one.
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { connect } from '../../src/connect.ts';
import { SpuDriver, openLink } from '../../src/driver/index.ts';
import { createEmulatedDevice, serveTcp, startPty } from '../../src/emulator/index.ts';
import type { EmulatorOptions, PtyDevice } from '../../src/emulator/index.ts';
import type { DriverOptions } from '../../src/driver/index.ts';
import { driverContract, hasSocat } from './contract.ts';
import type { OpenedDriver, WrapDevice } from './contract.ts';

/** Opens the driver; if that fails, stops what was started for it before rethrowing. */
async function opened(open: () => Promise<SpuDriver>, stopLink: () => Promise<void>): Promise<OpenedDriver> {
  let dev: SpuDriver;
  try {
    dev = await open();
  } catch (e) {
    await stopLink();
    throw e;
  }
  return {
    dev,
    stop: async () => {
      await dev.close();
      await stopLink();
    },
  };
}

driverContract('in-process (emu:, serialport binding)', async (emu: EmulatorOptions, opts: DriverOptions, wrap: WrapDevice) =>
  // What connect('emu:') does, with the device wrapped; reconnect() powers on a fresh device.
  opened(() => SpuDriver.open(() => openLink('emu:', { emuFactory: () => wrap(createEmulatedDevice(emu)) }), opts), async () => {}),
);

driverContract('TCP (loopback device server)', async (emu, opts, wrap) => {
  // The server keeps a device powered between connections and powers on a fresh one from the
  // factory when the previous one died.
  const srv = await serveTcp(() => wrap(createEmulatedDevice(emu)), { port: 0 });
  return opened(() => connect(srv.url, opts), () => srv.close());
});

let ptySeq = 0;
driverContract(
  'a pty (socat)',
  async (emu, opts, wrap) => {
    // A stable link path, as /dev/ttyUSB0 is: when the device dies socat exits and the pty goes
    // with it (a USB unplug); the next open plugs a fresh device in at the same path.
    const path = join(tmpdir(), `tngd-contract-${process.pid}-${++ptySeq}`);
    let pty: PtyDevice | null = null;
    let deviceDead = false;
    const plug = async (): Promise<void> => {
      if (pty && !deviceDead) return;
      await pty?.close();
      deviceDead = false;
      pty = await startPty({
        factory: () => {
          const d = wrap(createEmulatedDevice(emu));
          d.once('close', () => (deviceDead = true));
          return d;
        },
        link: path,
      });
    };
    return opened(
      () =>
        SpuDriver.open(async () => {
          await plug();
          return openLink(path);
        }, opts),
      async () => {
        await pty?.close();
      },
    );
  },
  hasSocat() ? false : 'socat is not installed (Debian package socat)',
);
