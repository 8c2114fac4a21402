// A base-model recipe small enough for tests of the demo's plumbing (seconds to build; it
// learns little): the shape of DEMO_RECIPE with a smaller corpus, model and pretraining.
import { DEMO_RECIPE, type DemoRecipe } from '../../lib/demo/index.js';

export const SMALL_RECIPE: DemoRecipe = {
  ...DEMO_RECIPE,
  corpus: { ...DEMO_RECIPE.corpus, size: 600 },
  model: { hiddenSize: 32, intermediateSize: 64, numHiddenLayers: 1, numAttentionHeads: 2, numKeyValueHeads: 1 },
  pretrain: { ...DEMO_RECIPE.pretrain, steps: 20, warmupSteps: 2 },
};
