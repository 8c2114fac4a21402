// vLLM's SamplingParams in camelCase, with vLLM's defaults, and their validation.

/** How to sample one prompt's outputs (vLLM's SamplingParams). */
export interface SamplingParams {
  /** Samples per prompt; default 1. They share the prompt's KV blocks. */
  n?: number;
  /** 0 = greedy; default 1. */
  temperature?: number;
  /** Nucleus mass in (0, 1]; default 1 (off). */
  topP?: number;
  /** Keep the k most likely tokens; −1 (default) or 0 = off. */
  topK?: number;
  /** Drop tokens below minP · p(most likely); default 0 (off). */
  minP?: number;
  /** Tokens to generate at most; default 16. */
  maxTokens?: number;
  /** The request's seed: sample i draws from a stream derived from (seed, i) and the position; default random. */
  seed?: number;
  /** Generation stops after text containing one of these (matched across token boundaries; needs a tokenizer). */
  stop?: string[];
  /** Generation stops after one of these token ids (kept in the output). */
  stopTokenIds?: number[];
  /** Keep generating past EOS; default false. */
  ignoreEos?: boolean;
  /** Keep the matched stop string in `text`; default false. */
  includeStopStrInOutput?: boolean;
}

/** SamplingParams with every default applied and checked. */
export type ResolvedSamplingParams = Required<Omit<SamplingParams, 'seed'>> & { seed: number | undefined };

export const SAMPLING_DEFAULTS: Readonly<ResolvedSamplingParams> = Object.freeze({
  n: 1,
  temperature: 1,
  topP: 1,
  topK: -1,
  minP: 0,
  maxTokens: 16,
  seed: undefined,
  stop: [],
  stopTokenIds: [],
  ignoreEos: false,
  includeStopStrInOutput: false,
});

const KNOWN = new Set(Object.keys(SAMPLING_DEFAULTS));

/** Applies the defaults and checks every field; errors name `where` and the field. */
export function resolveSamplingParams(p: SamplingParams | undefined, where: string, vocabSize: number): ResolvedSamplingParams {
  if (p !== undefined && (typeof p !== 'object' || p === null)) throw new Error(`${where}: sampling params must be an object`);
  for (const key of Object.keys(p ?? {})) if (!KNOWN.has(key)) throw new Error(`${where}: unknown sampling parameter '${key}' (known: ${[...KNOWN].join(', ')})`);
  const r = { ...SAMPLING_DEFAULTS, ...Object.fromEntries(Object.entries(p ?? {}).filter(([, v]) => v !== undefined)) } as ResolvedSamplingParams;
  const bad = (field: string, want: string, got: unknown): never => {
    throw new Error(`${where}: ${field} must be ${want}, got ${typeof got === 'number' ? got : JSON.stringify(got)}`);
  };
  const isInt = (x: unknown): x is number => Number.isInteger(x);
  if (!isInt(r.n) || r.n < 1) bad('n', 'an integer ≥ 1', r.n);
  if (typeof r.temperature !== 'number' || !(r.temperature >= 0) || !Number.isFinite(r.temperature)) bad('temperature', 'a finite number ≥ 0', r.temperature);
  if (typeof r.topP !== 'number' || !(r.topP > 0 && r.topP <= 1)) bad('topP', 'in (0, 1]', r.topP);
  if (!isInt(r.topK) || r.topK < -1) bad('topK', '−1 (off), 0 (off) or a positive integer', r.topK);
  if (typeof r.minP !== 'number' || !(r.minP >= 0 && r.minP < 1)) bad('minP', 'in [0, 1)', r.minP);
  if (!isInt(r.maxTokens) || r.maxTokens < 1) bad('maxTokens', 'an integer ≥ 1', r.maxTokens);
  if (r.seed !== undefined && (!isInt(r.seed) || r.seed < 0 || !Number.isSafeInteger(r.seed))) bad('seed', 'a non-negative safe integer', r.seed);
  if (!Array.isArray(r.stop) || r.stop.some((s) => typeof s !== 'string' || s.length === 0)) bad('stop', 'an array of non-empty strings', r.stop);
  if (!Array.isArray(r.stopTokenIds) || r.stopTokenIds.some((t) => !isInt(t) || t < 0 || t >= vocabSize)) bad('stopTokenIds', `an array of token ids in [0, ${vocabSize})`, r.stopTokenIds);
  if (typeof r.ignoreEos !== 'boolean') bad('ignoreEos', 'a boolean', r.ignoreEos);
  if (typeof r.includeStopStrInOutput !== 'boolean') bad('includeStopStrInOutput', 'a boolean', r.includeStopStrInOutput);
  return r;
}
