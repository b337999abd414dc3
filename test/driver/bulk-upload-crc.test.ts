// bulkUpload takes one CRC pass over the tensor: each chunk's CRC-32C, combined into the whole
// tensor's for BulkBegin, and on a byte link each frame's CRC is combined from its chunk's. The
// same transfer (same transferId sequence, same committed CRC) on both links; a tensor changed
// while it is being uploaded fails with a clear ArgumentError on a byte link (its frames carry the
// old CRC, so the device drops them as damaged) and with TENSOR_CRC_MISMATCH on the message link.
import { pino } from 'pino';
import { afterEach, describe, expect, it } from 'vitest';
import { connect } from '../../src/connect.ts';
import { bulkUpload } from '../../src/driver/bulk-upload.ts';
import { ArgumentError, DeviceError } from '../../src/driver/index.ts';
import type { SpuDriver } from '../../src/driver/index.ts';
import { ErrorCode, tensorFromFloat64 } from '../../src/protocol/index.ts';

const log = pino({ level: 'silent' });
const open: SpuDriver[] = [];
afterEach(async () => {
  for (const d of open.splice(0)) await d.close();
});

async function device(url: string): Promise<SpuDriver> {
  const d = await connect(url, { heartbeatIntervalMs: 0, timeoutMs: 300 });
  open.push(d);
  return d;
}

/** 300 000 f64 (2.4 MB, 37 chunks of 64 KiB) */
const tensor = () => tensorFromFloat64(Float64Array.from({ length: 300_000 }, (_, i) => Math.sin(i) * (i % 7)), [300_000], 'f64');

describe('bulk upload with one CRC pass', () => {
  it.each(['emu:?seed=1', 'emu:?seed=1&link=bytes'])('%s: the device commits the whole tensor and its CRC', async (url) => {
    const dev = await device(url);
    const t = tensor();
    const up = await bulkUpload(dev.channel, t, { deviceMaxFrameBytes: dev.capabilities.maxFrameBytes, maxInFlightBytes: dev.maxInFlightBytes, log });
    // BulkCommit verified the staged bytes against BulkBegin's (combined) CRC, and bulkUpload the
    // committed CRC against crc32c of the whole tensor
    expect(up.chunks).toBeGreaterThan(30);
    expect(up.bytes).toBe(t.data.length);
  });

  /** Starts an upload and changes the tensor's last bytes as soon as the device has answered BulkBegin. */
  async function uploadWhileChanging(dev: SpuDriver): Promise<unknown> {
    const t = tensor();
    const untap = dev.channel.tap((f) => {
      if (f.message.kind === 'BulkBeginReply') t.data[t.data.length - 1] ^= 0x5a;
    });
    try {
      await bulkUpload(dev.channel, t, { deviceMaxFrameBytes: dev.capabilities.maxFrameBytes, maxInFlightBytes: dev.maxInFlightBytes, log, timeoutMs: 300 });
      return null;
    } catch (e) {
      return e;
    } finally {
      untap();
    }
  }

  it('byte link: a tensor changed mid-upload is an ArgumentError naming the change, after one timeout', async () => {
    const e = await uploadWhileChanging(await device('emu:?seed=1&link=bytes'));
    expect(e).toBeInstanceOf(ArgumentError);
    expect((e as Error).message).toMatch(/changed while it was being uploaded/);
  });

  it('message link: the same change is the device\'s TENSOR_CRC_MISMATCH at commit', async () => {
    const e = await uploadWhileChanging(await device('emu:?seed=1'));
    expect(e).toBeInstanceOf(DeviceError);
    expect((e as DeviceError).code).toBe(ErrorCode.TENSOR_CRC_MISMATCH);
  });
});
