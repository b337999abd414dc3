// Uploads: atomicity (a failed, aborted or interrupted upload leaves the committed system in
// force, checked by a run giving the same result bytes), bulk transfer rules, advertised limits.
import { afterEach, describe, expect, it } from 'vitest';
import { ErrorCode, crc32c, encodeFrame, maxChunkBytes, tensorFromFloat64, tensorToFloat64 } from '../../src/protocol/index.ts';
import { EmulatorBoard, boardOf, createEmulatedDevice } from '../../src/emulator/index.ts';
import { CONFIG, TestHost, f64 } from './host.ts';
import { A4, G4, loadSystem } from './setup.ts';

const hosts: TestHost[] = [];
const track = (h: TestHost): TestHost => (hosts.push(h), h);
afterEach(() => {
  for (const h of hosts.splice(0)) h.close();
});

/** κ₀ = 0 and start 'reset': the result bytes depend only on the committed A and g. */
async function runBytes(h: TestHost): Promise<string> {
  await h.ok('Run', { durationTau: 5, start: 'reset' });
  const r = await h.ok('Results', { vectors: 'both', dtype: 'f64' });
  return Buffer.concat([r.mean!.data, r.final!.data]).toString('hex');
}

// 4096-byte frames (the emulator's default is 65535) so that small tensors take many chunks
async function ready(opts: Parameters<typeof createEmulatedDevice>[0] = {}): Promise<TestHost> {
  const h = track(new TestHost(createEmulatedDevice({ maxCells: 64, maxRank: 8, maxFrameBytes: 4096, ...opts })));
  await h.hello();
  await loadSystem(h);
  return h;
}

const A4b = A4.map((v, i) => (i % 5 === 0 ? v + 1 : v)); // a different SPD matrix (diagonal + 1)

