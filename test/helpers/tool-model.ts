// A tiny Qwen2 (the Qwen tokenizer's vocabulary) taught by SFT, in the test, to write fixed
// tool-integrated responses token for token: one tool call, two calls with an error first,
// and a long answer with no call. The token segments are exactly what a rollout builds
// (model text, then the observation "\n" + text + "\n```\n" tokenised on its own), so greedy
// decoding through the rollout reproduces them.
import { AdamW, Model, qwen2Config, type Tokenizer } from '../../lib/index.js';

export interface Script {
  prompt: string;
  /** Model text, observation text, model text, …: even entries are the model's, odd ones observations (their inner text). */
  parts: string[];
}

export const SCRIPTS: Script[] = [
  { prompt: 'Q: add 2 and 3.\n', parts: ['Let me compute.\n```python\nprint(2+3)\n```\n```output', '5', 'The answer is \\boxed{5}.'] },
  {
    prompt: 'Q: divide 10 by 2.\n',
    parts: ['```python\nprint(1/0)\n```\n```output', 'ZeroDivisionError: division by zero', 'Oops.\n```python\nprint(10//2)\n```\n```output', '5', 'So \\boxed{5}.'],
  },
  { prompt: 'Q: say hi.\n', parts: ['Hello there, this is a long answer without any code at all: one two three four five six seven eight nine ten eleven twelve.'] },
];

/** The token segments of a script: prompt ids, then each part (observations wrapped as the rollout wraps them), then EOS. */
export function segments(tok: Tokenizer, s: Script): { prompt: number[]; parts: number[][] } {
  const enc = (x: string) => tok.encode(x, { addSpecialTokens: false });
  return { prompt: enc(s.prompt), parts: [...s.parts.map((p, i) => (i % 2 === 1 ? enc(`\n${p}\n\`\`\`\n`) : enc(p))), [tok.eosTokenId!]] };
}

export async function toolModel(tok: Tokenizer, steps = 120): Promise<Model> {
  const config = qwen2Config({ hiddenSize: 64, intermediateSize: 128, numHiddenLayers: 2, numAttentionHeads: 4, numKeyValueHeads: 2, headDim: 16, vocabSize: tok.vocabSize, bosTokenId: 0, eosTokenId: tok.eosTokenId!, maxPositionEmbeddings: 512 });
  const model = Model.random(config, { seed: 3, std: 0.02 });
  const seqs = SCRIPTS.map((s) => { const g = segments(tok, s); return [...g.prompt, ...g.parts.flat()]; });
  const tokens = Int32Array.from(seqs.flat());
  const cu = Int32Array.from([0, ...seqs.map((_, i) => seqs.slice(0, i + 1).reduce((a, x) => a + x.length, 0))]);
  const opt = new AdamW(model, { lr: 1e-2, weightDecay: 0 });
  for (let i = 0; i < steps; i++) {
    await model.forwardBackward({ tokens, cuSeqlens: cu }, { type: 'crossEntropy' });
    await opt.step();
    opt.zeroGrad();
  }
  return model;
}
