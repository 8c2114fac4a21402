// `torl demo`: a tiny base model learns to use the interpreter by RL, beside the same RL
// without tools, on this machine's CPU in minutes (see lib/demo/run-demo.ts).
import { runDemo } from '../demo/run-demo.js';
import { shutdownGrader } from '../reward/index.js';

export interface DemoFlags {
  out: string;
  steps?: number;
  seed?: number;
  checkpointEvery?: number;
  resume?: boolean;
  baseline: boolean;
  study?: boolean;
}

export async function demo(o: DemoFlags): Promise<void> {
  try {
    await runDemo({ out: o.out, steps: o.steps, seed: o.seed, checkpointEvery: o.checkpointEvery, resume: o.resume, baseline: o.baseline, study: o.study });
  } finally {
    await shutdownGrader();
  }
}
