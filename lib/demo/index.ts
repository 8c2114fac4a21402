// The embedded demo's pieces that do not need the trainer: the task, the tokenizer, the prompt
// template, the corpus, the tiny base model (built once, cached) and its measurement by the rollout.
export { DEMO_KINDS, demoSplits, writeDemoTask, problemSplit, powMod, type DemoKind, type DemoLevel, type DemoProblem, type DemoRow, type DemoSplitOptions, type DemoSplit } from './task.js';
export { DEMO_TEMPLATE, demoPrompt } from './template.js';
export { EOS_TOKEN, learnBpe, writeDemoTokenizer, type BpeModel, type BpeOptions } from './tokenizer.js';
export { buildCorpus, docText, tokenizeDoc, type CorpusDoc, type CorpusMode, type CorpusOptions, type Segment } from './corpus.js';
export { DEMO_RECIPE, DEMO_RECIPE_VERSION, buildDemoBaseModel, ensureDemoBaseModel, defaultCacheDir, recipeKey, type DemoRecipe, type DemoModelShape, type DemoProgress, type EnsureOptions, type BuildOptions } from './base-model.js';
export { measureDemoModel, type MeasureOptions, type DemoMeasurement } from './measure.js';
export { runDemo, demoConfig, summaryTable, DEMO_RL, type DemoOptions, type DemoSummary, type RunSummary, type RunPoint } from './run-demo.js';
