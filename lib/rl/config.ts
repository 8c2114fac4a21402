// The GRPO trainer's configuration: one object (or a JSON / YAML file) whose defaults are
// ToRL's script (scripts/torl_1.5b.sh over veRL's ppo_trainer.yaml), grouped as veRL groups
// it; every field is checked and an error names the field.
import { readFile } from 'node:fs/promises';
import { extname } from 'node:path';
import { parse as parseYaml } from 'yaml';
import { z } from 'zod';

const int = (min: number) => z.number().int().min(min);
const positive = z.number().positive();
const paths = z.union([z.string().min(1), z.array(z.string().min(1)).min(1)]);
const clipBounds = z.union([z.number().min(0), z.object({ low: z.number().min(0), high: z.number().min(0) }).strict()]);
const schedule = z.discriminatedUnion('type', [
  z.object({ type: z.literal('constant') }).strict(),
  z.object({ type: z.literal('linear-warmup'), warmupSteps: int(0) }).strict(),
  z.object({ type: z.literal('cosine'), warmupSteps: int(0).optional(), totalSteps: int(1), minLr: z.number().min(0).optional() }).strict(),
]);

const schema = z.object({
  model: z.object({
    /** A local Hugging Face Qwen2 directory (config.json, safetensors; the tokenizer too unless `tokenizer`). */
    path: z.string().min(1),
    /** The directory of tokenizer.json, when not the model's. */
    tokenizer: z.string().min(1).optional(),
    device: z.string().default('cpu'),
    dtype: z.enum(['f32', 'bf16']).optional(),
  }).strict(),
  data: z.object({
    /** parquet / jsonl / json files (a path, a directory, a glob, or a list). */
    train: paths,
    /** The validation set (greedy, with tools, every trainer.testFreq steps); none by default. */
    val: paths.optional(),
    /** Prompt template: 'tir_base_0309' (ToRL), 'no_tool', 'raw', 'chat', or a string with [PROMPT]. */
    template: z.string().default('tir_base_0309'),
    /** Where the fields are in each row (see torl.loadDataset). */
    columns: z.record(z.string(), z.string()).optional(),
    /** Prompts longer than this (tokens) are dropped, as ToRL's max_prompt_length. */
    maxPromptTokens: int(1).default(400),
    /** Prompts per step (veRL data.train_batch_size). */
    trainBatchSize: int(1).default(128),
    shuffle: z.boolean().default(true),
    /** Validation examples at most (the first ones, in file order); all by default. */
    maxValExamples: int(1).optional(),
  }).strict(),
  rollout: z.object({
    /** Samples per prompt (GRPO's group). */
    n: int(1).default(16),
    temperature: z.number().min(0).default(1),
    topP: z.number().gt(0).max(1).default(1),
    topK: int(-1).default(-1),
    /** Response tokens at most, model and tool-output tokens together. */
    maxResponseTokens: int(1).default(3072),
    /** Tool calls per response (ToRL's C); 0 = no tool. */
    maxToolCalls: int(0).default(1),
    /** Tool output kept per call (characters, head … tail). */
    observationMaxChars: int(1).default(256),
    /** false: a failed run's output is the line "Error" (the paper's ablation). */
    feedErrors: z.boolean().default(true),
    /** Per tool call; default: the sandbox's. */
    toolTimeoutMs: positive.optional(),
    /** Engine: KV cache tokens (default: a share of free memory), sequences and new tokens per step. */
    kvCacheTokens: int(1).optional(),
    maxNumSeqs: int(1).default(256),
    maxBatchTokens: int(1).optional(),
    memoryFraction: z.number().gt(0).max(1).optional(),
    /** Validation sampling: greedy, one sample, as ToRL. */
    val: z.object({ temperature: z.number().min(0).default(0), n: int(1).default(1) }).strict().prefault({}),
  }).strict().prefault({}),
  sandbox: z.object({
    /** Python worker processes; default: the number of cores. */
    workers: int(1).optional(),
    /** The interpreter; default python3. */
    python: z.string().min(1).optional(),
    timeoutMs: positive.optional(),
    memoryMb: positive.optional(),
    isolation: z.enum(['auto', 'namespaces', 'bwrap', 'rlimits']).optional(),
    /** Run snippets where nothing can box them in (PythonSandbox's allowInsecure). */
    allowInsecure: z.boolean().optional(),
  }).strict().prefault({}),
  reward: z.object({
    /** 'torl' (+1 / −1) or 'v2.wformat' (+1 / −0.5 wrong / −1 no answer). */
    function: z.enum(['torl', 'v2.wformat']).default('torl'),
    /** Subtracted when a tool call of the response failed (ToRL's execution penalty is 0.5 when on). */
    codePenalty: z.number().min(0).default(0),
  }).strict().prefault({}),
  algorithm: z.object({
    /** GRPO divides by the group's std (unbiased) + eps; false is Dr.GRPO (veRL norm_adv_by_std_in_grpo). */
    normAdvByStd: z.boolean().default(true),
    eps: positive.default(1e-6),
  }).strict().prefault({}),
  actor: z.object({
    lr: z.number().min(0).default(1e-6),
    betas: z.tuple([z.number().min(0).lt(1), z.number().min(0).lt(1)]).default([0.9, 0.999]),
    eps: positive.default(1e-8),
    weightDecay: z.number().min(0).default(0.01),
    /** Global gradient-norm clip (AdamW's maxGradNorm; `gradClip`, veRL's grad_clip, is an alias). */
    maxGradNorm: positive.default(1),
    schedule: schedule.default({ type: 'constant' }),
    /** The ratio is clipped to [1 − low, 1 + high]. */
    clipRatio: clipBounds.default(0.2),
    /** Dual-clip bound c > 1 for negative advantages, or false (ToRL: none). */
    dualClip: z.union([z.literal(false), z.number().gt(1)]).default(false),
    /** KL loss against the initial model (ToRL: none, and then no reference model is kept). */
    klCoef: z.number().min(0).default(0),
    klType: z.enum(['k1', 'k2', 'k3']).default('k3'),
    entropyCoef: z.number().default(0),
    /** veRL's loss_agg_mode (the name of ops.grpoLoss's and Model.forwardBackward's option; `lossAggregation` is an alias). */
    aggregation: z.enum(['token-mean', 'seq-mean-token-sum', 'seq-mean-token-mean']).default('token-mean'),
    /** Passes over each step's samples. */
    ppoEpochs: int(1).default(1),
    /** Prompts per optimizer update (veRL ppo_mini_batch_size); default: the whole step, one update. */
    ppoMiniBatchSize: int(1).optional(),
    /** Tokens per micro-batch (veRL ppo_max_token_len_per_gpu); gradients accumulate over them. */
    microBatchTokens: int(1).default(16384),
    /** Gradient checkpointing. */
    recompute: z.boolean().default(false),
    /** Old log-probs: 'auto' takes the rollout's when there is one on-policy update, else recomputes. */
    oldLogprobs: z.enum(['auto', 'rollout', 'recompute']).default('auto'),
  }).strict().prefault({}),
  trainer: z.object({
    /** Steps to run; default: totalEpochs over the training set. */
    totalSteps: int(1).optional(),
    totalEpochs: int(1).default(300),
    /** Keys the data order and every sample's draws: (seed, step, prompt). */
    seed: int(0).default(1),
    /** Checkpoint every this many steps (and at the end). */
    saveFreq: int(1).default(20),
    /** Validate every this many steps and at the last (when data.val is set). */
    testFreq: int(1).default(4),
    valBeforeTrain: z.boolean().default(true),
    /** The run's output folder. */
    outDir: z.string().min(1).default('torl-out'),
    /** Responses written to samples/step-N.jsonl per step (all of the validation's). */
    samplesPerStep: int(0).default(16),
  }).strict().prefault({}),
}).strict();

