// Dev script: regenerate test/fixtures/tokenizer-parity.jsonl.gz with HF's Rust tokenizer
// (npm `tokenizers`, a devDependency) as the reference. Run: npx tsx test/tokenizer/make-parity-vectors.ts
// Strings: real math problems (LaTeX), real Python source, and seeded synthetic unicode, emoji, CJK,
// whitespace runs, digits and special-token text; plus random id sequences for decode parity.
import { readFileSync, readdirSync, writeFileSync } from 'node:fs';
import { gzipSync } from 'node:zlib';
import { join, resolve } from 'node:path';
import { createRequire } from 'node:module';
import { xoroshiro128plus } from 'pure-rand/generator/xoroshiro128plus';
import { uniformInt } from 'pure-rand/distribution/uniformInt';
import { qwenTokenizerJson } from './fixture.js';

const require = createRequire(import.meta.url);
const { Tokenizer } = require('tokenizers') as typeof import('tokenizers');

const root = resolve(import.meta.dirname, '../..');
const rng = xoroshiro128plus(20250330);
const int = (lo: number, hi: number): number => uniformInt(rng, lo, hi);
const pick = <T>(xs: readonly T[]): T => xs[int(0, xs.length - 1)] as T;
const chars = (ranges: [number, number][], n: number): string =>
  Array.from({ length: n }, () => { const [a, b] = pick(ranges); return String.fromCodePoint(int(a, b)); }).join('');
const slice = (text: string, min: number, max: number): string => {
  const cps = [...text];
  const len = Math.min(cps.length, int(min, max));
  const at = int(0, Math.max(0, cps.length - len));
  return cps.slice(at, at + len).join('');
};

const strings: [kind: string, text: string][] = [];
const add = (kind: string, n: number, make: () => string): void => { for (let i = 0; i < n; i++) strings.push([kind, make()]); };

// math LaTeX: real competition problems and answers
const shared = resolve(root, '../shared/data');
const problems = readFileSync(join(shared, 'limr/math8k.jsonl'), 'utf8').trim().split('\n').map((l) => JSON.parse(l) as { problem: string; answer: string });
add('math', 2200, () => slice(pick(problems).problem, 10, 300));
add('math-answer', 300, () => pick(problems).answer);

// Python: real source (the interpreter's standard library) and code-shaped synthetic lines
const pyDir = '/usr/lib/python3.11';
const pyFiles = readdirSync(pyDir).filter((f) => f.endsWith('.py')).map((f) => readFileSync(join(pyDir, f), 'utf8'));
add('python', 1300, () => slice(pick(pyFiles), 20, 300));
const idents = ['x', 'total', 'n_items', '_cache', 'Solver', 'dp', 'i', 'j', 'sympy', 'np', 'math', 'result'];
add('python-synth', 300, () => {
  const ind = pick(['', '    ', '        ', '\t', '\t\t']);
  return `\`\`\`python\n${ind}${pick(idents)} = ${pick(idents)}(${int(0, 99999)}, ${pick(idents)}**${int(2, 12)}) # ${pick(idents)}\n${ind}print(f"{${pick(idents)}:.${int(1, 9)}f}")\n\`\`\`\n\`\`\`output\n${int(-1e6, 1e6)}\n\`\`\``;
});

// unicode: scripts, combining marks (NFC-sensitive), compatibility forms, math symbols
const scripts: [number, number][] = [[0xa0, 0x24f], [0x370, 0x3ff], [0x400, 0x4ff], [0x590, 0x5ff], [0x600, 0x6ff], [0x900, 0x97f], [0xe00, 0xe7f], [0x1e00, 0x1eff], [0x2000, 0x206f], [0x2200, 0x22ff], [0xfb00, 0xfb06], [0xff01, 0xff5e], [0x1d400, 0x1d7ff]];
add('unicode', 1000, () => chars(scripts, int(1, 40)));
const combining: [number, number][] = [[0x300, 0x36f]];
add('combining', 500, () => Array.from({ length: int(1, 15) }, () => chars([[0x41, 0x5a], [0x61, 0x7a]], 1) + chars(combining, int(0, 3))).join(''));