describe('atomic uploads', () => {
  it('a rejected Curvature (NaN, asymmetric, wrong shape, rank too large, unknown ref) leaves the committed one in force', async () => {
    const h = await ready();
    const before = await runBytes(h);
    const id0 = (await h.ok('Status', {})).n;
    const nan = [...A4b];
    nan[5] = Number.NaN;
    const asym = [...A4b];
    asym[1] = 1.5;
    expect(await h.code('Curvature', { form: 'dense', a: f64(nan, [4, 4]), lambda: 0 })).toBe(ErrorCode.NON_FINITE_VALUE);
    expect(await h.code('Curvature', { form: 'dense', a: f64(asym, [4, 4]), lambda: 0 })).toBe(ErrorCode.OUT_OF_RANGE);
    expect(await h.code('Curvature', { form: 'dense', a: f64(A4b.slice(0, 12), [3, 4]), lambda: 0 })).toBe(ErrorCode.SHAPE_MISMATCH);
    expect(await h.code('Curvature', { form: 'factored', j: f64(new Array(9 * 4).fill(0.1), [9, 4]), core: { kind: 'identity' }, scale: 1, lambda: 1 })).toBe(ErrorCode.RANK_TOO_LARGE);
    expect(await h.code('Curvature', { form: 'dense', a: { ref: 999 }, lambda: 0 })).toBe(ErrorCode.NO_SUCH_TRANSFER);
    // a factored request whose J is fine but whose core block is the wrong shape
    expect(
      await h.code('Curvature', { form: 'factored', j: f64(new Array(8).fill(0.5), [2, 4]), core: { kind: 'dense', h: f64([1, 0, 0], [3]) }, scale: 1, lambda: 1 }),
    ).toBe(ErrorCode.SHAPE_MISMATCH);
    expect((await h.ok('Status', {})).n).toBe(id0);
    expect(await runBytes(h)).toBe(before);
    // and a valid one does change the result
    await h.ok('Curvature', { form: 'dense', a: f64(A4b, [4, 4]), lambda: 0 });
    expect(await runBytes(h)).not.toBe(before);
  });

  it('a bulk upload aborted mid-transfer, or failing its CRC at commit, changes nothing', async () => {
    const h = await ready();
    const before = await runBytes(h);
    // 64×64 f64 = 32 KiB: several chunks at a 4096-byte frame limit
    const big = new Array(64 * 64).fill(0).map((_, i) => (i % 65 === 0 ? 2 : 0));
    const open = await h.bulk(big, [64, 64], 'f64', { stopAfterChunks: 3 });
    expect((await h.ok('Status', {})).openTransfers).toBe(1);
    expect(await h.code('Curvature', { form: 'dense', a: { ref: open }, lambda: 0 })).toBe(ErrorCode.NO_SUCH_TRANSFER);
    expect(await h.code('BulkCommit', { transferId: open })).toBe(ErrorCode.TRANSFER_INCOMPLETE);
    expect(await h.ok('BulkAbort', { transferId: open })).toEqual({ transferId: open, discarded: true });
    expect(await h.ok('BulkAbort', { transferId: open })).toEqual({ transferId: open, discarded: false });
    const badCrc = h.bulk(A4b, [4, 4], 'f64', { corruptCrc: true });
    await expect(badCrc).rejects.toThrow(/TENSOR_CRC_MISMATCH/);
    expect((await h.ok('Status', {})).openTransfers).toBe(0); // discarded at the failed commit
    expect(await runBytes(h)).toBe(before);
  });

  it('a link drop mid-upload leaves the committed system in force on a board that stays powered', async () => {
    const board = new EmulatorBoard({ maxCells: 64, maxFrameBytes: 4096, faults: { dropLinkAtChunk: 3 } });
    const h1 = track(new TestHost(board.factory()));
    await h1.hello();
    await loadSystem(h1);
    const before = await runBytes(h1);
    const closed = new Promise((r) => h1.device.once('close', r));
    const upload = h1.bulk(new Array(64 * 64).fill(1), [64, 64]);
    upload.catch(() => {});
    await closed; // the link went away during chunk 3
    expect(board.firmware.inspect()).toMatchObject({ openTransfers: 0, n: 4, curvatureId: 1 });
    const h2 = track(new TestHost(board.factory()));
    await h2.hello();
    expect(await h2.ok('Status', {})).toMatchObject({ state: 'READY', n: 4, hasCurvature: true, hasGradient: true, openTransfers: 0 });
    expect(await runBytes(h2)).toBe(before);
  });

  it('a committed transfer is used by reference once: the request releases it; a failed request keeps it', async () => {
    const h = await ready();
    const ref = await h.bulk(G4.map((v) => -v), [4]);
    expect(await h.code('Curvature', { form: 'dense', a: { ref }, lambda: 0 })).toBe(ErrorCode.SHAPE_MISMATCH); // a vector is not [N, N]
    expect((await h.ok('Status', {})).openTransfers).toBe(1);
    expect(await h.ok('Gradient', { g: { ref } })).toEqual({ n: 4 });
    expect((await h.ok('Status', {})).openTransfers).toBe(0);
    expect(await h.code('Gradient', { g: { ref } })).toBe(ErrorCode.NO_SUCH_TRANSFER);
  });

  it('uploads in f32 and i16 reach the device as the values they encode', async () => {
    const h = await ready();
    const ref32 = await h.bulk(A4, [4, 4], 'f32');
    await h.ok('Curvature', { form: 'dense', a: { ref: ref32 }, lambda: 0 });
    const fromF32 = await runBytes(h);
    await h.ok('Curvature', { form: 'dense', a: f64(A4, [4, 4]), lambda: 0 });
    // every entry of A4 is exact in f32, so the system is the same
    expect(await runBytes(h)).toBe(fromF32);
    // i16 codes with scale 2^-8: g = code·scale exactly for these values
    const gi16 = tensorFromFloat64(G4, [4], 'i16', { scale: 2 ** -8 });
    await h.ok('Gradient', { g: gi16 });
    const viaI16 = await runBytes(h);
    await h.ok('Gradient', { g: f64(G4) });
    expect(await runBytes(h)).toBe(viaI16);
  });

  it('a Curvature of another N discards the gradient and the state (hasGradient false, Run → NO_GRADIENT)', async () => {
    const h = await ready();
    await h.ok('Curvature', { form: 'factored', j: f64([1, 0, 1, 0, 1, 0, 0, 1, 0, 1, 0, 1], [2, 6]), core: { kind: 'identity' }, scale: 1, lambda: 0.5 });
    expect(await h.ok('Status', {})).toMatchObject({ n: 6, hasCurvature: true, hasGradient: false });
    expect(await h.code('Run', { durationTau: 1, start: 'carry' })).toBe(ErrorCode.NO_GRADIENT);
    expect(await h.code('Gradient', { g: f64(G4) })).toBe(ErrorCode.SHAPE_MISMATCH);
    await h.ok('Gradient', { g: f64([1, 2, 3, 4, 5, 6]) });
    // κ₀ = 0: a carried run equals a run from x = 0 exactly when the state was zeroed
    await h.ok('Run', { durationTau: 1, start: 'carry' });
    const carried = await h.ok('Results', { vectors: 'final', dtype: 'f64' });
    await h.ok('Run', { durationTau: 1, start: 'reset' });
    const fromZero = await h.ok('Results', { vectors: 'final', dtype: 'f64' });
    expect(carried.n).toBe(6);
    expect(Buffer.from(carried.final!.data).equals(Buffer.from(fromZero.final!.data))).toBe(true);
  });

  it('a non-positive-definite A is committed and its run reports the flag, with no vectors', async () => {
    const h = await ready();
    await h.ok('Curvature', { form: 'dense', a: f64([1, 2, 0, 0, 2, 1, 0, 0, 0, 0, 1, 0, 0, 0, 0, 1], [4, 4]), lambda: 0 });
    expect(await h.ok('Run', { durationTau: 1, start: 'reset' })).toMatchObject({ sampleCount: 0, flags: ['not-positive-definite'] });
    expect(await h.ok('Results', { vectors: 'none', dtype: 'f64' })).toMatchObject({ n: 4, flags: ['not-positive-definite'] });
    expect(await h.code('Results', { vectors: 'mean', dtype: 'f64' })).toBe(ErrorCode.NO_RESULTS);
  });
});

