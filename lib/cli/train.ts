// `torl train CONFIG [--out DIR] [--steps N] [--resume]`: the GRPO trainer from a JSON / YAML
// config. Ctrl-C finishes the step under way, checkpoints and exits; a second one quits at once.
import { GrpoTrainer } from '../rl/index.js';
import { loadTrainerConfig, resolveTrainerConfig } from '../rl/config.js';
import { shutdownGrader } from '../reward/index.js';

export interface TrainFlags {
  out?: string;
  steps?: number;
  resume?: boolean;
}

export async function train(configFile: string, o: TrainFlags): Promise<void> {
  const base = await loadTrainerConfig(configFile);
  const config = resolveTrainerConfig({ ...base, trainer: { ...base.trainer, ...(o.out ? { outDir: o.out } : {}), ...(o.steps ? { totalSteps: o.steps } : {}) } }, configFile);
  const trainer = new GrpoTrainer(config, { resume: o.resume ?? false });
  let interrupts = 0;
  const onSigint = () => {
    if (++interrupts > 1) process.exit(130);
    process.stderr.write('\ntorl: stopping after this step (checkpoint, then exit); Ctrl-C again to quit now\n');
    trainer.stop();
  };
  process.on('SIGINT', onSigint);
  try {
    const r = await trainer.train();
    console.log(r.stopped ? `stopped at step ${r.steps}: resume with --resume` : `done: ${r.steps} steps, model in ${r.modelDir}`);
  } finally {
    process.off('SIGINT', onSigint);
    await trainer.close();
    await shutdownGrader();
  }
}
