// Bulk-transfer staging area. A transfer is open from BulkBegin until BulkCommit verifies its
// whole-tensor CRC; a committed transfer is a tensor a later Curvature/Gradient/StateSet names by
// {ref: transferId}, and is released when such a request succeeds (or by BulkAbort). Nothing here
// touches the loaded system: that is what makes uploads atomic.
//
// Where the bytes go: a large f64 matrix that could be a factor J ([r, N], r within maxRank) is
// received straight into kernel memory (physics/kernels/store.ts), so a Curvature that hands it to
// the core is the device's only copy of J; anything else into a buffer of its own. Both are left
// uninitialised: a transfer commits only when every chunk has been written.
import { kernelArray, releaseKernelArray } from '../physics/kernels/store.ts';
import { ErrorCode, ITEM_SIZE, ResourceError, StateError, ValueRangeError, crc32c, crc32cCombine, tensorByteLength } from '../../protocol/index.ts';
import { decodedDataCrc32c } from '../../protocol/decoder.ts';
import type { Dtype, RequestBody, WireTensor } from '../../protocol/index.ts';

export interface Transfer {
  id: number;
  dtype: Dtype;
  shape: number[];
  scale: number | undefined;
  totalBytes: number;
  crc32c: number;
  chunkBytes: number;
  data: Buffer;
  /** data as f64 in kernel memory, when it was received there (see above) */
  kernel: Float64Array | null;
  /** chunk index → received */
  got: Uint8Array;
  received: number;
  /** lowest chunk index not yet received (the window's left edge) */
  firstMissing: number;
  /**
   * CRC-32C of data[0, crcEnd), taken chunk by chunk while each is hot in cache (commit then
   * only finishes it); null once a chunk overwrote bytes already in it (commit checks all).
   */
  crcRun: number | null;
  crcEnd: number;
  committed: boolean;
}

/** Below this, a matrix is not worth a kernel memory of its own (the core copies it quickly). */
const KERNEL_MIN_BYTES = 64 * 1024;

export class Staging {
  private readonly transfers = new Map<number, Transfer>();
  private nextId = 1;

  constructor(
    private readonly maxTransfers: number,
    private readonly window: number,
    /** rows a factor J may have (the device's maxRank): larger matrices go to plain buffers */
    private readonly maxRank = 0,
  ) {}

  get count(): number {
    return this.transfers.size;
  }

  get openCount(): number {
    let n = 0;
    for (const t of this.transfers.values()) if (!t.committed) n++;
    return n;
  }

  /** Bytes held by open and committed transfers. */
  get bytes(): number {
    let b = 0;
    for (const t of this.transfers.values()) b += t.totalBytes;
    return b;
  }

  begin(req: RequestBody<'BulkBegin'>, chunkBytes: number, memoryLeft: number): Transfer {
    if (req.dtype === 'i16' && req.scale === undefined) throw new ValueRangeError(ErrorCode.TENSOR_INVALID, 'an i16 transfer needs scale');
    const want = tensorByteLength(req.dtype, req.shape);
    if (want !== req.totalBytes)
      throw new ValueRangeError(ErrorCode.SHAPE_MISMATCH, `${req.dtype}${JSON.stringify(req.shape)} needs ${want} bytes, totalBytes is ${req.totalBytes}`);
    if (this.transfers.size >= this.maxTransfers)
      throw new ResourceError(ErrorCode.TOO_MANY_TRANSFERS, `${this.transfers.size} transfers already open or committed (max ${this.maxTransfers})`);
    if (req.totalBytes > memoryLeft) throw new ResourceError(ErrorCode.OUT_OF_MEMORY, `transfer of ${req.totalBytes} bytes exceeds the ${memoryLeft} bytes of memory left`);
    const id = this.nextId;
    this.nextId = this.nextId >= 0xffffffff ? 1 : this.nextId + 1;
    const chunks = Math.ceil(req.totalBytes / chunkBytes);
    const [rows, cols] = req.shape;
    const kernel =
      req.dtype === 'f64' && req.shape.length === 2 && rows <= this.maxRank && req.totalBytes >= KERNEL_MIN_BYTES ? kernelArray(cols, rows) : null;
    const t: Transfer = {
      id,
      dtype: req.dtype,
      shape: [...req.shape],
      scale: req.scale,
      totalBytes: req.totalBytes,
      crc32c: req.crc32c,
      chunkBytes,
      // its own ArrayBuffer (8-aligned, never pooled): a committed f64 tensor is then viewed in place
      data: kernel ? Buffer.from(kernel.buffer, 0, req.totalBytes) : Buffer.allocUnsafeSlow(req.totalBytes),
      kernel,
      got: new Uint8Array(chunks),
      received: 0,
      firstMissing: 0,
      crcRun: 0,
      crcEnd: 0,
      committed: false,
    };
    this.transfers.set(id, t);
    return t;
  }

