// The demo's pretraining corpus: solutions in ToRL's format to the demo problems. Most are text-only
// attempts (right on easy problems, a wrong guess of the right size on hard ones); a minority write
// one ```python block, read its ```output (the interpreter's real output, as the rollout formats it)
// and box the printed value; a few first write a failing program, read the error, and retry.
// Its problems come from the train side of problemSplit, so no test problem is ever seen.
import { formatObservation } from '../sandbox/index.js';
import type { Tokenizer } from '../tokenizer/index.js';
import { Rng } from './rng.js';
import { distinctProblems, type DemoKind, type DemoProblem } from './task.js';
import { demoPrompt } from './template.js';

export type CorpusMode = 'text' | 'tool' | 'retry';

/** A run of response text: the model's own, or an observation (the interpreter's, as the rollout appends it). */
export interface Segment {
  text: string;
  observation: boolean;
}

export interface CorpusDoc {
  problem: DemoProblem;
  mode: CorpusMode;
  /** The templated prompt. */
  prompt: string;
  /** The response, in the pieces the rollout produces (each tokenized on its own). */
  segments: Segment[];
}

export interface CorpusOptions {
  seed?: number;
  /** Documents. Default 12000. */
  size?: number;
  /** Share of documents that call the interpreter (one call, or an error and a retry). Default 0.2. */
  toolShare?: number;
  /** Share of the tool documents whose first program fails and is retried. Default 0.15. */
  retryShare?: number;
  /** Share of easy problems. Default 0.3. */
  easyShare?: number;
}

/** Programs that fail with a stable, version-independent error, per kind, and the error's last line. */
export function brokenProgram(p: DemoProblem): { code: string; error: string } {
  const inner = /^print\((.*)\)$/.exec(p.code)?.[1];
  if (inner === undefined) throw new Error(`brokenProgram: unexpected program ${JSON.stringify(p.code)}`);
  const broken: Record<DemoKind, () => { code: string; error: string }> = {
    mul: () => ({ code: `print(${inner.split('*').map((x) => `"${x}"`).join('*')})`, error: "TypeError: can't multiply sequence by non-int of type 'str'" }),
    powmod: () => ({ code: `print(${inner.replace(/,(\d+),/, ',$1.0,')})`, error: 'TypeError: pow() 3rd argument not allowed unless all arguments are integers' }),
    sum: () => ({ code: `print(${inner.replace('sum(', 'sum').replace(/\)$/, '')})`, error: "TypeError: 'builtin_function_or_method' object is not subscriptable" }),
  };
  return broken[p.kind]();
}

/** The observation segment of a run, exactly as the rollout appends it: "\n" + formatObservation(result) + "\n```\n". */
function observation(stdout: string, stderr = ''): Segment {
  const result = { id: 0, status: stderr ? 'error' : 'ok', returnCode: stderr ? 1 : 0, stdout, stderr, wallMs: 0, cpuMs: 0, truncated: false } as const;
  return { text: `\n${formatObservation(result)}\n\`\`\`\n`, observation: true };
}

/** A wrong answer of the right size for a hard problem: same digit count and first digit as the answer. */
function guess(rng: Rng, answer: string): string {
  for (;;) {
    const g = answer.length === 1 ? String(rng.int(0, 9)) : answer[0] + Array.from({ length: answer.length - 1 }, () => String(rng.int(0, 9))).join('');
    if (g !== answer) return g;
  }
}

const model = (text: string): Segment => ({ text, observation: false });

function textOnly(rng: Rng, p: DemoProblem): Segment[] {
  const value = p.level === 'easy' ? p.answer : guess(rng, p.answer);
  return [model(rng.pick([`${p.expression} = ${value}.\nThe answer is \\boxed{${value}}.`, `I think ${p.expression} is ${value}.\nSo the answer is \\boxed{${value}}.`]))];
}

const codeBlock = (code: string) => `\`\`\`python\n${code}\n\`\`\`\n\`\`\`output`;

function withTool(rng: Rng, p: DemoProblem, retry: boolean): Segment[] {
  const opener = rng.pick(['Let me use Python.', `I will compute ${p.expression} with Python.`]);
  const close = model(`The answer is \\boxed{${p.answer}}.`);
  const ok = observation(`${p.answer}\n`);
  if (!retry) return [model(`${opener}\n${codeBlock(p.code)}`), ok, close];
  const bad = brokenProgram(p);
  const stderr = `Traceback (most recent call last):\n  File "<string>", line 1, in <module>\n${bad.error}\n`;
  return [model(`${opener}\n${codeBlock(bad.code)}`), observation('', stderr), model(`That failed. Let me fix it.\n${codeBlock(p.code)}`), ok, close];
}

/** The corpus documents (seeded). */
export function buildCorpus(opts: CorpusOptions = {}): CorpusDoc[] {
  const { seed = 0, size = 12000, toolShare = 0.2, retryShare = 0.15, easyShare = 0.3 } = opts;
  if (!(toolShare >= 0 && toolShare <= 1)) throw new Error(`buildCorpus: toolShare must be in [0, 1], got ${toolShare}`);
  if (!(retryShare >= 0 && retryShare <= 1)) throw new Error(`buildCorpus: retryShare must be in [0, 1], got ${retryShare}`);
  const rng = new Rng(seed);
  return distinctProblems(rng, size, easyShare, 'train').map((problem) => {
    const mode: CorpusMode = rng.chance(toolShare) ? (rng.chance(retryShare) ? 'retry' : 'tool') : 'text';
    const segments = mode === 'text' ? textOnly(rng, problem) : withTool(rng, problem, mode === 'retry');
    return { problem, mode, prompt: demoPrompt(problem.problem), segments };
  });
}

/** A document's whole text: prompt then response. */
export function docText(doc: CorpusDoc): string {
  return doc.prompt + doc.segments.map((s) => s.text).join('');
}

/** A document as training tokens: prompt, response segments (each encoded on its own, as the rollout), EOS;
 *  the loss mask is 1 on the model's own response tokens and EOS, 0 on the prompt and on observations. */
export function tokenizeDoc(tok: Tokenizer, doc: CorpusDoc): { tokens: number[]; mask: number[] } {
  if (tok.eosTokenId === undefined) throw new Error('tokenizeDoc: the tokenizer has no eos_token');
  const enc = (text: string) => tok.encode(text, { addSpecialTokens: false });
  const prompt = enc(doc.prompt);
  const tokens = [...prompt];
  const mask: number[] = prompt.map(() => 0);
  for (const s of doc.segments) {
    const ids = enc(s.text);
    tokens.push(...ids);
    mask.push(...ids.map(() => (s.observation ? 0 : 1)));
  }
  tokens.push(tok.eosTokenId);
  mask.push(1);
  return { tokens, mask };
}
