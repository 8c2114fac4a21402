#!/usr/bin/env node
// The torl command. Subcommands are added as their issues land (demo, train, eval: see
// DESIGN.md); today: `torl generate`, the generation engine over an HF model directory.
import { readFileSync, statSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';

import { Command, InvalidArgumentError } from 'commander';

import { Engine } from '../engine/index.js';
import type { SamplingParams } from '../engine/index.js';
import { Model } from '../model/index.js';
import { loadTokenizer } from '../tokenizer/index.js';

const pkg = JSON.parse(readFileSync(join(dirname(fileURLToPath(import.meta.url)), '..', '..', 'package.json'), 'utf8')) as { version: string };

const num = (name: string) => (v: string): number => {
  const x = Number(v);
  if (v.trim() === '' || !Number.isFinite(x)) throw new InvalidArgumentError(`${name} must be a number, got '${v}'`);
  return x;
};
const collect = (v: string, prev: string[]): string[] => [...prev, v];

interface GenerateOptions {
  model: string;
  prompt: string[];
  promptFile?: string;
  device: string;
  n: number;
  temperature: number;
  topP: number;
  topK: number;
  minP: number;
  maxTokens: number;
  seed?: number;
  stop: string[];
  ignoreEos?: boolean;
  json?: boolean;
}

async function generate(o: GenerateOptions): Promise<void> {
  let isDir = false;
  try {
    isDir = statSync(o.model).isDirectory();
  } catch {
    throw new Error(`--model ${o.model}: no such directory (a Hugging Face model directory: config.json, *.safetensors, tokenizer.json)`);
  }
  if (!isDir) throw new Error(`--model ${o.model}: not a directory (give the Hugging Face model directory holding config.json)`);
  const prompts = [...o.prompt, ...(o.promptFile ? readFileSync(o.promptFile, 'utf8').split('\n').filter((l) => l.trim() !== '') : [])];
  if (prompts.length === 0) throw new Error('give at least one --prompt (or --prompt-file, one prompt a line)');
  const tokenizer = await loadTokenizer(o.model);
  const model = await Model.load(o.model, {
    device: o.device,
    onProgress: (done, total) => process.stderr.write(`\rloading ${o.model}: ${done}/${total} tensors`),
  });
  process.stderr.write('\n');
  const engine = new Engine(model, { tokenizer });
  const params: SamplingParams = {
    n: o.n, temperature: o.temperature, topP: o.topP, topK: o.topK, minP: o.minP, maxTokens: o.maxTokens,
    seed: o.seed, stop: o.stop, ignoreEos: o.ignoreEos ?? false,
  };
  const t0 = performance.now();
  const results = await engine.generate(prompts, params);
  const s = (performance.now() - t0) / 1000;
  const tokens = results.reduce((a, r) => a + r.outputs.reduce((b, x) => b + x.tokenIds.length, 0), 0);
  for (const [i, r] of results.entries()) {
    if (o.json) {
      process.stdout.write(JSON.stringify({ prompt: prompts[i], ...r }) + '\n');
      continue;
    }
    for (const out of r.outputs) process.stdout.write(`--- prompt ${i}, sample ${out.index} (${out.finishReason}, ${out.tokenIds.length} tokens)\n${out.text}\n`);
  }
  process.stderr.write(`${tokens} tokens in ${s.toFixed(2)} s (${(tokens / s).toFixed(1)} tok/s) on ${model.device}\n`);
  engine.dispose();
}

const program = new Command('torl').description('Tool-integrated RL for language models (ToRL) on Node.js').version(pkg.version);
program
  .command('generate')
  .description('generate text with the engine from a Hugging Face model directory (vLLM-style sampling)')
  .requiredOption('--model <dir>', 'HF model directory (config.json, safetensors, tokenizer.json)')
  .option('--prompt <text>', 'a prompt (repeatable)', collect, [])
  .option('--prompt-file <file>', 'prompts, one a line')
  .option('--device <device>', "'cpu', 'cuda' or 'cuda:N'", 'cpu')
  .option('-n, --n <n>', 'samples per prompt', num('--n'), 1)
  .option('--temperature <t>', '0 = greedy', num('--temperature'), 1)
  .option('--top-p <p>', 'nucleus mass', num('--top-p'), 1)
  .option('--top-k <k>', '-1 = off', num('--top-k'), -1)
  .option('--min-p <p>', '0 = off', num('--min-p'), 0)
  .option('--max-tokens <n>', 'tokens to generate at most', num('--max-tokens'), 256)
  .option('--seed <s>', 'sampling seed', num('--seed'))
  .option('--stop <text>', 'stop string (repeatable)', collect, [])
  .option('--ignore-eos', 'keep going past EOS')
  .option('--json', 'one JSON line per prompt (the engine result)')
  .action(generate);

program.parseAsync(process.argv).catch((e: Error) => {
  process.stderr.write(`torl: ${e.message}\n`);
  process.exit(1);
});