// emoji: plain, skin tones, ZWJ families, flags, keycaps, variation selectors, mixed with text
const emojiBase: [number, number][] = [[0x1f300, 0x1f5ff], [0x1f600, 0x1f64f], [0x1f680, 0x1f6ff], [0x1f900, 0x1f9ff], [0x2600, 0x26ff]];
const emoji = (): string => {
  const base = chars(emojiBase, 1);
  switch (int(0, 5)) {
    case 0: return base + String.fromCodePoint(int(0x1f3fb, 0x1f3ff));
    case 1: return base + '\u200d' + chars(emojiBase, 1) + '\u200d' + chars(emojiBase, 1);
    case 2: return chars([[0x1f1e6, 0x1f1ff]], 2);
    case 3: return `${int(0, 9)}\ufe0f\u20e3`;
    case 4: return base + '\ufe0f';
    default: return base;
  }
};
add('emoji', 1000, () => Array.from({ length: int(1, 8) }, () => (int(0, 2) ? emoji() : pick([' ', 'ok ', 'the ', '!', '\n']))).join(''));

// CJK: Chinese, Japanese kana, Korean syllables and jamo, fullwidth punctuation, mixed with ASCII
const cjk: [number, number][] = [[0x4e00, 0x9fff], [0x3040, 0x30ff], [0xac00, 0xd7a3], [0x1100, 0x11ff], [0x3000, 0x303f], [0x20000, 0x2a6df]];
add('cjk', 1500, () => Array.from({ length: int(1, 12) }, () => (int(0, 3) ? chars(cjk, int(1, 6)) : pick([' ', 'abc', '123', '，', '。', '$x^2$']))).join(''));

// whitespace runs between words
const ws = [' ', '  ', '\t', '\n', '\r\n', '\u00a0', '\u3000', '\u2009', '\n\n\n', '    '];
add('whitespace', 1000, () => Array.from({ length: int(1, 10) }, () => Array.from({ length: int(1, 12) }, () => pick(ws)).join('') + pick(['a', 'def', 'x=1', '', '}', '中'])).join(''));

// digits: long numbers, decimals, separators, exponents, digits glued to letters, non-ASCII digits
add('digits', 1000, () => {
  const n = (): string => String(int(0, 2 ** 31)) + (int(0, 1) ? '' : String(int(0, 999999999)));
  return pick([
    () => n(), () => `${n()}.${n()}`, () => `${int(1, 999)},${String(int(0, 999)).padStart(3, '0')},${String(int(0, 999)).padStart(3, '0')}`,
    () => `${int(1, 9)}.${int(0, 99)}e-${int(1, 30)}`, () => `x${n()}y${int(0, 9)}`, () => chars([[0x660, 0x669], [0xff10, 0xff19], [0x966, 0x96f]], int(1, 10)),
    () => `\\frac{${n()}}{${n()}} = ${n()}`,
  ])();
});

// special tokens inside text (encoded as single ids, as HF does), and near-misses
const specials = ['<|endoftext|>', '<|im_start|>', '<|im_end|>', '<|im_start', 'im_end|>', '<think>', '</think>', '<tool_call>', '<|fim_prefix|>'];
add('special', 500, () => Array.from({ length: int(1, 6) }, () => pick([...specials, 'user\n', 'assistant\n', pick(problems).answer, ' '])).join(''));

// random text: any code point outside surrogates and noncharacters
add('random', 500, () => chars([[0x20, 0x7e], [0xa0, 0xd7ff], [0xe000, 0xfffd], [0x10000, 0x10ffff]], int(1, 30)));

async function main(): Promise<void> {
  const json = qwenTokenizerJson();
  const ref = Tokenizer.fromString(readFileSync(json, 'utf8'));
  const vocabSize = ref.getVocabSize(true);
  const lines: string[] = [];
  for (const [kind, s] of strings) {
    const ids = (await ref.encode(s)).getIds();
    const d = await ref.decode(ids, false);
    lines.push(JSON.stringify(d === s ? { kind, s, ids } : { kind, s, ids, d }));
  }
  // decode parity on arbitrary id sequences (split characters, stray bytes, specials)
  const special = [151643, 151644, 151645];
  for (let i = 0; i < 500; i++) {
    const ids = Array.from({ length: int(1, 20) }, () => (int(0, 9) ? int(0, vocabSize - 1) : pick(special)));
    lines.push(JSON.stringify({ kind: 'decode', ids, d: await ref.decode(ids, false), dSkip: await ref.decode(ids, true) }));
  }
  const out = join(root, 'test/fixtures/tokenizer-parity.jsonl.gz');
  writeFileSync(out, gzipSync(lines.join('\n') + '\n', { level: 9 }));
  console.log(`${lines.length} vectors (${strings.length} encode, 500 decode) -> ${out}`);
}
await main();
