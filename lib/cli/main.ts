#!/usr/bin/env node
// The torl command: demo (the embedded default), train (the GRPO trainer), eval (the paper's
// benchmarks), generate (the engine, optionally with tools), plot (a run's figures).
import { readFileSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';

import { Command } from 'commander';

import { collect, num, positiveInt } from './args.js';
import { demo } from './demo.js';
import { evalCommand } from './eval.js';
import { generate } from './generate.js';
import { plot } from './plot.js';
import { train } from './train.js';

const pkg = JSON.parse(readFileSync(join(dirname(fileURLToPath(import.meta.url)), '..', '..', 'package.json'), 'utf8')) as { version: string };

const program = new Command('torl').description('Tool-integrated RL for language models (ToRL) on Node.js').version(pkg.version);
program
  .command('demo')
  .description('a tiny base model learns by RL to use the Python interpreter, beside the same RL without tools (CPU, minutes)')
  .option('--out <dir>', 'output folder', './torl-demo')
  .option('--steps <n>', 'RL steps per run', positiveInt('--steps'))
  .option('--seed <s>', 'seed of the data order and sampling', num('--seed'))
  .option('--checkpoint-every <k>', 'checkpoint every k steps', positiveInt('--checkpoint-every'))
  .option('--resume', 'continue the runs from their last checkpoints')
  .option('--no-baseline', 'skip the no-tool baseline')
  .option('--study', "also the paper's ablations: C = 0…3, error feedback, code penalty")
  .action(demo);
program
  .command('train')
  .description("GRPO with a Python interpreter in the loop (ToRL's recipe), from a JSON or YAML config")
  .argument('<config>', 'the trainer config (.json, .yaml); see README "Training"')
  .option('--out <dir>', 'output folder (overrides trainer.outDir)')
  .option('--steps <n>', 'steps to run (overrides trainer.totalSteps)', positiveInt('--steps'))
  .option('--resume', 'continue from the last complete checkpoint in the output folder')
  .action(train);
program
  .command('generate')
  .description('generate text with the engine from a Hugging Face model directory (vLLM-style sampling), optionally with tool calls')
  .requiredOption('--model <dir>', 'HF model directory (config.json, safetensors, tokenizer.json)')
  .option('--prompt <text>', 'a prompt (repeatable)', collect, [])
  .option('--prompt-file <file>', 'prompts, one a line')
  .option('--data <file>', 'prompts from a dataset (parquet, jsonl, json) through --template')
  .option('--template <name>', "prompt template for --data: tir_base_0309, no_tool, raw, chat, or a string with [PROMPT]", 'tir_base_0309')
  .option('--limit <n>', 'the first n examples of --data', positiveInt('--limit'))
  .option('--tools', 'run the tool-integrated rollout: code blocks before ```output run in the Python sandbox')
  .option('--max-tool-calls <n>', 'tool calls per sample with --tools (ToRL C)', num('--max-tool-calls'), 1)
  .option('--device <device>', "'cpu', 'cuda' or 'cuda:N'", 'cpu')
  .option('-n, --n <n>', 'samples per prompt', num('--n'), 1)
  .option('--temperature <t>', '0 = greedy', num('--temperature'), 1)
  .option('--top-p <p>', 'nucleus mass', num('--top-p'), 1)
  .option('--top-k <k>', '-1 = off', num('--top-k'), -1)
  .option('--min-p <p>', '0 = off', num('--min-p'), 0)
  .option('--max-tokens <n>', 'tokens to generate at most (with --tools: response tokens, tool output included)', num('--max-tokens'), 256)
  .option('--seed <s>', 'sampling seed', num('--seed'))
  .option('--stop <text>', 'stop string (repeatable; without --tools)', collect, [])
  .option('--ignore-eos', 'keep going past EOS')
  .option('--json', 'one JSON line per prompt')
  .action(generate);
program
  .command('eval')
  .description("evaluate a model on AIME24/25, MATH500, OlympiadBench, AMC23 (the paper's protocol: greedy, tir_base_0309, C = 1) or any test set")
  .requiredOption('--model <dir>', 'HF model directory (config.json, safetensors, tokenizer.json)')
  .option('--benchmarks <names>', 'comma-separated: aime24,aime25,math500,olympiadbench,amc23 (the default, unless --data), math500_level5')
  .option('--data <file>', 'another test set: jsonl/parquet/json with problem and answer columns (repeatable)', collect, [])
  .option('--limit <n>', 'the first n problems of each benchmark and --data', positiveInt('--limit'))
  .option('--no-tools', 'the no-tool protocol for base models: no interpreter, the no_tool template')
  .option('--max-tool-calls <n>', 'tool calls per response (ToRL C)', num('--max-tool-calls'), 1)
  .option('--template <name>', 'prompt template: tir_base_0309 (default; no_tool with --no-tools), no_tool, raw, chat, or a string with [PROMPT]')
  .option('--samples <k>', 'samples per problem, for pass@k (needs --temperature > 0)', positiveInt('--samples'), 1)
  .option('--temperature <t>', '0 = greedy (the paper)', num('--temperature'), 0)
  .option('--top-p <p>', 'nucleus mass', num('--top-p'), 1)
  .option('--seed <s>', 'sampling seed (draws keyed by seed and problem)', num('--seed'), 0)
  .option('--max-tokens <n>', 'response tokens at most, tool output included', positiveInt('--max-tokens'), 3072)
  .option('--out <dir>', 'results folder: config.json, samples.jsonl (a rerun resumes from it), results.json', 'torl-eval')
  .option('--tokenizer <dir>', "directory of tokenizer.json (default: the model's)")
  .option('--device <device>', "'cpu', 'cuda' or 'cuda:N'", 'cpu')
  .option('--dtype <dtype>', 'f32 or bf16 (default: the checkpoint\'s)')
  .option('--kv-cache-tokens <n>', 'KV cache size (default: a share of free memory)', positiveInt('--kv-cache-tokens'))
  .option('--workers <n>', 'Python sandbox workers (default: one per core)', positiveInt('--workers'))
  .option('--json', 'print the results as one JSON line instead of the table')
  .action(evalCommand);
program
  .command('plot')
  .description("re-draw a training run's figures (OUT/plots/*.svg) from OUT/metrics.jsonl")
  .argument('<out>', 'the output folder of a torl train run')
  .action(plot);

program.parseAsync(process.argv).catch((e: Error) => {
  process.stderr.write(`torl: ${e.message}\n`);
  process.exit(1);
});
