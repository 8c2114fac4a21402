// The generation engine in a few lines: a local Hugging Face model directory, vLLM-style sampling,
// then the same prompt streamed token by token.
//
//   npx tsx examples/generate.ts MODEL_DIR ["prompt"] [--device cuda]
//
// In your own project: import * as torl from 'torl'.
import { parseArgs } from 'node:util';
import * as torl from '../lib/index.js';

const { values, positionals } = parseArgs({ allowPositionals: true, options: { device: { type: 'string', default: 'cpu' } } });
const [dir, prompt = 'Question: what is 2 + 3?\nAnswer:'] = positionals;
if (!dir) throw new Error('usage: examples/generate.ts MODEL_DIR ["prompt"] [--device cuda]');

const tokenizer = await torl.loadTokenizer(dir);
const model = await torl.Model.load(dir, { device: values.device });
const engine = new torl.Engine(model, { tokenizer, kvCacheTokens: 8192 });

// Four samples of one prompt (they share its KV blocks), seeded: the same tokens on every run.
const [result] = await engine.generate([prompt], { n: 4, temperature: 0.7, topP: 0.95, maxTokens: 32, seed: 1 });
for (const o of result!.outputs) console.log(`sample ${o.index} (${o.finishReason}, ${o.tokenIds.length} tokens): ${JSON.stringify(o.text)}`);

// Greedy, streamed: text as it becomes final.
let streamed = '';
for await (const ev of engine.stream([prompt], { temperature: 0, maxTokens: 32 })) streamed += ev.text ?? '';
console.log(`greedy: ${JSON.stringify(streamed)}`);
const s = engine.stats();
console.log(`engine: ${s.steps} steps, ${s.sampledTokens} tokens sampled, KV cache ${s.numBlocks} blocks of ${s.blockSize} tokens`);
engine.dispose();
