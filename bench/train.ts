// bench/train: training tokens/s (forward + SFT loss + backward + AdamW) and peak memory
// of the Qwen2 runner beside the same model in PyTorch on the same packed batch.
//   CPU: a tiny and a ~50M-parameter config vs PyTorch CPU (Debian's /usr/bin/python3,
//        python3-torch, same thread count; plain Qwen2 in bench/qwen2_torch.py).
//   GPU (when CUDA is available): the Qwen2.5-1.5B architecture, random weights, bf16,
//        vs transformers' Qwen2ForCausalLM with SDPA (python3 on PATH).
// Each measurement runs in its own process so peak RSS is its own.
// Last line: one JSON object with the figures and ratios (ours / torch).
import { spawnSync } from 'node:child_process';
import { existsSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { backends } from '../lib/backends.js';
import { AdamW, Model, qwen2Config, toHfConfig, type ModelConfig } from '../lib/model/index.js';
import { torchCpuEnv } from './lib/harness.js';

interface Case {
  name: string;
  config: ModelConfig;
  lengths: number[];
  steps: number;
  device: string;
  python: string;
  impl: 'plain' | 'hf';
}
interface Figures {
  tokens_per_s: number;
  step_s: number;
  peak_bytes: number;
  params?: number;
}

const here = dirname(fileURLToPath(import.meta.url));

async function ours(c: Case): Promise<Figures> {
  const model = Model.random(c.config, { seed: 0, device: c.device });
  const opt = new AdamW(model, { lr: 1e-4 });
  const T = c.lengths.reduce((a, b) => a + b, 0);
  const cuSeqlens = Int32Array.from([0, ...c.lengths.map((_, i) => c.lengths.slice(0, i + 1).reduce((a, b) => a + b, 0))]);
  const tokens = Int32Array.from({ length: T }, (_, i) => (i * 2654435761) % c.config.vocabSize);
  const step = async () => {
    await model.forwardBackward({ tokens, cuSeqlens }, { type: 'crossEntropy' });
    await opt.step();
    opt.zeroGrad();
  };
  await step();
  const t0 = performance.now();
  for (let i = 0; i < c.steps; i++) await step();
  model.parameters().get('final_norm.weight')!.to('cpu'); // waits for queued device work
  const dt = (performance.now() - t0) / 1000 / c.steps;
  const peak = c.device === 'cpu' ? process.resourceUsage().maxRSS * 1024 : NaN; // GPU memory: not exposed yet
  return { tokens_per_s: T / dt, step_s: dt, peak_bytes: peak };
}

function child(c: Case): Figures {
  const r = spawnSync(process.execPath, [...process.execArgv, process.argv[1]!, '--child', JSON.stringify(c)], { encoding: 'utf8', maxBuffer: 1 << 24 });
  if (r.status !== 0) throw new Error(`bench/train child failed: ${r.stderr}`);
  return JSON.parse(r.stdout.trim().split('\n').pop()!) as Figures;
}

function torch(c: Case): Figures | null {
  if (c.python.startsWith('/') && !existsSync(c.python)) return null;
  const hf = toHfConfig(c.config);
  const arg = { config: hf, lengths: c.lengths, steps: c.steps, threads: backends().cpu.threads, device: c.device === 'cpu' ? 'cpu' : 'cuda', impl: c.impl };
  const env = c.device === 'cpu' ? torchCpuEnv() : process.env;
  const r = spawnSync(c.python, [join(here, 'train.py'), JSON.stringify(arg)], { encoding: 'utf8', maxBuffer: 1 << 24, env });
  if (r.status !== 0) {
    console.error(`(torch reference unavailable: ${(r.stderr || r.error?.message || '').trim().split('\n').pop()})`);
    return null;
  }
  return JSON.parse(r.stdout.trim().split('\n').pop()!) as Figures;
}

function cases(): Case[] {
  const ids = { bosTokenId: 0, eosTokenId: 1, torchDtype: 'float32' as const };
  const out: Case[] = [
    { name: 'tiny (D 128, 4 layers, V 4096)', config: qwen2Config({ hiddenSize: 128, intermediateSize: 512, numHiddenLayers: 4, numAttentionHeads: 4, numKeyValueHeads: 2, vocabSize: 4096, ...ids }), lengths: [256, 128, 384, 256], steps: 2, device: 'cpu', python: '/usr/bin/python3', impl: 'plain' },
    { name: '~50M (D 512, 8 layers, V 50000)', config: qwen2Config({ hiddenSize: 512, intermediateSize: 1408, numHiddenLayers: 8, numAttentionHeads: 8, numKeyValueHeads: 2, vocabSize: 50000, ...ids }), lengths: [256, 128, 128], steps: 1, device: 'cpu', python: '/usr/bin/python3', impl: 'plain' },
  ];
  if (backends().cuda.available) {
    out.push({ name: 'Qwen2.5-1.5B arch, bf16 (cuda)', config: qwen2Config({ hiddenSize: 1536, intermediateSize: 8960, numHiddenLayers: 28, numAttentionHeads: 12, numKeyValueHeads: 2, vocabSize: 151936, ropeTheta: 1e6, maxPositionEmbeddings: 32768 }), lengths: [1024, 1024, 1024, 1024], steps: 5, device: 'cuda', python: 'python3', impl: 'hf' });
  }
  // --gpu (as check:gpu runs it): the GPU case only.
  return process.argv.includes('--gpu') ? out.filter((c) => c.device !== 'cpu') : out;
}

if (process.argv[2] === '--child') {
  console.log(JSON.stringify(await ours(JSON.parse(process.argv[3]!) as Case)));
} else {
  const mb = (b: number) => (Number.isFinite(b) ? `${(b / 2 ** 20).toFixed(0)} MiB` : 'n/a');
  const results: Record<string, unknown> = {};
  console.log(`threads: ${backends().cpu.threads}`);
  console.log(['config'.padEnd(34), 'tokens', 'torl tok/s', 'torch tok/s', 'torl ÷ torch', 'torl peak', 'torch peak'].join(' | '));
  for (const c of cases()) {
    process.stderr.write(`running ${c.name}…\n`);
    const a = child(c);
    const b = torch(c);
    const T = c.lengths.reduce((x, y) => x + y, 0);
    const ratio = b ? a.tokens_per_s / b.tokens_per_s : null;
    console.log([c.name.padEnd(34), String(T), a.tokens_per_s.toFixed(0), b ? b.tokens_per_s.toFixed(0) : 'missing', ratio ? `${ratio.toFixed(2)}x` : '-', mb(a.peak_bytes), b ? mb(b.peak_bytes) : '-'].join(' | '));
    results[c.name] = { torl: a, torch: b, ratio, params: b?.params };
  }
  console.log(JSON.stringify({ bench: 'train', threads: backends().cpu.threads, results }));
}
