// The program a chunk of model text asks to run: ToRL's extract_program
// (verl/workers/rollout/vllm_rollout/vllm_rollout_spmd.py, last_only=True), line by line.

/**
 * The last complete ```python block of `chunk` (the text generated since the last tool call), or
 * null when there is none or the last one is not closed: an unterminated block runs nothing.
 * A line opens a block when it starts or ends with ```python; any other line starting with ```
 * closes it.
 */
export function extractProgram(chunk: string): string | null {
  let program = '';
  let open = false;
  let found = false;
  for (const line of chunk.split('\n')) {
    if (line.startsWith('```python') || line.endsWith('```python')) {
      program = '';
      open = true;
    } else if (line.startsWith('```')) {
      if (open) found = true;
      open = false;
    } else if (open) {
      program += line + '\n';
    }
  }
  return open || !found ? null : program;
}