describe('bulk transfer rules', () => {
  async function begin(h: TestHost, n: number): Promise<{ id: number; chunk: number; window: number; data: Buffer }> {
    const t = tensorFromFloat64(Array.from({ length: n }, (_, i) => i), [n]);
    const b = await h.ok('BulkBegin', { dtype: 'f64', shape: [n], totalBytes: t.data.length, crc32c: crc32c(t.data) });
    return { id: b.transferId, chunk: b.chunkBytes, window: b.window, data: t.data as Buffer };
  }

  it('chunks: offset must be seq·chunkBytes and the size exact (CHUNK_OUT_OF_BOUNDS); beyond the window is WINDOW_EXCEEDED; resends are harmless', async () => {
    const h = await ready();
    const t = await begin(h, 8000); // 64000 bytes: 16 chunks
    expect(t.chunk).toBe(maxChunkBytes(4096));
    expect(t.window).toBe(8);
    const chunk = (seq: number) => t.data.subarray(seq * t.chunk, (seq + 1) * t.chunk);
    expect(await h.code('BulkChunk', { transferId: t.id, seq: 1, offset: 0, data: chunk(1) })).toBe(ErrorCode.CHUNK_OUT_OF_BOUNDS);
    expect(await h.code('BulkChunk', { transferId: t.id, seq: 0, offset: 0, data: chunk(0).subarray(1) })).toBe(ErrorCode.CHUNK_OUT_OF_BOUNDS);
    expect(await h.code('BulkChunk', { transferId: t.id, seq: 8, offset: 8 * t.chunk, data: chunk(8) })).toBe(ErrorCode.WINDOW_EXCEEDED);
    expect(await h.code('BulkChunk', { transferId: 12345, seq: 0, offset: 0, data: chunk(0) })).toBe(ErrorCode.NO_SUCH_TRANSFER);
    const seqs = Math.ceil(64000 / t.chunk);
    let received = 0;
    // any order within the window: each window's chunks last to first
    for (let w = 0; w < seqs; w += t.window)
      for (let s = Math.min(seqs, w + t.window) - 1; s >= w; s--)
        received = (await h.ok('BulkChunk', { transferId: t.id, seq: s, offset: s * t.chunk, data: t.data.subarray(s * t.chunk, (s + 1) * t.chunk) })).received;
    expect(received).toBe(64000);
    // resending chunk 0 does not count twice
    expect((await h.ok('BulkChunk', { transferId: t.id, seq: 0, offset: 0, data: chunk(0) })).received).toBe(64000);
    expect(await h.ok('BulkCommit', { transferId: t.id })).toEqual({ transferId: t.id, bytes: 64000, crc32c: crc32c(t.data) });
  });

  it('BulkBegin: totalBytes must match dtype×shape (SHAPE_MISMATCH); i16 needs scale; maxOpenTransfers holds', async () => {
    const h = await ready();
    expect(await h.code('BulkBegin', { dtype: 'f64', shape: [10], totalBytes: 79, crc32c: 0 })).toBe(ErrorCode.SHAPE_MISMATCH);
    expect(await h.code('BulkBegin', { dtype: 'i16', shape: [10], totalBytes: 20, crc32c: 0 })).toBe(ErrorCode.TENSOR_INVALID);
    for (let i = 0; i < 4; i++) await h.ok('BulkBegin', { dtype: 'f64', shape: [10], totalBytes: 80, crc32c: 0 });
    expect(await h.code('BulkBegin', { dtype: 'f64', shape: [10], totalBytes: 80, crc32c: 0 })).toBe(ErrorCode.TOO_MANY_TRANSFERS);
    expect((await h.ok('Status', {})).openTransfers).toBe(4);
    await h.hello(); // a new session drops open transfers
    expect((await h.ok('Status', {})).openTransfers).toBe(0);
  });
});

