// HF tokenizer.json loading and exact encode/decode, over @huggingface/tokenizers (pure JS; its
// output is checked token for token against HF's Rust implementation by the committed parity vectors).
import { readFile, stat } from 'node:fs/promises';
import { dirname, join } from 'node:path';
import { Tokenizer as HfTokenizer } from '@huggingface/tokenizers';
import { Template } from '@huggingface/jinja';
import { DecodeStream } from './stream.js';

export interface EncodeOptions {
  /** Add the post-processor's special tokens (BOS etc.; none for Qwen2). Default true, as HF. */
  addSpecialTokens?: boolean;
}

export interface DecodeOptions {
  /** Drop special tokens (<|im_end|>, <|endoftext|>, …) from the text. Default false, as HF. */
  skipSpecialTokens?: boolean;
}

/** A chat message for chat templates. */
export interface ChatMessage {
  role: string;
  content: string;
}

export interface ChatTemplateOptions {
  /** Append the header that opens the assistant's turn. Default true. */
  addGenerationPrompt?: boolean;
  /** Extra variables passed to the template (e.g. enable_thinking). */
  variables?: Record<string, unknown>;
}

/** tokenizer_config.json's token fields are either a string or an AddedToken object. */
function tokenContent(v: unknown): string | undefined {
  if (typeof v === 'string') return v;
  if (v && typeof v === 'object' && typeof (v as { content?: unknown }).content === 'string') return (v as { content: string }).content;
  return undefined;
}

async function readJson(file: string): Promise<Record<string, unknown> | undefined> {
  try {
    return JSON.parse(await readFile(file, 'utf8')) as Record<string, unknown>;
  } catch (e) {
    if ((e as NodeJS.ErrnoException).code === 'ENOENT') return undefined;
    throw new Error(`${file}: ${(e as Error).message}`);
  }
}

/** A loaded HF tokenizer (tokenizer.json + tokenizer_config.json + generation_config.json when present). */
export class Tokenizer {
  /** Number of ids the tokenizer can produce (vocabulary + added tokens). */
  readonly vocabSize: number;
  readonly bosTokenId: number | undefined;
  readonly eosTokenId: number | undefined;
  readonly padTokenId: number | undefined;
  /** Ids that end generation: the EOS token plus generation_config.json's eos_token_id(s). */
  readonly stopTokenIds: number[];
  /** Ids of special added tokens. */
  readonly specialTokenIds: ReadonlySet<number>;
  /** The chat template from tokenizer_config.json, if any. */
  readonly chatTemplate: string | undefined;
  private readonly hf: HfTokenizer;
  private readonly tokenConfig: Record<string, unknown>;
  private compiledTemplate: Template | undefined;

  constructor(tokenizerJson: Record<string, unknown>, tokenizerConfig: Record<string, unknown> = {}, generationConfig: Record<string, unknown> = {}, source = 'tokenizer.json') {
    const model = tokenizerJson.model as { type?: string; vocab?: unknown } | undefined;
    if (!model || typeof model !== 'object' || !model.vocab) throw new Error(`${source}: not an HF tokenizer.json (no model.vocab)`);
    this.hf = new HfTokenizer(tokenizerJson, tokenizerConfig);
    this.tokenConfig = tokenizerConfig;
    const added = (tokenizerJson.added_tokens ?? []) as { id: number; special?: boolean }[];
    let maxId = -1;
    if (Array.isArray(model.vocab)) maxId = model.vocab.length - 1; // Unigram: [piece, score] pairs, id = index
    else for (const id of Object.values(model.vocab as Record<string, number>)) if (id > maxId) maxId = id;
    for (const t of added) if (t.id > maxId) maxId = t.id;
    this.vocabSize = maxId + 1;
    const id = (key: string): number | undefined => {
      const content = tokenContent(tokenizerConfig[key]);
      return content === undefined ? undefined : this.hf.token_to_id(content);
    };
    this.bosTokenId = id('bos_token');
    this.eosTokenId = id('eos_token');
    this.padTokenId = id('pad_token') ?? this.eosTokenId;
    const genEos = generationConfig.eos_token_id;
    const stops = [this.eosTokenId, ...(Array.isArray(genEos) ? genEos : [genEos])].filter((x): x is number => Number.isInteger(x));
    this.stopTokenIds = [...new Set(stops)];
    this.specialTokenIds = new Set(added.filter((t) => t.special).map((t) => t.id));
    const tpl = tokenizerConfig.chat_template;
    this.chatTemplate = typeof tpl === 'string' ? tpl : undefined;
  }

