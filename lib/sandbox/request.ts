// Checks a RunRequest and fills in the backend's defaults, with errors that name the field.
import type { RunRequest, RunResult } from './types.js';

/** A request with every limit decided. */
export interface ResolvedRequest {
  code: string;
  timeoutMs: number;
  memoryMb: number;
  stdin: string;
  files: Record<string, string>;
}

export interface RequestDefaults {
  timeoutMs: number;
  memoryMb: number;
}

const MAX_TIMEOUT_MS = 3_600_000;
const MAX_FILES = 256;

/** Validates `req` (throws a TypeError/RangeError naming the bad field) and applies defaults. */
export function resolveRequest(req: RunRequest, defaults: RequestDefaults): ResolvedRequest {
  if (req === null || typeof req !== 'object') throw new TypeError('sandbox run: the request must be an object {code, ...}');
  if (typeof req.code !== 'string') throw new TypeError(`sandbox run: "code" must be a string, got ${typeof req.code}`);
  const timeoutMs = req.timeoutMs ?? defaults.timeoutMs;
  checkPositive('timeoutMs', timeoutMs, MAX_TIMEOUT_MS);
  const memoryMb = req.memoryMb ?? defaults.memoryMb;
  checkPositive('memoryMb', memoryMb, 1 << 20);
  const stdin = req.stdin ?? '';
  if (typeof stdin !== 'string') throw new TypeError(`sandbox run: "stdin" must be a string, got ${typeof stdin}`);
  const files = req.files ?? {};
  if (typeof files !== 'object' || files === null || Array.isArray(files)) {
    throw new TypeError('sandbox run: "files" must be an object {relative path: text}');
  }
  const names = Object.keys(files);
  if (names.length > MAX_FILES) throw new RangeError(`sandbox run: ${names.length} files, more than the limit of ${MAX_FILES}`);
  for (const name of names) {
    const parts = name.split('/');
    if (name === '' || name.startsWith('/') || name.includes('\0') || parts.some((p) => p === '..' || p === '.' || p === '')) {
      throw new RangeError(`sandbox run: file name ${JSON.stringify(name)} must be a plain relative path (no "..", no leading "/")`);
    }
    if (typeof files[name] !== 'string') throw new TypeError(`sandbox run: file ${JSON.stringify(name)} must have string content`);
  }
  return { code: req.code, timeoutMs, memoryMb, stdin, files };
}

/** Throws unless `value` is a finite number in (0, max]. */
export function checkPositive(field: string, value: unknown, max: number): asserts value is number {
  if (typeof value !== 'number' || !Number.isFinite(value) || value <= 0 || value > max) {
    throw new RangeError(`sandbox: "${field}" must be a number in (0, ${max}], got ${String(value)}`);
  }
}

/** A result for a request the sandbox could not run to an end. */
export function failure(id: number, message: string): RunResult {
  return { id, status: 'crashed', returnCode: null, stdout: '', stderr: message, wallMs: 0, cpuMs: null, truncated: false };
}