/** A complete, validated configuration. */
export type TrainerConfig = z.infer<typeof schema>;
/** What a user writes: model.path and data.train, and any field to override. */
export type TrainerConfigInput = z.input<typeof schema>;

/** The configuration with every default applied; throws listing each bad field by its path. */
/** Old spellings still accepted, by group: alias → the field's name (the resolved config has only the names). */
export const CONFIG_ALIASES: Readonly<Record<string, Readonly<Record<string, string>>>> = {
  actor: { lossAggregation: 'aggregation', gradClip: 'maxGradNorm' },
};

/** `input` with each alias renamed to its field (an alias beside its field is an issue). */
function renameAliases(input: unknown): { value: unknown; issues: string[] } {
  if (typeof input !== 'object' || input === null || Array.isArray(input)) return { value: input, issues: [] };
  const value: Record<string, unknown> = { ...(input as Record<string, unknown>) };
  const issues: string[] = [];
  for (const [group, aliases] of Object.entries(CONFIG_ALIASES)) {
    const g = value[group];
    if (typeof g !== 'object' || g === null || Array.isArray(g)) continue;
    const renamed: Record<string, unknown> = { ...(g as Record<string, unknown>) };
    for (const [alias, name] of Object.entries(aliases)) {
      if (!(alias in renamed)) continue;
      if (name in renamed) issues.push(`  ${group}.${alias}: an alias of ${group}.${name}; give one of them`);
      else renamed[name] = renamed[alias];
      delete renamed[alias];
    }
    value[group] = renamed;
  }
  return { value, issues };
}

export function resolveTrainerConfig(input: unknown, source = 'config'): TrainerConfig {
  const { value, issues } = renameAliases(input);
  if (issues.length) throw new Error(`${source}: invalid trainer config\n${issues.join('\n')}`);
  const r = schema.safeParse(value);
  if (r.success) return r.data;
  const lines = r.error.issues.map((i) => `  ${i.path.join('.') || '(root)'}: ${i.message}`);
  throw new Error(`${source}: invalid trainer config\n${lines.join('\n')}`);
}

/** Read a config file (JSON when it ends in .json, else YAML) and resolve it. */
export async function loadTrainerConfig(file: string): Promise<TrainerConfig> {
  let text: string;
  try {
    text = await readFile(file, 'utf8');
  } catch (e) {
    throw new Error(`${file}: cannot read the config file (${(e as NodeJS.ErrnoException).code ?? (e as Error).message})`);
  }
  const json = extname(file).toLowerCase() === '.json';
  let value: unknown;
  try {
    value = json ? JSON.parse(text) : parseYaml(text);
  } catch (e) {
    throw new Error(`${file}: not valid ${json ? 'JSON' : 'YAML'}: ${(e as Error).message}`);
  }
  return resolveTrainerConfig(value, file);
}
