// A `torl demo` run in a child process, with a small base-model recipe (so tests can kill it):
//   node --import tsx test/helpers/demo-child.ts OUT CACHE STEPS [--resume]
import { runDemo } from '../../lib/demo/index.js';
import { reward } from '../../lib/index.js';
import { SMALL_RECIPE } from './demo-recipe.js';

const [out, cacheDir, steps] = process.argv.slice(2);
await runDemo({ out, cacheDir, steps: Number(steps), checkpointEvery: 1, recipe: SMALL_RECIPE, resume: process.argv.includes('--resume'), progress: false });
await reward.shutdownGrader();
