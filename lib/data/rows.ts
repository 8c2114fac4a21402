// Raw rows from dataset files: parquet (hyparquet), JSON lines, JSON arrays; paths, directories, globs.
import { readFile, readdir, stat } from 'node:fs/promises';
import { basename, dirname, extname, join } from 'node:path';
import { asyncBufferFromFile, parquetReadObjects } from 'hyparquet';
import { compressors } from 'hyparquet-compressors';

export type DataFormat = 'parquet' | 'jsonl' | 'json';

export type Row = Record<string, unknown>;

const EXTENSIONS: Record<string, DataFormat> = { '.parquet': 'parquet', '.jsonl': 'jsonl', '.json': 'json' };

/** The format a file's extension implies (or the explicit one). */
export function formatOf(file: string, format?: DataFormat): DataFormat {
  const f = format ?? EXTENSIONS[extname(file).toLowerCase()];
  if (!f) throw new Error(`${file}: unknown dataset format (use .parquet, .jsonl or .json, or pass format)`);
  return f;
}

/** Expand paths: files as given, directories to their dataset files, `*`/`?` globs in the last component. */
export async function expandPaths(pathOrGlob: string | readonly string[]): Promise<string[]> {
  const out: string[] = [];
  for (const p of typeof pathOrGlob === 'string' ? [pathOrGlob] : pathOrGlob) {
    if (/[*?]/.test(basename(p))) {
      const re = new RegExp(`^${basename(p).replace(/[.+^${}()|[\]\\]/g, '\\$&').replace(/\*/g, '.*').replace(/\?/g, '.')}$`);
      const matches = (await readdir(dirname(p))).filter((n) => re.test(n)).sort();
      if (matches.length === 0) throw new Error(`${p}: no file matches`);
      out.push(...matches.map((n) => join(dirname(p), n)));
    } else if ((await stat(p)).isDirectory()) {
      const files = (await readdir(p)).filter((n) => extname(n).toLowerCase() in EXTENSIONS).sort();
      if (files.length === 0) throw new Error(`${p}: no .parquet, .jsonl or .json files in the directory`);
      out.push(...files.map((n) => join(p, n)));
    } else {
      out.push(p);
    }
  }
  return out;
}

/** Every row of one file as a plain object. */
export async function readRows(file: string, format?: DataFormat): Promise<Row[]> {
  const fmt = formatOf(file, format);
  if (fmt === 'parquet') {
    try {
      return (await parquetReadObjects({ file: await asyncBufferFromFile(file), compressors })) as Row[];
    } catch (e) {
      throw new Error(`${file}: cannot read parquet: ${(e as Error).message}`);
    }
  }
  const text = await readFile(file, 'utf8');
  const isRow = (x: unknown): x is Row => typeof x === 'object' && x !== null && !Array.isArray(x);
  if (fmt === 'json') {
    let data: unknown;
    try {
      data = JSON.parse(text);
    } catch (e) {
      throw new Error(`${file}: invalid JSON: ${(e as Error).message}`);
    }
    if (!Array.isArray(data)) throw new Error(`${file}: expected a JSON array of objects`);
    data.forEach((r, i) => { if (!isRow(r)) throw new Error(`${file}: element ${i} is not an object`); });
    return data as Row[];
  }
  const rows: Row[] = [];
  text.split('\n').forEach((line, i) => {
    if (line.trim() === '') return;
    let row: unknown;
    try {
      row = JSON.parse(line);
    } catch (e) {
      throw new Error(`${file}:${i + 1}: invalid JSON line: ${(e as Error).message}`);
    }
    if (!isRow(row)) throw new Error(`${file}:${i + 1}: line is not a JSON object`);
    rows.push(row);
  });
  return rows;
}
