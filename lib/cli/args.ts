// Argument parsers shared by the torl subcommands (commander coercions that name the flag).
import { statSync } from 'node:fs';
import { InvalidArgumentError } from 'commander';

export const num = (name: string) => (v: string): number => {
  const x = Number(v);
  if (v.trim() === '' || !Number.isFinite(x)) throw new InvalidArgumentError(`${name} must be a number, got '${v}'`);
  return x;
};

export const positiveInt = (name: string) => (v: string): number => {
  const x = num(name)(v);
  if (!Number.isInteger(x) || x < 1) throw new InvalidArgumentError(`${name} must be a positive integer, got '${v}'`);
  return x;
};

export const collect = (v: string, prev: string[]): string[] => [...prev, v];

/** Throws unless `dir` is a directory; `what` says what it should hold. */
export function needDirectory(flag: string, dir: string, what: string): void {
  let isDir = false;
  try {
    isDir = statSync(dir).isDirectory();
  } catch {
    throw new Error(`${flag} ${dir}: no such directory (${what})`);
  }
  if (!isDir) throw new Error(`${flag} ${dir}: not a directory (${what})`);
}
