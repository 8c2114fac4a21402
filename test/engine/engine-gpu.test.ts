// The engine on a GPU (bf16 weights and cache, the CUDA paged-attention
// kernels): its log-probs against Model.logprobs on the same GPU, its greedy
// tokens against the float64 reference wherever the reference's margin is
// beyond bf16 noise, copy-on-write of shared blocks, and no leaked block.
// Skips (visibly) without a GPU.
import t from 'tap';

import { backends, Engine, Model, qwen2Config } from '../../lib/index.js';
import { greedy64, refConfig, weights64 } from '../helpers/generate-ref.js';
import { rng } from '../helpers/reference.js';

const cuda = backends().cuda;
const config = qwen2Config({ hiddenSize: 256, intermediateSize: 512, numHiddenLayers: 2, numAttentionHeads: 4, numKeyValueHeads: 2, headDim: 64, vocabSize: 512, tieWordEmbeddings: false, bosTokenId: 0, eosTokenId: 1, maxPositionEmbeddings: 4096 });

t.test('engine on cuda', { skip: cuda.available ? false : `no GPU: ${cuda.reason ?? 'unavailable'}` }, async (t) => {
  const cpu = Model.random(config, { seed: 3, std: 0.3 });
  const gpu = Model.random(config, { seed: 3, std: 0.3, device: 'cuda' });
  const r = rng(5);
  const prompts = [1, 15, 16, 700].map((n) => Array.from({ length: n }, () => 2 + Math.floor(r() * (config.vocabSize - 2))));
  const e = new Engine(gpu, { blockSize: 16, kvCacheTokens: 1 << 14 });

  const sampled = await e.generate(prompts, { temperature: 0.8, maxTokens: 32, seed: 1, n: 3, ignoreEos: true });
  let worst = 0;
  for (const [i, o] of sampled.entries())
    for (const s of o.outputs) {
      const tokens = Int32Array.from([...prompts[i]!, ...s.tokenIds]);
      const lp = (await gpu.logprobs({ tokens, cuSeqlens: Int32Array.from([0, tokens.length]) }, { temperature: 0.8 })).logprobs;
      s.logprobs.forEach((x, j) => (worst = Math.max(worst, Math.abs(x - lp[prompts[i]!.length - 1 + j]!))));
    }
  t.ok(worst < 0.1, `engine log-probs vs Model.logprobs on the GPU (bf16 both): max |Δ| = ${worst.toFixed(4)}`);
  const blocks = e.stats();
  t.equal(blocks.freeBlocks, blocks.numBlocks, 'every block back after n = 3 samples (shared prompt blocks, copy-on-write)');

  const c = refConfig(config), W = weights64(cpu);
  const greedy = await e.generate(prompts, { temperature: 0, maxTokens: 12, ignoreEos: true });
  for (const [i, o] of greedy.entries()) {
    const ref = greedy64(c, W, prompts[i]!, 12);
    // compare up to the first step where the float64 margin is within bf16 noise
    const close = ref.margins.findIndex((m) => m < 0.05);
    const n = close < 0 ? 12 : close;
    t.same(o.outputs[0]!.tokenIds.slice(0, n), ref.tokens.slice(0, n), `prompt of ${prompts[i]!.length}: the first ${n} greedy tokens (clear margins) equal float64`);
  }
  e.checkInvariants();
  e.dispose();
});
