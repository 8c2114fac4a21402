// Tokenizers: HF tokenizer.json (exact Qwen2/Qwen2.5 byte-level BPE), incremental decoding, chat templates.
export { loadTokenizer, Tokenizer, type EncodeOptions, type DecodeOptions, type ChatMessage, type ChatTemplateOptions } from './tokenizer.js';
export { DecodeStream } from './stream.js';
