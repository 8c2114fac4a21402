// bench/grpo: GRPO steps of the GrpoTrainer by phase (rollout, reward wait, train), rollout and
// training tokens/s and peak device memory, ToRL (C = 1) beside the same steps without tools
// (C = 0) measured in the same run — then a greedy eval of 10 problems on the trained model
// (torl.evaluate: the eval path end to end).
//   --gpu (as check:gpu runs it): random weights of the Qwen2.5-Math-1.5B architecture (real
//     shapes: 28 layers, D 1536, a 151936-row head) in bf16 on cuda:0, 4 prompts × 16 samples,
//     512 response tokens, 2 steps per run;
//   default (CPU): the same code on a tiny Qwen2 (D 64, 2 layers, the same padded head), 4 × 4
//     samples, 64 response tokens.
// The tokenizer is torl's own demo BPE (452 ids; written here, nothing to download): the head
// keeps its real 151936 rows, and the engine samples only the tokenizer's ids. The task is the
// demo's arithmetic, in ToRL's tir_base_0309 template. Random weights rarely write a tool call,
// so C = 1 vs C = 0 here measures the rollout machinery's cost, not the sandbox's.
//   npm run bench -- grpo [--gpu] [--steps N] [--prompts P] [--n N] [--response T]
import { mkdtempSync } from 'node:fs';
import { tmpdir, cpus } from 'node:os';
import { join } from 'node:path';

import * as torl from '../lib/index.js';
import { buildCorpus, docText, writeDemoTask, writeDemoTokenizer } from '../lib/demo/index.js';
import { emitJson, fmt, printTable } from './lib/harness.js';

const argv = process.argv.slice(2);
const gpu = argv.includes('--gpu');
const num = (name: string, d: number) => {
  const i = argv.indexOf(name);
  return i >= 0 ? Number(argv[i + 1]) : d;
};
const steps = num('--steps', 2), prompts = num('--prompts', 4), n = num('--n', gpu ? 16 : 4), response = num('--response', gpu ? 512 : 64);
const device = gpu ? 'cuda:0' : 'cpu';
const dir = mkdtempSync(join(tmpdir(), 'torl-bench-grpo-'));

const modelDir = join(dir, 'model');
const vocab = await writeDemoTokenizer(modelDir, buildCorpus({ seed: 0, size: 2000 }).map(docText));
const tok = await torl.loadTokenizer(modelDir);
const shape = gpu
  ? { hiddenSize: 1536, intermediateSize: 8960, numHiddenLayers: 28, numAttentionHeads: 12, numKeyValueHeads: 2, headDim: 128 }
  : { hiddenSize: 64, intermediateSize: 128, numHiddenLayers: 2, numAttentionHeads: 4, numKeyValueHeads: 2, headDim: 16 };
const config = torl.qwen2Config({ ...shape, vocabSize: 151936, tieWordEmbeddings: true, ropeTheta: 10000, maxPositionEmbeddings: 4096, bosTokenId: tok.eosTokenId!, eosTokenId: tok.eosTokenId! });
process.stderr.write(`bench/grpo: writing random weights (${gpu ? 'Qwen2.5-Math-1.5B shapes, bf16' : 'tiny, f32'}) …\n`);
await torl.createRandomCheckpoint(modelDir, config, { seed: 1, dtype: gpu ? 'bf16' : 'f32', tokenizer: modelDir });
const data = await writeDemoTask(join(dir, 'data'), { train: 64, test: 10 });

const peak = { bytes: 0 };
const sampleMemory = () => {
  if (!gpu) return;
  const m = torl.memoryInfo(device);
  peak.bytes = Math.max(peak.bytes, m.total - m.free);
};
const timer = setInterval(sampleMemory, 100);

async function run(maxToolCalls: number) {
  const out = join(dir, `run-c${maxToolCalls}`);
  const trainer = new torl.GrpoTrainer({
    model: { path: modelDir, device, dtype: gpu ? 'bf16' : 'f32' },
    data: { train: data.train, trainBatchSize: prompts },
    rollout: { n, maxResponseTokens: response, maxToolCalls, toolTimeoutMs: 2000 },
    actor: { lr: 1e-6, recompute: gpu },
    trainer: { totalSteps: steps, saveFreq: 1000, outDir: out, samplesPerStep: 0, valBeforeTrain: false },
  }, { log: () => {}, progress: false });
  const reports: torl.StepReport[] = [];
  await trainer.setup();
  for (let s = 0; s < steps; s++) reports.push(await trainer.runStep());
  await trainer.close();
  const ms = reports.map((r) => r.metrics);
  const skip = ms.length > 1 ? 1 : 0; // the first step warms the engine and the kernels
  const tail = ms.slice(skip);
  const mean = (k: string) => tail.reduce((a, m) => a + (m[k] ?? 0), 0) / tail.length;
  const trainTokens = reports.slice(skip).reduce((a, r) => a + r.samples.reduce((b, x) => b + x.promptTokenIds.length + x.tokenIds.length, 0), 0) / tail.length;
  return { step: mean('time/step_s'), rollout: mean('time/rollout_s'), reward: mean('time/reward_s'), train: mean('time/train_s'), rolloutTokS: mean('rollout/tokens_per_s'), trainTokS: trainTokens / mean('time/train_s'), toolCallRate: mean('tool/call_rate'), responseLength: mean('response_length/mean') };
}

sampleMemory();
const withTools = await run(1);
const noTools = await run(0);
const t0 = performance.now();
const ev = await torl.evaluate({ model: modelDir, device, data: [data.test], limit: 10, maxResponseTokens: response, progress: false });
const evalS = (performance.now() - t0) / 1000;
clearInterval(timer);
sampleMemory();
await torl.reward.shutdownGrader();

const where = gpu ? `${device} (bf16)` : `${cpus()[0]?.model ?? 'CPU'}, ${torl.backends().cpu.threads} threads, ${torl.backends().cpu.simd} (f32)`;
printTable(`GRPO step by phase — ${prompts} prompts × ${n} samples, ≤ ${response} response tokens, ${gpu ? 'Qwen2.5-Math-1.5B shapes, random weights' : 'tiny Qwen2'} on ${where} (mean of steps 2…${steps})`, ['run', 'step s', 'rollout s', 'reward wait s', 'train s', 'rollout tok/s', 'train tok/s', 'tool calls', 'resp len', 'C=1 / C=0'], [
  ['ToRL (C = 1)', withTools.step, withTools.rollout, withTools.reward, withTools.train, withTools.rolloutTokS, withTools.trainTokS, withTools.toolCallRate, withTools.responseLength, `${fmt(withTools.step / noTools.step)}x`],
  ['no tool (C = 0)', noTools.step, noTools.rollout, noTools.reward, noTools.train, noTools.rolloutTokS, noTools.trainTokS, noTools.toolCallRate, noTools.responseLength, '1x'],
]);
console.log(`\ngreedy eval of ${ev.records.length} problems on the same weights: ${fmt(evalS)} s, ${fmt(ev.throughput.tokensPerS)} tok/s${gpu ? `; peak device memory in use ${fmt(peak.bytes / 2 ** 30)} GiB` : ''}`);
emitJson({ bench: 'grpo', where, gpu, prompts, n, response, steps, vocabTokenizer: vocab, withTools, noTools, stepRatio: withTools.step / noTools.step, eval: { problems: ev.records.length, seconds: evalS, tokensPerSecond: ev.throughput.tokensPerS }, peakDeviceBytes: gpu ? peak.bytes : null });
