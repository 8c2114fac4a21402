// The tool-integrated rollout on a tiny model taught by SFT (test/helpers/tool-model.ts) to
// write fixed tool-integrated responses: the code run is the code written, the observation
// tokens decode to the observation and the mask is 0 exactly there, C = 1 runs one block and
// C = 2 two, log-probs equal Model.logprobs over the final context, text = decode(tokenIds);
// others keep decoding while one waits (from the engine's step counter, not wall time); a
// sandbox failure is an observation; hostile snippets in the real sandbox leave the others intact.
import t from 'tap';

import { Engine, extractProgram, loadTokenizer, PythonSandbox, Rollout, type CodeRunner, type RunRequest, type RunResult } from '../../lib/index.js';
import { SCRIPTS, segments, toolModel } from '../helpers/tool-model.js';
import { qwenTokenizerDir } from '../tokenizer/fixture.js';

const tok = await loadTokenizer(qwenTokenizerDir());
const model = await toolModel(tok, 100);
const GREEDY = { temperature: 0 };

/** Answers the scripted programs as Python would, after `delayMs`; records what it ran. */
class StubRunner implements CodeRunner {
  readonly ran: string[] = [];
  constructor(private readonly delayMs = 0, private readonly fail = false) {}
  async run(req: RunRequest): Promise<RunResult> {
    this.ran.push(req.code);
    await new Promise((r) => setTimeout(r, this.delayMs));
    if (this.fail) throw new Error('connection refused');
    const base = { id: this.ran.length, wallMs: this.delayMs, cpuMs: 1, truncated: false };
    if (req.code.includes('1/0')) return { ...base, status: 'error', returnCode: 1, stdout: '', stderr: 'Traceback (most recent call last):\n  File "<string>", line 1\nZeroDivisionError: division by zero\n' };
    const m = /print\((\d+)([+/]{1,2})(\d+)\)/.exec(req.code);
    const value = m ? (m[2] === '+' ? Number(m[1]) + Number(m[3]) : Math.floor(Number(m[1]) / Number(m[3]))) : '';
    return { ...base, status: 'ok', returnCode: 0, stdout: `${value}\n`, stderr: '' };
  }
  async close(): Promise<void> {}
}

const prompts = SCRIPTS.map((s) => segments(tok, s).prompt);

t.test('extractProgram: ToRL extract_program (last complete block of the chunk; unterminated → none)', (t) => {
  t.equal(extractProgram('a\n```python\nx = 1\nprint(x)\n```\n'), 'x = 1\nprint(x)\n');
  t.equal(extractProgram('```python\nprint(1)\n```\ntext\n```python\nprint(2)\n```\n'), 'print(2)\n', 'the last block');
  t.equal(extractProgram('```python\nprint(1)\n```\n```python\nprint(2)\n'), null, 'an unterminated last block runs nothing');
  t.equal(extractProgram('no code here\n'), null);
  t.equal(extractProgram('Now:```python\nprint(3)\n```'), 'print(3)\n', 'a line ending with ```python opens a block');
  t.end();
});

t.test('the SFT model reproduces its scripts through the engine (the test’s premise)', async (t) => {
  const e = new Engine(model, { tokenizer: tok, kvCacheTokens: 4096 });
  for (const [i, s] of SCRIPTS.entries()) {
    const [o] = await e.generate([prompts[i]!], { ...GREEDY, maxTokens: 120 });
    t.same(o!.outputs[0]!.tokenIds, segments(tok, s).parts.flat(), `script ${i}`);
  }
  e.dispose();
});

