// The demo's prompt template: a short frame (a character-level model pays for every character),
// given to loadDataset as a template string with [PROMPT].

/** The demo's prompt template (a string, so a training config can carry it). */
export const DEMO_TEMPLATE = 'Problem: [PROMPT]\nSolution:\n';

/** The demo prompt of one problem, exactly as loadDataset's template string builds it. */
export function demoPrompt(problem: string): string {
  return DEMO_TEMPLATE.split('[PROMPT]').join(problem);
}
