// The ToRL-1.5B recipe end to end: GRPO with the Python interpreter in the loop (config.yaml,
// ToRL's values) from a local Qwen2.5-Math-1.5B directory, then the paper's evaluation of the
// trained model on AIME24, AIME25, MATH500, OlympiadBench and AMC23.
//
//   npx tsx examples/torl-1.5b/run.ts --model ~/models/Qwen2.5-Math-1.5B [--train FILE] [--out DIR]
//        [--steps N] [--resume] [--config FILE] [--device cuda] [--eval-limit N]
//
// In your own project: import { GrpoTrainer, evaluate, … } from 'torl'.
import { dirname, isAbsolute, join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import { parseArgs } from 'node:util';
import { evaluate, GrpoTrainer, loadTrainerConfig, reward, resolveTrainerConfig } from '../../lib/index.js';

const here = dirname(fileURLToPath(import.meta.url));
const root = resolve(here, '..', '..'); // the config's paths are relative to the checkout's root
const { values: a } = parseArgs({
  options: {
    model: { type: 'string' },
    train: { type: 'string' },
    out: { type: 'string' },
    steps: { type: 'string' },
    resume: { type: 'boolean', default: false },
    config: { type: 'string', default: join(here, 'config.yaml') },
    device: { type: 'string' },
    'eval-limit': { type: 'string' },
  },
});
if (!a.model) throw new Error('--model DIR: a local Qwen2.5-Math-1.5B directory (config.json, safetensors, tokenizer.json) is required');
const count = (flag: string, v: string | undefined): number | undefined => {
  if (v === undefined) return undefined;
  const n = Number(v);
  if (!Number.isInteger(n) || n < 1) throw new Error(`--${flag} must be a positive integer, got '${v}'`);
  return n;
};
const fromRoot = (p: string) => (isAbsolute(p) ? p : join(root, p));
const base = await loadTrainerConfig(a.config!);
const steps = count('steps', a.steps);
const config = resolveTrainerConfig({
  ...base,
  model: { ...base.model, path: a.model, ...(a.device ? { device: a.device } : {}) },
  data: { ...base.data, train: a.train ?? [base.data.train].flat().map(fromRoot), ...(base.data.val ? { val: [base.data.val].flat().map(fromRoot) } : {}) },
  trainer: { ...base.trainer, ...(a.out ? { outDir: a.out } : {}), ...(steps ? { totalSteps: steps } : {}) },
}, a.config);

const trainer = new GrpoTrainer(config, { resume: a.resume });
process.on('SIGINT', () => trainer.stop()); // finish the step, checkpoint, then stop (rerun with --resume)
let modelDir: string | null;
try {
  ({ modelDir } = await trainer.train());
} finally {
  await trainer.close();
}
if (modelDir === null) {
  console.log(`stopped before the last step: rerun with --resume to continue ${trainer.outDir}`);
} else {
  // The paper's protocol: greedy, the training template, the same tool loop with C = 1, the project's grader.
  const limit = count('eval-limit', a['eval-limit']);
  const r = await evaluate({
    model: modelDir,
    device: config.model.device,
    ...(config.model.dtype ? { dtype: config.model.dtype } : {}),
    template: config.data.template,
    maxToolCalls: config.rollout.maxToolCalls,
    maxResponseTokens: config.rollout.maxResponseTokens,
    observationMaxChars: config.rollout.observationMaxChars,
    ...(limit ? { limit } : {}),
    out: join(trainer.outDir, 'eval'),
    log: console.log,
  });
  console.log(`\n${r.table}\n\n${r.details}`);
}
await reward.shutdownGrader();
