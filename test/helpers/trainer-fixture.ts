// A training run's inputs for the trainer tests: the SFT tool model of tool-model.ts saved as
// an HF directory (with the Qwen tokenizer files), and a jsonl dataset of its script prompts
// (raw template: the prompt is the problem), two data sources.
import { copyFileSync, mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { loadTokenizer, reward, type TrainerConfigInput } from '../../lib/index.js';
import { SCRIPTS, toolModel } from './tool-model.js';
import { qwenTokenizerDir } from '../tokenizer/fixture.js';

export interface TrainerFixture {
  dir: string;
  modelDir: string;
  dataFile: string;
  /** A config over them: 2 prompts × 4 samples a step, short responses, several micro-batches. */
  config: (outDir: string) => TrainerConfigInput;
}

export async function trainerFixture(sftSteps = 100): Promise<TrainerFixture> {
  const tok = await loadTokenizer(qwenTokenizerDir());
  const dir = mkdtempSync(join(tmpdir(), 'torl-trainer-'));
  const modelDir = join(dir, 'model');
  const model = await toolModel(tok, sftSteps);
  await model.save(modelDir);
  for (const f of ['tokenizer.json', 'tokenizer_config.json']) copyFileSync(join(qwenTokenizerDir(), f), join(modelDir, f));
  writeFileSync(join(modelDir, 'generation_config.json'), JSON.stringify({ eos_token_id: tok.eosTokenId }));
  const dataFile = join(dir, 'train.jsonl');
  const rows = [...SCRIPTS, ...SCRIPTS].map((s, i) => JSON.stringify({ problem: s.prompt, answer: '5', data_source: i % 2 ? 'odd' : 'even', id: `p${i}` }));
  writeFileSync(dataFile, `${rows.join('\n')}\n`);
  return {
    dir,
    modelDir,
    dataFile,
    config: (outDir) => ({
      model: { path: modelDir },
      data: { train: dataFile, val: dataFile, template: 'raw', trainBatchSize: 2, maxValExamples: 3 },
      rollout: { n: 4, maxResponseTokens: 48, kvCacheTokens: 4096 },
      sandbox: { workers: 1 },
      // eps 1e-6: Adam's first step is lr·g/(|g| + eps), which turns float noise in gradients near 0 into
      // differences of up to lr (a sign); with eps 1e-6 the step is smooth in g and runs can be compared.
      actor: { lr: 1e-3, eps: 1e-6, microBatchTokens: 96 },
      trainer: { totalSteps: 6, saveFreq: 3, testFreq: 3, outDir, samplesPerStep: 4 },
    }),
  };
}

/** A reward that varies within every group (by response length), so advantages are never all 0. */
export const lengthReward: reward.RewardFunction = async (response) => ({ reward: response.length % 3 === 0 ? 1 : response.length % 3 === 1 ? 0 : -1, reason: 'mismatch', answer: null, penalty: 0 });