t.test('C = 2: each call runs the code written, observation tokens masked, log-probs = Model.logprobs', async (t) => {
  const e = new Engine(model, { tokenizer: tok, kvCacheTokens: 4096 });
  const stub = new StubRunner();
  const r = new Rollout(e, { tokenizer: tok, sandbox: stub, maxToolCalls: 2 });
  const { samples, stats } = await r.generate(prompts, GREEDY);
  t.equal(samples.length, 3);
  t.same(stub.ran.sort(), ['print(1/0)\n', 'print(10//2)\n', 'print(2+3)\n'], 'the programs run are the ones written');
  for (const [i, s] of samples.entries()) {
    const g = segments(tok, SCRIPTS[i]!);
    t.same(s.promptTokenIds, g.prompt);
    t.same(s.tokenIds, g.parts.flat(), `script ${i}: the response, token for token`);
    t.equal(s.text, tok.decode(s.tokenIds), 'text = decode(tokenIds)');
    t.equal(s.finishReason, 'stop');
    const isObs = (j: number) => j % 2 === 1 && j < SCRIPTS[i]!.parts.length; // the last part is EOS
    const obsParts = g.parts.filter((_, j) => isObs(j));
    t.equal(s.toolCalls.length, obsParts.length, `${obsParts.length} calls`);
    const mask = new Uint8Array(s.tokenIds.length).fill(1);
    let at = 0;
    g.parts.forEach((p, j) => {
      if (isObs(j)) mask.fill(0, at, at + p.length);
      at += p.length;
    });
    t.same(Array.from(s.lossMask), Array.from(mask), 'mask 0 exactly on the observation tokens');
    for (const c of s.toolCalls) {
      t.equal(c.observation, tok.decode(s.tokenIds.slice(c.tokenStart, c.tokenEnd)), 'observation = the text of its tokens');
      t.match(c.observation, /^\n[\s\S]*\n```\n$/, 'observation = "\\n" + text + "\\n```\\n"');
      for (let k = c.tokenStart; k < c.tokenEnd; k++) if (s.logprobs[k] !== 0) t.fail(`logprob of observation token ${k} is ${s.logprobs[k]}`);
    }
    const tokens = Int32Array.from([...s.promptTokenIds, ...s.tokenIds]);
    const lp = (await model.logprobs({ tokens, cuSeqlens: Int32Array.from([0, tokens.length]) })).logprobs;
    let worst = 0;
    s.tokenIds.forEach((_, k) => {
      if (s.lossMask[k]) worst = Math.max(worst, Math.abs(s.logprobs[k]! - lp[s.promptTokenIds.length - 1 + k]!));
    });
    // two f32 paths (paged decode vs packed forward) on a memorising model's large logits; an off-by-one would be O(1)
    t.ok(worst < 5e-4, `script ${i}: model-token log-probs = Model.logprobs over the final context (${worst.toExponential(1)})`);
  }
  t.equal(samples[1]!.toolCalls[0]!.observation, '\nZeroDivisionError: division by zero\n```\n', 'an error feeds the last traceback line');
  const part0 = segments(tok, SCRIPTS[0]!).parts[0]!;
  t.notOk(tok.decode([part0[part0.length - 1]!]).includes('```'), 'the stop string ```output was split over tokens, and found');
  t.same(samples.map((s) => s.answerAfterTool), [true, true, false], 'answers after a tool call');
  t.equal(stats.answerAfterToolRate, 2 / 3);
  t.equal(samples[1]!.toolErrors, 1);
  t.equal(stats.toolCalls, 3);
  t.equal(stats.toolErrors, 1);
  t.equal(e.stats().freeBlocks, e.stats().numBlocks, 'every block back');
  e.dispose();
});

t.test('C = 1: one block runs; the model writes the next block and its own ```output, all in the loss', async (t) => {
  const e = new Engine(model, { tokenizer: tok, kvCacheTokens: 4096 });
  const stub = new StubRunner();
  const r = new Rollout(e, { tokenizer: tok, sandbox: stub, maxToolCalls: 1 });
  const { samples } = await r.generate([prompts[1]!], GREEDY);
  const s = samples[0]!;
  t.same(stub.ran, ['print(1/0)\n'], 'only the first block ran');
  t.equal(s.toolCalls.length, 1);
  t.same(s.tokenIds, segments(tok, SCRIPTS[1]!).parts.flat(), 'the model wrote the rest itself (the second output block too)');
  t.equal(s.lossMask.reduce((a, x) => a + (x === 0 ? 1 : 0), 0), s.toolCalls[0]!.tokenEnd - s.toolCalls[0]!.tokenStart, 'only the one observation is masked');
  e.dispose();
});

t.test('C = 0 (no tools) and feedErrors: false', async (t) => {
  const e = new Engine(model, { tokenizer: tok, kvCacheTokens: 4096 });
  const stub = new StubRunner();
  const plain = await new Rollout(e, { tokenizer: tok, sandbox: stub, maxToolCalls: 0 }).generate([prompts[0]!], GREEDY);
  t.equal(stub.ran.length, 0, 'nothing runs');
  t.ok(plain.samples[0]!.lossMask.every((x) => x === 1), 'nothing masked');
  const quiet = await new Rollout(e, { tokenizer: tok, sandbox: stub, maxToolCalls: 2, feedErrors: false }).generate([prompts[1]!], GREEDY);
  t.equal(quiet.samples[0]!.toolCalls[0]!.observation, '\nError\n```\n', 'a failed run feeds a fixed "Error" line');
  e.dispose();
});

t.test('maxResponseTokens counts model and observation tokens; a cut ends with length', async (t) => {
  const e = new Engine(model, { tokenizer: tok, kvCacheTokens: 4096 });
  const g = segments(tok, SCRIPTS[0]!);
  const limit = g.parts[0]!.length + 2; // the observation does not fit
  const { samples } = await new Rollout(e, { tokenizer: tok, sandbox: new StubRunner(), maxResponseTokens: limit }).generate([prompts[0]!], GREEDY);
  const s = samples[0]!;
  t.equal(s.tokenIds.length, limit, 'the response stops at the limit');
  t.equal(s.finishReason, 'length');
  t.equal(s.toolCalls[0]!.tokenEnd, limit, 'the observation was cut to fit');
  t.equal(e.stats().freeBlocks, e.stats().numBlocks);
  e.dispose();
});

t.test('asynchronous: the others keep decoding while a call is out; a sandbox failure is an observation', async (t) => {
  const e = new Engine(model, { tokenizer: tok, kvCacheTokens: 4096 });
  const slow = new StubRunner(300);
  const { samples } = await new Rollout(e, { tokenizer: tok, sandbox: slow, maxToolCalls: 2 }).generate(prompts, GREEDY);
  const first = samples[0]!.toolCalls[0]!;
  t.ok(first.stepsWhileWaiting > 0, `engine steps ran while script 0's call was out (${first.stepsWhileWaiting})`);
  t.same(samples[2]!.tokenIds, segments(tok, SCRIPTS[2]!).parts.flat(), 'the sample without a call finished as scripted');
  t.ok(first.latencyMs >= 290, `the call took its 300 ms (${first.latencyMs.toFixed(0)})`);

  const broken = await new Rollout(e, { tokenizer: tok, sandbox: new StubRunner(0, true) }).generate([prompts[0]!, prompts[2]!], GREEDY);
  t.match(broken.samples[0]!.toolCalls[0]!.observation, /Sandbox error: connection refused/, 'the failure is the observation');
  t.equal(broken.samples[0]!.toolErrors, 1);
  t.same(broken.samples[1]!.tokenIds, segments(tok, SCRIPTS[2]!).parts.flat(), 'the other sample is untouched');
  t.equal(e.stats().freeBlocks, e.stats().numBlocks);
  e.dispose();
});

t.test('bad options are refused', (t) => {
  const e = new Engine(model, { tokenizer: tok, kvCacheTokens: 256 });
  t.throws(() => new Rollout(e, { tokenizer: tok, sandbox: new StubRunner(), maxToolCalls: -1 }), /maxToolCalls must be an integer ≥ 0/);
  t.throws(() => new Rollout(e, { tokenizer: tok, sandbox: {} as CodeRunner }), /sandbox must be a CodeRunner/);
  t.throws(() => new Rollout(e, { sandbox: new StubRunner() } as never), /tokenizer is required/);
  e.dispose();
  t.end();
});

t.test('the real PythonSandbox: hostile snippets in one sample leave the others intact', async (t) => {
  const sandbox = new PythonSandbox({ workers: 2 });
  try {
    const e = new Engine(model, { tokenizer: tok, kvCacheTokens: 4096 });
    const real = await new Rollout(e, { tokenizer: tok, sandbox, maxToolCalls: 2, timeoutMs: 2000 }).generate(prompts, GREEDY);
    for (const [i, s] of real.samples.entries()) t.same(s.tokenIds, segments(tok, SCRIPTS[i]!).parts.flat(), `script ${i} through the real interpreter`);
    // a runner that sends every program of one prompt to hostile code
    const hostile: CodeRunner = {
      run: (req) => sandbox.run({ ...req, code: req.code.includes('2+3') ? 'while True: pass' : req.code.includes('1/0') ? 'print("x" * 10**8)' : req.code }),
      close: async () => {},
    };
    const r = await new Rollout(e, { tokenizer: tok, sandbox: hostile, maxToolCalls: 2, timeoutMs: 1500 }).generate(prompts, GREEDY);
    t.match(r.samples[0]!.toolCalls[0]!.observation, /TimeoutError/, 'the infinite loop timed out into an observation');
    t.ok(r.samples[1]!.toolCalls[0]!.observation.length < 400, 'the huge output is cut (head … tail)');
    t.same(r.samples[2]!.tokenIds, segments(tok, SCRIPTS[2]!).parts.flat(), 'the sample without code is intact');
    t.equal(e.stats().freeBlocks, e.stats().numBlocks);
    e.dispose();
  } finally {
    await sandbox.close();
  }
});

t.test('an engine step that fails rejects the rollout (it never hangs)', async (t) => {
  // the same model, whose native generateStep fails from its 4th call on
  let calls = 0;
  const failing = new Proxy(model.native, {
    get(target, prop) {
      const v = Reflect.get(target, prop) as unknown;
      if (prop === 'generateStep') return (...a: unknown[]) => (++calls > 3 ? Promise.reject(new Error('injected step failure')) : (v as (...x: unknown[]) => unknown).apply(target, a));
      return typeof v === 'function' ? (v as (...x: unknown[]) => unknown).bind(target) : v;
    },
  });
  const e = new Engine(Object.create(model, { native: { value: failing } }) as typeof model, { tokenizer: tok, kvCacheTokens: 2048 });
  const rollout = new Rollout(e, { tokenizer: tok, sandbox: new StubRunner(), maxResponseTokens: 64 });
  await t.rejects(rollout.generate(prompts, { ...GREEDY, n: 2 }), /injected step failure/);
  t.ok(calls > 3, 'it failed mid-rollout');
  e.dispose();
});
