// Argument checks of the public grading functions: a caller's mistake (a missing gold, a
// number where a string belongs) is a TypeError naming the function and the argument, never
// a TypeError from inside the grader.

/** Throws unless `value` is a string. */
export function expectString(fn: string, name: string, value: unknown): asserts value is string {
  if (typeof value !== 'string') {
    const got = value == null ? String(value) : Array.isArray(value) ? 'an array' : typeof value === 'object' ? 'an object' : `${typeof value} ${String(value)}`;
    throw new TypeError(`${fn}: ${name} must be a string, got ${got}`);
  }
}
