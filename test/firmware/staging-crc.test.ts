// The staging area's whole-tensor CRC, taken chunk by chunk as the chunks arrive: the verdict at
// BulkCommit is the CRC of the bytes finally staged, whatever the order of the chunks and however
// often one was resent with other bytes.
import { describe, expect, it } from 'vitest';
import { ErrorCode, crc32c } from '../../src/protocol/index.ts';
import { Staging } from '../../src/emulator/firmware/transfers.ts';

const CHUNK = 1000;
const bytes = Uint8Array.from({ length: 4 * CHUNK + 300 }, (_, i) => (i * 7 + (i >> 5)) & 0xff);
const chunkOf = (seq: number, src: Uint8Array = bytes) => src.subarray(seq * CHUNK, Math.min(src.length, (seq + 1) * CHUNK));

function commitAfter(order: (number | [number, Uint8Array])[]): number | 'ok' {
  const st = new Staging(4, 8);
  const t = st.begin({ dtype: 'f32', shape: [bytes.length / 4], totalBytes: bytes.length, crc32c: crc32c(bytes) }, CHUNK, 1 << 30);
  for (const o of order) {
    const [seq, src] = typeof o === 'number' ? [o, bytes] : o;
    st.chunk({ transferId: t.id, seq, offset: seq * CHUNK, data: chunkOf(seq, src) });
  }
  try {
    st.commit(t.id);
    return 'ok';
  } catch (e) {
    return (e as { code: number }).code;
  }
}

const other = bytes.map((b) => b ^ 0x5a);

describe('staging CRC', () => {
  it('in order, out of order, and with resends of the same bytes: committed', () => {
    expect(commitAfter([0, 1, 2, 3, 4])).toBe('ok');
    expect(commitAfter([4, 2, 0, 3, 1])).toBe('ok');
    expect(commitAfter([1, 0, 0, 2, 1, 4, 3, 4])).toBe('ok');
  });

  it('a chunk first sent with other bytes and resent right: committed (before or after the CRC passed it)', () => {
    expect(commitAfter([[0, other], 1, 0, 2, 3, 4])).toBe('ok');
    expect(commitAfter([0, 1, [2, other], 3, 4, 2])).toBe('ok');
    expect(commitAfter([[3, other], 0, 1, 2, 3, 4])).toBe('ok');
  });

  it('other bytes staged last, in or out of order: TENSOR_CRC_MISMATCH', () => {
    expect(commitAfter([0, 1, 2, 3, [4, other]])).toBe(ErrorCode.TENSOR_CRC_MISMATCH);
    expect(commitAfter([4, [3, other], 0, 1, 2])).toBe(ErrorCode.TENSOR_CRC_MISMATCH);
    expect(commitAfter([0, 1, 2, 3, 4, [1, other]])).toBe(ErrorCode.TENSOR_CRC_MISMATCH);
  });
});
