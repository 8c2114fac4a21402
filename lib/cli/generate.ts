// `torl generate --model DIR (--prompt TEXT… | --prompt-file F | --data FILE) [--tools]`: the engine
// over an HF model directory, vLLM-style sampling; --tools runs the tool-integrated rollout
// (Python sandbox calls mid-generation), --data takes the prompts of a dataset through its template.
import { readFileSync } from 'node:fs';
import { loadDataset } from '../data/index.js';
import { Engine, type Prompt, type SamplingParams } from '../engine/index.js';
import { Model } from '../model/index.js';
import { Rollout } from '../rollout/index.js';
import { PythonSandbox } from '../sandbox/index.js';
import { loadTokenizer } from '../tokenizer/index.js';
import { needDirectory } from './args.js';

export interface GenerateFlags {
  model: string;
  prompt: string[];
  promptFile?: string;
  data?: string;
  template: string;
  limit?: number;
  tools?: boolean;
  maxToolCalls: number;
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

export async function generate(o: GenerateFlags): Promise<void> {
  needDirectory('--model', o.model, 'a Hugging Face model directory: config.json, *.safetensors, tokenizer.json');
  const tokenizer = await loadTokenizer(o.model);
  const texts = [...o.prompt, ...(o.promptFile ? readFileSync(o.promptFile, 'utf8').split('\n').filter((l) => l.trim() !== '') : [])];
  const prompts: { text: string; ids: Prompt; gold?: string }[] = texts.map((text) => ({ text, ids: text }));
  if (o.data) {
    const ds = await loadDataset(o.data, { template: o.template, tokenizer });
    for (const e of ds.examples.slice(0, o.limit)) prompts.push({ text: e.prompt, ids: e.promptTokenIds!, gold: e.answer });
  }
  if (prompts.length === 0) throw new Error('give at least one --prompt (or --prompt-file, one prompt a line, or --data FILE)');
  const model = await Model.load(o.model, {
    device: o.device,
    onProgress: (done, total) => process.stderr.write(`\rloading ${o.model}: ${done}/${total} tensors`),
  });
  process.stderr.write('\n');
  const engine = new Engine(model, { tokenizer });
  const params: SamplingParams = { n: o.n, temperature: o.temperature, topP: o.topP, topK: o.topK, minP: o.minP, seed: o.seed, ignoreEos: o.ignoreEos ?? false };
  const t0 = performance.now();
  let tokens = 0;
  const print = (i: number, record: Record<string, unknown>, human: string) => {
    const gold = prompts[i]!.gold === undefined ? {} : { gold: prompts[i]!.gold };
    process.stdout.write(o.json ? `${JSON.stringify({ prompt: prompts[i]!.text, ...gold, ...record })}\n` : human);
  };
  if (o.tools) {
    const sandbox = new PythonSandbox();
    try {
      const rollout = new Rollout(engine, { tokenizer, sandbox, maxToolCalls: o.maxToolCalls, maxResponseTokens: o.maxTokens });
      const { samples } = await rollout.generate(prompts.map((p) => p.ids), params);
      for (const [i] of prompts.entries()) {
        const mine = samples.filter((s) => s.promptIndex === i);
        tokens += mine.reduce((a, s) => a + s.tokenIds.length, 0);
        const outputs = mine.map((s) => ({ index: s.index, text: s.text, tokenIds: s.tokenIds, finishReason: s.finishReason, toolCalls: s.toolCalls.map((c) => ({ code: c.code, status: c.result?.status ?? null, observation: c.observation })) }));
        print(i, { outputs }, mine.map((s) => `--- prompt ${i}, sample ${s.index} (${s.finishReason}, ${s.tokenIds.length} tokens, ${s.toolCalls.length} tool calls)\n${s.text}\n`).join(''));
      }
    } finally {
      await sandbox.close();
    }
  } else {
    const results = await engine.generate(prompts.map((p) => p.ids), { ...params, maxTokens: o.maxTokens, stop: o.stop });
    for (const [i, r] of results.entries()) {
      tokens += r.outputs.reduce((b, x) => b + x.tokenIds.length, 0);
      print(i, { ...r }, r.outputs.map((out) => `--- prompt ${i}, sample ${out.index} (${out.finishReason}, ${out.tokenIds.length} tokens)\n${out.text}\n`).join(''));
    }
  }
  const s = (performance.now() - t0) / 1000;
  process.stderr.write(`${tokens} tokens in ${s.toFixed(2)} s (${(tokens / s).toFixed(1)} tok/s) on ${model.device}\n`);
  engine.dispose();
}