  /** Token ids of `text`. */
  encode(text: string, opts: EncodeOptions = {}): number[] {
    return this.hf.encode(text, { add_special_tokens: opts.addSpecialTokens ?? true }).ids;
  }

  /** Token ids of each text. */
  encodeBatch(texts: readonly string[], opts: EncodeOptions = {}): number[][] {
    return texts.map((t) => this.encode(t, opts));
  }

  /** Text of `ids` (invalid UTF-8 byte sequences become U+FFFD, as HF). */
  decode(ids: readonly number[], opts: DecodeOptions = {}): string {
    for (const id of ids) {
      if (!Number.isInteger(id) || id < 0 || id >= this.vocabSize) throw new Error(`decode: token id ${id} is outside the vocabulary (0..${this.vocabSize - 1})`);
    }
    if (ids.length === 0) return '';
    return this.hf.decode(ids as number[], { skip_special_tokens: opts.skipSpecialTokens ?? false, clean_up_tokenization_spaces: false });
  }

  decodeBatch(batch: readonly (readonly number[])[], opts: DecodeOptions = {}): string[] {
    return batch.map((ids) => this.decode(ids, opts));
  }

  /** Id of a token string (e.g. "<|im_end|>"), or undefined. */
  tokenToId(token: string): number | undefined {
    return this.hf.token_to_id(token);
  }

  /** Token string of an id, or undefined. */
  idToToken(id: number): string | undefined {
    return this.hf.id_to_token(id);
  }

  /** An incremental decoder for a stream of generated ids (see DecodeStream). */
  decodeStream(opts: DecodeOptions = {}): DecodeStream {
    return new DecodeStream((ids) => this.decode(ids, opts));
  }

  /** Render messages with the tokenizer's chat template (Jinja, as transformers' apply_chat_template). */
  applyChatTemplate(messages: ChatMessage[], opts: ChatTemplateOptions = {}): string {
    if (this.chatTemplate === undefined) throw new Error('applyChatTemplate: this tokenizer has no chat_template in tokenizer_config.json');
    this.compiledTemplate ??= new Template(this.chatTemplate);
    return this.compiledTemplate.render({
      messages,
      add_generation_prompt: opts.addGenerationPrompt ?? true,
      bos_token: tokenContent(this.tokenConfig.bos_token) ?? '',
      eos_token: tokenContent(this.tokenConfig.eos_token) ?? '',
      pad_token: tokenContent(this.tokenConfig.pad_token) ?? '',
      ...opts.variables,
    });
  }
}

/**
 * Load an HF tokenizer from a model directory or a tokenizer.json path; tokenizer_config.json and
 * generation_config.json beside it are read when present (special tokens, chat template, stop ids).
 */
export async function loadTokenizer(pathOrDir: string): Promise<Tokenizer> {
  const kind = await stat(pathOrDir).then((s) => (s.isDirectory() ? 'dir' : 'file'), () => null);
  if (kind === null) throw new Error(`loadTokenizer: '${pathOrDir}' is not a directory with tokenizer.json nor a tokenizer.json file (torl loads local Hugging Face directories; it downloads nothing)`);
  const file = kind === 'dir' ? join(pathOrDir, 'tokenizer.json') : pathOrDir;
  const dir = dirname(file);
  const json = await readJson(file);
  if (!json) throw new Error(`${file}: no such file (a tokenizer needs tokenizer.json)`);
  const config = (await readJson(join(dir, 'tokenizer_config.json'))) ?? {};
  const generation = (await readJson(join(dir, 'generation_config.json'))) ?? {};
  try {
    return new Tokenizer(json, config, generation, file);
  } catch (e) {
    const msg = (e as Error).message;
    throw new Error(msg.startsWith(file) ? msg : `${file}: ${msg}`);
  }
}
