// `torl eval --model DIR [--benchmarks a,b] [--data FILE …] [--no-tools] [--samples k --temperature t]
// [--limit N] [--out DIR]`: torl.evaluate from the shell. Prints the paper-style table and the
// per-benchmark details; OUT holds config.json, samples.jsonl (rerunning resumes from it) and results.json.
import { evaluate } from '../eval/index.js';
import { shutdownGrader } from '../reward/index.js';
import { needDirectory } from './args.js';

export interface EvalFlags {
  model: string;
  tokenizer?: string;
  benchmarks?: string;
  data: string[];
  template?: string;
  limit?: number;
  tools: boolean;
  maxToolCalls: number;
  samples: number;
  temperature: number;
  topP: number;
  seed: number;
  maxTokens: number;
  device: string;
  dtype?: 'f32' | 'bf16';
  kvCacheTokens?: number;
  workers?: number;
  out: string;
  json?: boolean;
}

export async function evalCommand(o: EvalFlags): Promise<void> {
  needDirectory('--model', o.model, 'a Hugging Face model directory: config.json, *.safetensors, tokenizer.json');
  if (o.dtype !== undefined && o.dtype !== 'f32' && o.dtype !== 'bf16') throw new Error(`--dtype must be f32 or bf16, got '${o.dtype}'`);
  const benchmarks = o.benchmarks?.split(',').map((b) => b.trim()).filter((b) => b !== '');
  if (o.benchmarks !== undefined && benchmarks!.length === 0) throw new Error('--benchmarks: give at least one name');
  try {
    const r = await evaluate({
      model: o.model,
      ...(o.tokenizer ? { tokenizer: o.tokenizer } : {}),
      device: o.device,
      ...(o.dtype ? { dtype: o.dtype } : {}),
      ...(benchmarks ? { benchmarks } : {}),
      data: o.data,
      ...(o.template ? { template: o.template } : {}),
      ...(o.limit ? { limit: o.limit } : {}),
      tools: o.tools,
      maxToolCalls: o.maxToolCalls,
      samples: o.samples,
      temperature: o.temperature,
      topP: o.topP,
      seed: o.seed,
      maxResponseTokens: o.maxTokens,
      ...(o.kvCacheTokens ? { engine: { kvCacheTokens: o.kvCacheTokens } } : {}),
      ...(o.workers ? { sandbox: { workers: o.workers } } : {}),
      out: o.out,
      log: (line) => process.stderr.write(`${line}\n`),
    });
    const t = r.throughput;
    if (o.json) {
      process.stdout.write(`${JSON.stringify({ protocol: r.protocol, samples: r.samples, ...r.metrics, throughput: t, resumedProblems: r.resumedProblems, outDir: r.outDir })}\n`);
    } else {
      process.stdout.write(`\n${r.table}\n\n${r.details}\n`);
    }
    process.stderr.write(`${r.generatedProblems} problems generated (${r.resumedProblems} resumed) in ${t.wallS.toFixed(1)} s: ${t.sampledTokens} tokens, ${t.tokensPerS.toFixed(1)} tok/s, ${t.samplesPerS.toFixed(2)} samples/s\n`);
  } finally {
    await shutdownGrader();
  }
}
