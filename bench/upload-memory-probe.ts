// Peak memory of one curvature upload, measured in a process of its own (RSS is per process):
//   node --import tsx bench/upload-memory-probe.ts N R [messages|bytes] [transfer|copy]
// Prints one JSON line: J's bytes, RSS before J existed, peak RSS (getrusage maxrss) after the
// upload, and peak / J. J is zero-dense like a real Jacobian (≈ 60 % zeros: dead ReLUs, black
// pixels). Used by test/driver/upload-memory.test.ts and bench/driver.bench.ts.
import { connect } from '../src/connect.ts';

const n = Number(process.argv[2] ?? 100_000);
const r = Number(process.argv[3] ?? 640);
const link = process.argv[4] === 'bytes' ? 'bytes' : 'messages';
const transfer = process.argv[5] !== 'copy';

const dev = await connect(`emu:?seed=1${link === 'bytes' ? '&link=bytes' : ''}`, {
  heartbeatIntervalMs: 0,
  timeoutMs: 120_000,
  maxCells: n,
  maxRank: r,
  emulator: { memoryBytes: 2 ** 40 },
});
await dev.configure({ kappa0: 0.01, integrator: { kind: 'exact' }, samplePeriodTau: 0.1, burnInTau: 0 });
// the code paths warmed up on a small system, so the baseline holds what they allocate once
const small = Float64Array.from({ length: 4 * 64 }, (_, i) => ((i % 7) - 3) / 10);
await dev.uploadCurvature({ form: 'factored', n: 64, r: 4, J: small, core: { kind: 'identity' }, scale: 1, lambda: 0.1 });
const rssBefore = process.memoryUsage().rss;

const J = new Float64Array(r * n);
for (let i = 0; i < J.length; i++) {
  const h = Math.imul(i, 2654435761) >>> 0;
  J[i] = h % 5 < 3 ? 0 : ((h >>> 8) / 2 ** 24 - 0.5) * 0.2;
}
const t0 = performance.now();
await dev.uploadCurvature({ form: 'factored', n, r, J, core: { kind: 'identity' }, scale: 1, lambda: 0.1 }, { transfer });
const seconds = (performance.now() - t0) / 1000;
const peakRss = process.resourceUsage().maxRSS * 1024;
await dev.close();
console.log(JSON.stringify({ n, r, link, transfer, jBytes: J.byteLength, rssBefore, peakRss, peakOverJ: peakRss / J.byteLength, seconds }));