  private open(id: number): Transfer {
    const t = this.transfers.get(id);
    if (!t || t.committed) throw new StateError(ErrorCode.NO_SUCH_TRANSFER, `no open transfer ${id}`);
    return t;
  }

  /** Stores one chunk; a resent chunk (same offset) overwrites. Returns bytes received so far. */
  chunk(req: RequestBody<'BulkChunk'>): number {
    const t = this.open(req.transferId);
    const { offset, seq, data } = req;
    const end = offset + data.length;
    if (offset % t.chunkBytes !== 0 || seq !== offset / t.chunkBytes)
      throw new ValueRangeError(ErrorCode.CHUNK_OUT_OF_BOUNDS, `chunk seq ${seq} must start at offset seq·${t.chunkBytes}, got ${offset}`);
    const last = t.got.length - 1;
    const want = seq === last ? t.totalBytes - last * t.chunkBytes : t.chunkBytes;
    if (seq > last || data.length !== want || end > t.totalBytes)
      throw new ValueRangeError(ErrorCode.CHUNK_OUT_OF_BOUNDS, `chunk seq ${seq} of ${data.length} bytes at ${offset}: transfer has ${t.got.length} chunks, this one must hold ${seq > last ? 0 : want} bytes`);
    if (seq >= t.firstMissing + this.window)
      throw new ResourceError(ErrorCode.WINDOW_EXCEEDED, `chunk ${seq} is beyond the window: chunk ${t.firstMissing} is still missing and the window is ${this.window}`);
    t.data.set(data, offset);
    if (offset < t.crcEnd) t.crcRun = null;
    if (!t.got[seq]) {
      t.got[seq] = 1;
      t.received += data.length;
      while (t.firstMissing < t.got.length && t.got[t.firstMissing]) t.firstMissing++;
    }
    // extend the running CRC over the received prefix (this chunk, when in order)
    if (t.crcRun !== null && offset === t.crcEnd) {
      const upTo = Math.min(t.totalBytes, t.firstMissing * t.chunkBytes);
      // just this chunk, whose bytes the frame decoder has already summed: combine, don't reread
      const known = upTo === end ? decodedDataCrc32c(data) : undefined;
      t.crcRun = known === undefined ? crc32c(t.data, t.crcRun, t.crcEnd, upTo) : crc32cCombine(t.crcRun, known, data.length);
      t.crcEnd = upTo;
    }
    return t.received;
  }

  /** Verifies completeness and CRC; a CRC mismatch discards the transfer. */
  commit(id: number): Transfer {
    const t = this.open(id);
    if (t.received !== t.totalBytes) throw new StateError(ErrorCode.TRANSFER_INCOMPLETE, `transfer ${id} has ${t.received} of ${t.totalBytes} bytes`, { missingFromSeq: t.firstMissing });
    const crc = t.crcRun === null ? crc32c(t.data) : crc32c(t.data, t.crcRun, t.crcEnd, t.totalBytes);
    if (crc !== t.crc32c) {
      this.discard(t);
      throw new ValueRangeError(ErrorCode.TENSOR_CRC_MISMATCH, `transfer ${id}: CRC-32C of the data is 0x${crc.toString(16).padStart(8, '0')}, BulkBegin announced 0x${t.crc32c.toString(16).padStart(8, '0')}; transfer discarded`);
    }
    t.committed = true;
    return t;
  }

  abort(id: number): boolean {
    const t = this.transfers.get(id);
    if (t) this.discard(t);
    return t !== undefined;
  }

  /** Drops a transfer nobody has read: its kernel memory can serve the next one. */
  private discard(t: Transfer): void {
    this.transfers.delete(t.id);
    if (t.kernel) releaseKernelArray(t.kernel);
  }

  /** The committed tensor named by a ref (its data stays the transfer's: see release). */
  tensor(id: number): WireTensor {
    const t = this.transfers.get(id);
    if (!t || !t.committed) throw new StateError(ErrorCode.NO_SUCH_TRANSFER, `no committed transfer ${id} (refs name committed BulkBegin/BulkCommit uploads)`);
    const w: WireTensor = { dtype: t.dtype, shape: t.shape, order: 'le', data: t.data };
    if (t.scale !== undefined) w.scale = t.scale;
    return w;
  }

  /**
   * Forgets a transfer a request has consumed. Its memory now belongs to what the request loaded
   * (the core may have adopted it, or keep views of it), so it is never recycled from here.
   */
  release(id: number): void {
    this.transfers.delete(id);
  }

  /** Drops every open (uncommitted) transfer, e.g. when a new session starts. */
  dropOpen(): number {
    let n = 0;
    for (const t of [...this.transfers.values()])
      if (!t.committed) {
        this.discard(t);
        n++;
      }
    return n;
  }

  clear(): void {
    for (const t of [...this.transfers.values()]) this.discard(t);
  }
}

export function itemSize(d: Dtype): number {
  return ITEM_SIZE[d];
}
