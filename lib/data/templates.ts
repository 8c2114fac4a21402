// Prompt templates: ToRL's tir_base_0309, a no-tool variant, the model's chat template, user templates.
import type { Tokenizer } from '../tokenizer/index.js';

/** Turns a problem statement into the model's prompt text. */
export type PromptTemplate = (problem: string) => string;

/** What loadDataset accepts as a template: a name, a user template string with [PROMPT], or a function. */
export type TemplateSpec = 'tir_base_0309' | 'no_tool' | 'chat' | 'raw' | string | PromptTemplate;

/** The placeholder of user templates. */
export const PROMPT_PLACEHOLDER = '[PROMPT]';

const FRAME = 'A conversation between User and Assistant. The user asks a question, and the Assistant solves it. '
  + 'The assistant first thinks about the reasoning process in the mind and then provides the user with the answer. User: ';

/**
 * ToRL's `tir_base_0309` (data.template_type in its training scripts): the R1-style
 * conversation frame with the tool-integrated instruction, then the question, then "Assistant:".
 * The model is a base model; no chat template is applied.
 */
export function tirBase0309(problem: string): string {
  return `${FRAME}Please integrate natural language reasoning with programs to solve the problem above, and put your final answer within \\boxed{}.\n${problem}\nAssistant:`;
}

/** The same frame without the tool instruction (plain chain-of-thought), for no-tool baselines. */
export function noTool(problem: string): string {
  return `${FRAME}Please reason step by step, and put your final answer within \\boxed{}.\n${problem}\nAssistant:`;
}

/** A template from a user string in which every [PROMPT] is replaced by the problem. */
export function fromString(template: string): PromptTemplate {
  if (!template.includes(PROMPT_PLACEHOLDER)) throw new Error(`prompt template has no ${PROMPT_PLACEHOLDER} placeholder: ${JSON.stringify(template.slice(0, 80))}`);
  const parts = template.split(PROMPT_PLACEHOLDER);
  return (problem) => parts.join(problem);
}

/** The model's own chat template (tokenizer_config.json): optional system message, the problem as user turn, generation prompt. */
export function chat(tokenizer: Tokenizer, system?: string): PromptTemplate {
  if (tokenizer.chatTemplate === undefined) throw new Error('template "chat": the tokenizer has no chat_template in tokenizer_config.json');
  return (problem) => tokenizer.applyChatTemplate([...(system === undefined ? [] : [{ role: 'system', content: system }]), { role: 'user', content: problem }]);
}

/** Resolve a TemplateSpec to a function (the tokenizer is needed for "chat"). */
export function resolveTemplate(spec: TemplateSpec, tokenizer?: Tokenizer): PromptTemplate {
  if (typeof spec === 'function') return spec;
  switch (spec) {
    case 'tir_base_0309': return tirBase0309;
    case 'no_tool': return noTool;
    case 'raw': return (problem) => problem;
    case 'chat':
      if (!tokenizer) throw new Error('template "chat" needs a tokenizer');
      return chat(tokenizer);
    default: return fromString(spec);
  }
}

/** The built-in templates, as `torl.templates`. */
export const templates = { tirBase0309, noTool, fromString, chat, resolve: resolveTemplate };
