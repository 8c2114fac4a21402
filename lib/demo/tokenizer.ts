// The demo's tokenizer: a byte-level BPE of a few hundred tokens learned from the demo corpus, in
// Qwen2's layout (the same pre-tokenizer: digits one by one; byte-level, so every text round-trips
// exactly), written as a standard HF tokenizer.json + tokenizer_config.json that loadTokenizer reads.
import { mkdir, writeFile } from 'node:fs/promises';
import { join } from 'node:path';

/** The end-of-text token (EOS and padding). */
export const EOS_TOKEN = '<|endoftext|>';

/** Qwen2's pre-tokenizer split pattern (HF regex syntax). */
const QWEN_PATTERN = "(?i:'s|'t|'re|'ve|'m|'ll|'d)|[^\\r\\n\\p{L}\\p{N}]?\\p{L}+|\\p{N}| ?[^\\s\\p{L}\\p{N}]+[\\r\\n]*|\\s*[\\r\\n]+|\\s+(?!\\S)|\\s+";
/** The same pattern in JavaScript syntax (no inline (?i:…) group), used to count chunks while learning merges. */
const CHUNK_RE = /'(?:[sS]|[tT]|[rR][eE]|[vV][eE]|[mM]|[lL][lL]|[dD])|[^\r\n\p{L}\p{N}]?\p{L}+|\p{N}| ?[^\s\p{L}\p{N}]+[\r\n]*|\s*[\r\n]+|\s+(?!\S)|\s+/gu;

/** GPT-2's byte → printable character map (the alphabet of byte-level BPE vocabularies). */
export function byteAlphabet(): string[] {
  const direct: number[] = [];
  for (let b = 0x21; b <= 0x7e; b++) direct.push(b);
  for (let b = 0xa1; b <= 0xac; b++) direct.push(b);
  for (let b = 0xae; b <= 0xff; b++) direct.push(b);
  const out = new Array<string>(256);
  let extra = 0;
  for (let b = 0; b < 256; b++) out[b] = String.fromCodePoint(direct.includes(b) ? b : 256 + extra++);
  return out;
}

export interface BpeModel {
  /** Token → id: the 256 byte symbols (ids = byte values), then one token per merge. */
  vocab: Record<string, number>;
  merges: [string, string][];
}

export interface BpeOptions {
  /** At most this many merges. Default 256. */
  maxMerges?: number;
  /** Stop when the most frequent pair occurs fewer times. Default 8. */
  minCount?: number;
}

/** Learn byte-level BPE merges from `texts` (deterministic: ties go to the lexicographically first pair). */
export function learnBpe(texts: Iterable<string>, opts: BpeOptions = {}): BpeModel {
  const { maxMerges = 256, minCount = 8 } = opts;
  const alphabet = byteAlphabet();
  const enc = new TextEncoder();
  const counts = new Map<string, number>();
  for (const text of texts) for (const [chunk] of text.matchAll(CHUNK_RE)) counts.set(chunk, (counts.get(chunk) ?? 0) + 1);
  const words = [...counts].map(([chunk, count]) => ({ symbols: Array.from(enc.encode(chunk), (b) => alphabet[b] as string), count }));
  const vocab: Record<string, number> = {};
  alphabet.forEach((s, b) => { vocab[s] = b; });
  const merges: [string, string][] = [];
  while (merges.length < maxMerges) {
    const pairs = new Map<string, number>();
    for (const w of words) for (let i = 0; i + 1 < w.symbols.length; i++) {
      const key = `${w.symbols[i]} ${w.symbols[i + 1]}`;
      pairs.set(key, (pairs.get(key) ?? 0) + w.count);
    }
    let best: string | undefined;
    let bestCount = 0;
    for (const [key, c] of pairs) if (c > bestCount || (c === bestCount && best !== undefined && key < best)) { best = key; bestCount = c; }
    if (best === undefined || bestCount < minCount) break;
    const [a, b] = best.split(' ') as [string, string];
    merges.push([a, b]);
    if (!(a + b in vocab)) vocab[a + b] = Object.keys(vocab).length; // two merge paths can make one token
    for (const w of words) {
      const s = w.symbols;
      for (let i = 0; i + 1 < s.length; i++) if (s[i] === a && s[i + 1] === b) s.splice(i, 2, a + b);
    }
  }
  return { vocab, merges };
}

const BYTE_LEVEL = { type: 'ByteLevel', add_prefix_space: false, trim_offsets: false, use_regex: false };

/** The tokenizer.json object of a BPE model, in Qwen2's layout, with EOS_TOKEN as the one added token. */
export function tokenizerJson(bpe: BpeModel): Record<string, unknown> {
  const eosId = Object.keys(bpe.vocab).length;
  return {
    version: '1.0',
    truncation: null,
    padding: null,
    added_tokens: [{ id: eosId, content: EOS_TOKEN, single_word: false, lstrip: false, rstrip: false, normalized: false, special: true }],
    normalizer: null,
    pre_tokenizer: { type: 'Sequence', pretokenizers: [{ type: 'Split', pattern: { Regex: QWEN_PATTERN }, behavior: 'Isolated', invert: false }, BYTE_LEVEL] },
    post_processor: BYTE_LEVEL,
    decoder: BYTE_LEVEL,
    model: { type: 'BPE', dropout: null, unk_token: null, continuing_subword_prefix: '', end_of_word_suffix: '', fuse_unk: false, byte_fallback: false, ignore_merges: false, vocab: bpe.vocab, merges: bpe.merges },
  };
}

/** tokenizer_config.json: EOS = padding = EOS_TOKEN, no BOS (as Qwen2). */
export function tokenizerConfigJson(): Record<string, unknown> {
  return {
    tokenizer_class: 'PreTrainedTokenizerFast',
    bos_token: null,
    eos_token: EOS_TOKEN,
    pad_token: EOS_TOKEN,
    unk_token: null,
    add_bos_token: false,
    add_prefix_space: false,
    clean_up_tokenization_spaces: false,
    model_max_length: 4096,
  };
}

/** Learn a BPE from `texts` and write tokenizer.json and tokenizer_config.json into `dir`; returns the token count (vocabulary + EOS). */
export async function writeDemoTokenizer(dir: string, texts: Iterable<string>, opts: BpeOptions = {}): Promise<number> {
  const bpe = learnBpe(texts, opts);
  await mkdir(dir, { recursive: true });
  await writeFile(join(dir, 'tokenizer.json'), JSON.stringify(tokenizerJson(bpe)) + '\n');
  await writeFile(join(dir, 'tokenizer_config.json'), JSON.stringify(tokenizerConfigJson(), null, 2) + '\n');
  return Object.keys(bpe.vocab).length + 1;
}
