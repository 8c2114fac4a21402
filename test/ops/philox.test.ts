// The Philox4x32-10 reference (test/helpers/train-ref.ts), which the sample() cases use to
// predict the native kernels' draws, pinned to Random123's known-answer vectors
// (Random123-1.14 examples/kat_vectors, "philox4x32 10" lines: counter, key → output).
import t from 'tap';
import { philox4x32 } from '../helpers/train-ref.js';

const KAT: [counter: number[], key: number[], out: number[]][] = [
  [[0x00000000, 0x00000000, 0x00000000, 0x00000000], [0x00000000, 0x00000000], [0x6627e8d5, 0xe169c58d, 0xbc57ac4c, 0x9b00dbd8]],
  [[0xffffffff, 0xffffffff, 0xffffffff, 0xffffffff], [0xffffffff, 0xffffffff], [0x408f276d, 0x41c83b0e, 0xa20bc7c6, 0x6d5451fd]],
  [[0x243f6a88, 0x85a308d3, 0x13198a2e, 0x03707344], [0xa4093822, 0x299f31d0], [0xd16cfe09, 0x94fdcceb, 0x5001e420, 0x24126ea1]],
];

t.test('philox4x32-10 matches the Random123 known answers', async (t) => {
  const hex = (w: number[]) => w.map((x) => (x >>> 0).toString(16).padStart(8, '0')).join(' ');
  for (const [ctr, key, want] of KAT) t.equal(hex(philox4x32(ctr, key)), hex(want), `counter ${hex(ctr)}, key ${hex(key)}`);
});
