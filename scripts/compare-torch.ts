// Dev check: our CPU log-probs, entropies, SFT loss and a few gradients beside an
// independent PyTorch Qwen2 (scripts/compare-torch.py, float64) on one random
// checkpoint and packed batch. Needs Debian's /usr/bin/python3 with python3-torch.
//   npx tsx scripts/compare-torch.ts
import { execFileSync } from 'node:child_process';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { createRandomCheckpoint, Model, oursToHf, qwen2Config } from '../lib/model/index.js';

const here = dirname(fileURLToPath(import.meta.url));
const config = qwen2Config({ hiddenSize: 64, intermediateSize: 128, numHiddenLayers: 3, numAttentionHeads: 4, numKeyValueHeads: 2, vocabSize: 300, tieWordEmbeddings: false, bosTokenId: 0, eosTokenId: 1, torchDtype: 'float32', ropeTheta: 1e6 });
const dir = mkdtempSync(join(tmpdir(), 'torl-compare-'));
try {
  await createRandomCheckpoint(dir, config, { seed: 17, std: 0.1 });
  const model = await Model.load(dir);
  const cuSeqlens = Int32Array.from([0, 40, 41, 97, 128]);
  const tokens = Int32Array.from({ length: 128 }, (_, i) => (i * 7919 + 13) % config.vocabSize);
  const positions = new Int32Array(128), targets = new Int32Array(128), mask = new Float32Array(128);
  for (let b = 0; b + 1 < cuSeqlens.length; b++)
    for (let i = cuSeqlens[b]!; i < cuSeqlens[b + 1]!; i++) {
      positions[i] = i - cuSeqlens[b]!;
      const last = i + 1 === cuSeqlens[b + 1]!;
      targets[i] = last ? 0 : tokens[i + 1]!;
      mask[i] = last ? 0 : 1;
    }
  const temperature = 0.8;
  const ours = await model.logprobs({ tokens, cuSeqlens }, { temperature });
  const names = ['embed.weight', 'layers.0.attn.q.bias', 'layers.1.attn.k.weight', 'layers.2.mlp.down.weight', 'final_norm.weight', 'lm_head.weight'];
  // The reference loss is at temperature 0.8 too.
  const step = await model.forwardBackward({ tokens, cuSeqlens }, { type: 'crossEntropy', temperature });
  const grads = model.gradients();
  const batchFile = join(dir, 'batch.json');
  writeFileSync(batchFile, JSON.stringify({ tokens: [...tokens], positions: [...positions], cuSeqlens: [...cuSeqlens], targets: [...targets], mask: [...mask], temperature, grads: names.map(oursToHf) }));
  const ref = JSON.parse(execFileSync('/usr/bin/python3', [join(here, 'compare-torch.py'), dir, batchFile], { encoding: 'utf8', maxBuffer: 1 << 28 })) as { logprob: number[]; entropy: number[]; loss: number; grads: Record<string, number[]> };
  const maxErr = (a: ArrayLike<number>, b: ArrayLike<number>, m?: Float32Array) => Array.from(a).reduce((e, x, i) => (m && !m[i] ? e : Math.max(e, Math.abs(x - b[i]!))), 0);
  const rows: [string, number, number][] = [
    ['log-probs (max abs err)', maxErr(ours.logprobs, ref.logprob, mask), 2e-5],
    ['entropies (max abs err)', maxErr(ours.entropy, ref.entropy), 2e-5],
    ['SFT loss (abs err)', Math.abs(step.loss - ref.loss), 1e-5],
  ];
  for (const n of names) {
    const want = ref.grads[oursToHf(n)]!;
    const scale = want.reduce((m, x) => Math.max(m, Math.abs(x)), 0);
    rows.push([`grad ${n} (max err / max |g|)`, maxErr(grads.get(n)!.toArray() as Float32Array, want) / scale, 1e-4]);
  }
  let ok = true;
  for (const [what, err, tol] of rows) {
    ok &&= err <= tol;
    console.log(`${err <= tol ? 'ok  ' : 'FAIL'} ${what.padEnd(44)} ${err.toExponential(2)}  (tolerance ${tol})`);
  }
  console.log(ok ? 'torl matches PyTorch' : 'MISMATCH');
  process.exitCode = ok ? 0 : 1;
} finally {
  rmSync(dir, { recursive: true, force: true });
}