describe('advertised limits', () => {
  it('N > maxCells is TOO_MANY_CELLS and r > maxRank RANK_TOO_LARGE, inline and by reference', async () => {
    const h = await ready({ maxCells: 10, maxRank: 3 });
    const eye = (n: number) => Array.from({ length: n * n }, (_, i) => (i % (n + 1) === 0 ? 1 : 0));
    expect(await h.code('Curvature', { form: 'dense', a: f64(eye(11), [11, 11]), lambda: 0 })).toBe(ErrorCode.TOO_MANY_CELLS);
    const ref = await h.bulk(eye(11), [11, 11]);
    expect(await h.code('Curvature', { form: 'dense', a: { ref }, lambda: 0 })).toBe(ErrorCode.TOO_MANY_CELLS);
    expect(await h.code('Curvature', { form: 'factored', j: f64(new Array(4 * 10).fill(1), [4, 10]), core: { kind: 'identity' }, scale: 1, lambda: 1 })).toBe(ErrorCode.RANK_TOO_LARGE);
    expect(await h.code('Gradient', { g: f64(new Array(11).fill(1)) })).toBe(ErrorCode.TOO_MANY_CELLS);
    await h.ok('Curvature', { form: 'factored', j: f64(new Array(3 * 10).fill(1), [3, 10]), core: { kind: 'identity' }, scale: 1, lambda: 1 });
  });

  it('the memory budget covers staged and committed tensors: OUT_OF_MEMORY at BulkBegin and at Curvature', async () => {
    // 96 KiB: a 64×64 f64 A is 32 KiB, held twice (as uploaded and as realised) = 64 KiB
    const h = await ready({ memoryBytes: 96 * 1024, maxCells: 128 });
    expect(await h.code('BulkBegin', { dtype: 'f64', shape: [120, 120], totalBytes: 8 * 120 * 120, crc32c: 0 })).toBe(ErrorCode.OUT_OF_MEMORY);
    const eye64 = Array.from({ length: 64 * 64 }, (_, i) => (i % 65 === 0 ? 2 : 0));
    const ref = await h.bulk(eye64, [64, 64]);
    // staged 32 KiB + 2×32 KiB for the load + the 4×4 system > 96 KiB
    expect(await h.code('Curvature', { form: 'dense', a: { ref }, lambda: 0 })).toBe(ErrorCode.OUT_OF_MEMORY);
    await h.ok('BulkAbort', { transferId: ref });
    // with the staging freed, a 48×48 upload (18 KiB staged + 2×18 KiB) fits
    const ref48 = await h.bulk(eye64.slice(0, 48 * 48).map((_, i) => (i % 49 === 0 ? 2 : 0)), [48, 48]);
    expect(await h.ok('Curvature', { form: 'dense', a: { ref: ref48 }, lambda: 0 })).toMatchObject({ n: 48 });
  });

  it('an oversize frame is dropped without being buffered whole, not answered, counted and queued; the next frame is served', async () => {
    const dev = createEmulatedDevice({ maxFrameBytes: 1024 });
    const h = track(new TestHost(dev));
    await h.hello();
    const huge = encodeFrame({ kind: 'GradientRequest', body: { g: f64(new Array(2000).fill(1)) } }, 4242);
    expect(huge.length).toBeGreaterThan(16000);
    const fw = boardOf(dev)!.firmware;
    let maxBuffered = 0;
    for (let i = 0; i < huge.length; i += 100) {
      h.writeRaw(huge.subarray(i, i + 100));
      maxBuffered = Math.max(maxBuffered, fw.inspect().decoderBuffered);
    }
    expect(maxBuffered).toBeLessThanOrEqual(1024);
    const s = await h.ok('Status', {});
    expect(s.counters.oversize).toBe(1);
    expect(s.counters.bytesDiscarded).toBe(huge.length - 1);
    expect(h.frames.some((f) => f.header.requestId === 4242)).toBe(false);
    const e = await h.ok('ErrorsRead', { max: 8 });
    expect(e.entries.map((x) => [x.code, x.requestId, x.type])).toEqual([[ErrorCode.FRAME_TOO_LARGE, 0, 0]]);
  });

  it('a reply larger than the host accepts is REPLY_TOO_LARGE; ResultsRead slices give the same values', async () => {
    const h = track(new TestHost(createEmulatedDevice({ maxCells: 512 })));
    await h.hello(1024);
    const n = 300;
    await h.ok('Configure', { ...CONFIG, integrator: { kind: 'exact' } });
    await h.ok('Curvature', { form: 'factored', j: { ref: await h.bulk(Array.from({ length: 2 * n }, (_, i) => ((i * 7) % 11) / 11), [2, n]) }, core: { kind: 'identity' }, scale: 1, lambda: 1 });
    await h.ok('Gradient', { g: { ref: await h.bulk(Array.from({ length: n }, (_, i) => Math.sin(i)), [n]) } });
    await h.ok('Run', { durationTau: 10, start: 'reset' });
    expect(await h.code('Results', { vectors: 'mean', dtype: 'f64' })).toBe(ErrorCode.REPLY_TOO_LARGE);
    const parts: number[] = [];
    for (let off = 0; off < n; off += 100) {
      const a = await h.request('ResultsRead', { field: 'mean', dtype: 'f64', offset: off, count: Math.min(100, n - off) });
      if (!a.ok) throw new Error(a.error.body.message);
      expect(a.frame.encodedBytes).toBeLessThanOrEqual(1024);
      parts.push(...tensorToFloat64(a.body.data));
    }
    expect(await h.code('ResultsRead', { field: 'mean', dtype: 'f64', offset: 250, count: 51 })).toBe(ErrorCode.OUT_OF_RANGE);
    // the mean of the exact integrator with κ₀ = 0 is finite and near A⁻¹g in size
    expect(parts).toHaveLength(n);
    expect(parts.every(Number.isFinite)).toBe(true);
  });
});
