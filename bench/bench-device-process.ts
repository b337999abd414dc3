// The frame-level bench device (src/emulator/transports/loopback.ts) served in a process of its
// own, for raw-bytes baselines of links to an emulator in another process (bench/driver.bench.ts):
//   node --import tsx bench/bench-device-process.ts tcp   → prints tcp://127.0.0.1:PORT
//   node --import tsx bench/bench-device-process.ts pty   → prints the pty path (needs socat)
// and serves until SIGINT/SIGTERM.
import { createBenchDevice } from '../src/emulator/transports/loopback.ts';
import { keepFreedHeap } from '../src/emulator/transports/heap-trim.ts';
import { startPty } from '../src/emulator/transports/pty.ts';
import { serveTcp } from '../src/emulator/transports/tcp-server.ts';

const kind = process.argv[2] === 'pty' ? 'pty' : 'tcp';
// tuned as `tngd emulate` is, so the raw baseline is the best this process can do
await keepFreedHeap();
const served = kind === 'tcp' ? await serveTcp(createBenchDevice, { port: 0 }) : await startPty({ factory: createBenchDevice });
console.log('url' in served ? served.url : served.path);
const stop = (): void => void served.close().then(() => process.exit(0));
process.once('SIGINT', stop);
process.once('SIGTERM', stop);
