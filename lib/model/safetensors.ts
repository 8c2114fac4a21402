// safetensors checkpoints: single files and sharded directories (model.safetensors.index.json),
// read lazily tensor by tensor (open + read at an offset, so a 3 GB file is never held twice)
// and written atomically, sharded past a size limit, in the layout transformers and vLLM load.
import { open, readFile, readdir, rename, rm, stat } from 'node:fs/promises';
import { basename, dirname, join, resolve, sep } from 'node:path';
import { DTYPE_BYTES, type DType } from '../dtype.js';
import { writeTemp } from './atomic.js';

/** A tensor in host memory: raw little-endian bytes, row-major. */
export interface HostTensor {
  dtype: DType;
  shape: number[];
  data: Uint8Array;
}

/** Where one tensor lives on disk. */
export interface TensorEntry {
  name: string;
  dtype: DType;
  shape: number[];
  file: string;
  /** Absolute byte offset of the tensor's first byte in `file`. */
  offset: number;
  byteLength: number;
}

/** An opened checkpoint: headers parsed and validated, tensor data read on demand. */
export interface SafetensorsCheckpoint {
  /** The safetensors files (one, or the shards named by the index). */
  files: string[];
  /** `__metadata__` of the (first) file. */
  metadata: Record<string, string>;
  /** Tensors by their name in the file (HF names for HF checkpoints). */
  entries: Map<string, TensorEntry>;
  /** Read one tensor's bytes from disk. */
  read(name: string): Promise<HostTensor>;
  /** Read every tensor (in file order); `onProgress(done, total)` after each. */
  readAll(onProgress?: (done: number, total: number) => void): Promise<Map<string, HostTensor>>;
}

const FILE_DTYPES: Record<string, DType> = { F32: 'f32', BF16: 'bf16', F16: 'f16', I32: 'i32', I64: 'i64', U8: 'u8' };
const DTYPE_NAMES: Record<DType, string> = { f32: 'F32', bf16: 'BF16', f16: 'F16', i32: 'I32', i64: 'I64', u8: 'U8' };
/** The reference implementation's limit on the JSON header. */
const MAX_HEADER_BYTES = 100_000_000;
const SINGLE = 'model.safetensors';
const INDEX = 'model.safetensors.index.json';

function numel(shape: number[]): number {
  return shape.reduce((a, b) => a * b, 1);
}

/** Top-level keys of a JSON object text, in order, duplicates included (JSON.parse silently keeps the last). */
function topLevelKeys(text: string): string[] {
  const keys: string[] = [];
  let depth = 0;
  let expectKey = false;
  for (let i = 0; i < text.length; i++) {
    const c = text[i];
    if (c === '"') {
      let j = i + 1;
      while (text[j] !== '"') j += text[j] === '\\' ? 2 : 1;
      if (depth === 1 && expectKey) keys.push(JSON.parse(text.slice(i, j + 1)) as string);
      expectKey = false;
      i = j;
    } else if (c === '{' || c === '[') {
      depth++;
      expectKey = c === '{' && depth === 1;
    } else if (c === '}' || c === ']') {
      depth--;
    } else if (c === ',' && depth === 1) {
      expectKey = true;
    }
  }
  return keys;
}

/** Parse and validate one file's header; the entries are sorted by offset. */
async function readHeader(file: string): Promise<{ entries: TensorEntry[]; metadata: Record<string, string> }> {
  const size = (await stat(file)).size;
  const fail = (msg: string): never => { throw new Error(`${file}: ${msg}`); };
  if (size < 8) fail(`truncated: ${size} bytes, too short for the 8-byte header length`);
  const fh = await open(file, 'r');
  let text: string;
  let dataStart: number;
  try {
    const lenBuf = Buffer.alloc(8);
    await fh.read(lenBuf, 0, 8, 0);
    const n = lenBuf.readBigUInt64LE(0);
    if (n > BigInt(size - 8)) fail(`header length ${n} runs past the end of the file (${size} bytes; truncated?)`);
    if (n > BigInt(MAX_HEADER_BYTES)) fail(`header length ${n} exceeds the ${MAX_HEADER_BYTES}-byte limit`);
    const headerBuf = Buffer.alloc(Number(n));
    await fh.read(headerBuf, 0, headerBuf.length, 8);
    text = headerBuf.toString('utf8');
    dataStart = 8 + headerBuf.length;
  } finally {
    await fh.close();
  }
  let header: unknown;
  try {
    header = JSON.parse(text);
  } catch (e) {
    return fail(`header is not valid JSON: ${(e as Error).message}`);
  }
  if (typeof header !== 'object' || header === null || Array.isArray(header)) fail('header is not a JSON object');
  const keys = topLevelKeys(text);
  const seen = new Set<string>();
  for (const k of keys) {
    if (seen.has(k)) fail(`tensor "${k}" appears twice in the header (duplicate name)`);
    seen.add(k);
  }
  const dataBytes = size - dataStart;
  const metadata: Record<string, string> = {};
  const entries: (TensorEntry & { begin: number; end: number })[] = [];
  for (const [name, info] of Object.entries(header as Record<string, unknown>)) {
    const bad = (msg: string): never => fail(`tensor "${name}": ${msg}`);
    if (name === '__metadata__') {
      if (typeof info !== 'object' || info === null) fail('__metadata__ is not an object');
      for (const [k, v] of Object.entries(info as Record<string, unknown>)) {
        if (typeof v !== 'string') fail(`__metadata__ value "${k}" is not a string`);
        metadata[k] = v as string;
      }
      continue;
    }
    if (typeof info !== 'object' || info === null) bad('entry is not an object');
    const { dtype, shape, data_offsets: offs } = info as Record<string, unknown>;
    const dt = FILE_DTYPES[String(dtype)];
    if (dt === undefined) bad(`unknown or unsupported dtype ${JSON.stringify(dtype)} (supported: ${Object.keys(FILE_DTYPES).join(', ')})`);
    if (!Array.isArray(shape) || !shape.every((d) => Number.isSafeInteger(d) && d >= 0)) bad(`invalid shape ${JSON.stringify(shape)}`);
    if (!Array.isArray(offs) || offs.length !== 2 || !offs.every((o) => Number.isSafeInteger(o) && o >= 0) || offs[0] > offs[1]) {
      bad(`invalid data_offsets ${JSON.stringify(offs)}`);
    }
    const [begin, end] = offs as [number, number];
    const need = numel(shape as number[]) * DTYPE_BYTES[dt as DType];
    if (end - begin !== need) bad(`shape ${JSON.stringify(shape)} ${dt} needs ${need} bytes but data_offsets [${begin}, ${end}] span ${end - begin}`);
    if (end > dataBytes) bad(`data_offsets [${begin}, ${end}] run past the end of the data (${dataBytes} bytes; file truncated?)`);
    entries.push({ name, dtype: dt as DType, shape: shape as number[], file, offset: dataStart + begin, byteLength: need, begin, end });
  }
  entries.sort((a, b) => a.begin - b.begin || a.end - b.end);
  let prev: (typeof entries)[number] | undefined;
  for (const e of entries) {
    const prevEnd = prev?.end ?? 0;
    if (e.begin < prevEnd) fail(`tensor "${e.name}" data_offsets [${e.begin}, ${e.end}] overlap tensor "${prev?.name}" [${prev?.begin}, ${prev?.end}]`);
    if (e.begin > prevEnd) fail(`tensor "${e.name}" starts at ${e.begin} but the previous tensor ends at ${prevEnd} (gap in the data)`);
    prev = e;
  }
  if ((prev?.end ?? 0) !== dataBytes) fail(`${dataBytes - (prev?.end ?? 0)} bytes after the last tensor (data section is ${dataBytes} bytes)`);
  return { entries: entries.map(({ begin: _b, end: _e, ...entry }) => entry), metadata };
}

/** Read a sharded checkpoint's index: tensor name -> shard file (absolute). */
async function readIndex(indexFile: string): Promise<Map<string, string>> {
  const fail = (msg: string): never => { throw new Error(`${indexFile}: ${msg}`); };
  let json: unknown;
  try {
    json = JSON.parse(await readFile(indexFile, 'utf8'));
  } catch (e) {
    return fail(`cannot read index: ${(e as Error).message}`);
  }
  const map = (json as { weight_map?: unknown } | null)?.weight_map;
  if (typeof map !== 'object' || map === null || Array.isArray(map)) return fail('no "weight_map" object');
  const dir = dirname(indexFile);
  const out = new Map<string, string>();
  for (const [name, shard] of Object.entries(map as Record<string, unknown>)) {
    if (typeof shard !== 'string' || shard === '' || shard.includes('/') || shard.includes('\\')) {
      fail(`tensor "${name}": shard ${JSON.stringify(shard)} is not a file name in the checkpoint directory`);
    }
    out.set(name, join(dir, shard as string));
  }
  if (out.size === 0) fail('weight_map is empty');
  return out;
}

/** Which file(s) a path names: a .safetensors file, an index file, or a directory holding either. */
async function locate(pathOrDir: string): Promise<{ single: string } | { index: string }> {
  const p = resolve(pathOrDir);
  if (!(await stat(p)).isDirectory()) return p.endsWith('.index.json') ? { index: p } : { single: p };
  const names = await readdir(p);
  if (names.includes(SINGLE)) return { single: join(p, SINGLE) };
  const index = names.includes(INDEX) ? INDEX : names.find((n) => n.endsWith('.safetensors.index.json'));
  if (index) return { index: join(p, index) };
  const one = names.filter((n) => n.endsWith('.safetensors'));
  if (one.length === 1 && one[0]) return { single: join(p, one[0]) };
  throw new Error(`${p}: no ${SINGLE} and no *.safetensors.index.json in the directory`);
}

/**
 * Open a safetensors checkpoint: a file, a directory with model.safetensors, or a sharded directory
 * (model.safetensors.index.json). Every header is validated up front; data is read on demand.
 */
export async function readSafetensors(pathOrDir: string): Promise<SafetensorsCheckpoint> {
  const where = await locate(pathOrDir);
  const entries = new Map<string, TensorEntry>();
  let files: string[];
  let metadata: Record<string, string> = {};
  if ('single' in where) {
    const h = await readHeader(where.single);
    files = [where.single];
    metadata = h.metadata;
    for (const e of h.entries) entries.set(e.name, e);
  } else {
    const weightMap = await readIndex(where.index);
    files = [...new Set(weightMap.values())];
    const headers = new Map<string, Map<string, TensorEntry>>();
    for (const file of files) {
      const h = await readHeader(file).catch((e: NodeJS.ErrnoException) => {
        throw e.code === 'ENOENT' ? new Error(`${where.index}: shard ${basename(file)} is missing`) : e;
      });
      if (headers.size === 0) metadata = h.metadata;
      headers.set(file, new Map(h.entries.map((e) => [e.name, e])));
    }
    for (const [name, file] of weightMap) {
      const e = headers.get(file)?.get(name);
      if (!e) throw new Error(`${where.index}: tensor "${name}" is listed in shard ${basename(file)} but that shard has no such tensor`);
      entries.set(name, e);
    }
  }
  const read = async (name: string): Promise<HostTensor> => {
    const e = entries.get(name);
    if (!e) throw new Error(`${files.join(', ')}: no tensor "${name}"`);
    const data = new Uint8Array(e.byteLength);
    const fh = await open(e.file, 'r');
    try {
      let done = 0;
      while (done < e.byteLength) {
        const { bytesRead } = await fh.read(data, done, e.byteLength - done, e.offset + done);
        if (bytesRead === 0) throw new Error(`${e.file}: tensor "${name}": file ended after ${done} of ${e.byteLength} bytes (truncated while reading?)`);
        done += bytesRead;
      }
    } finally {
      await fh.close();
    }
    return { dtype: e.dtype, shape: [...e.shape], data };
  };
  return {
    files,
    metadata,
    entries,
    read,
    async readAll(onProgress) {
      const out = new Map<string, HostTensor>();
      for (const name of entries.keys()) {
        out.set(name, await read(name));
        onProgress?.(out.size, entries.size);
      }
      return out;
    },
  };
}

/** Options for writeSafetensors. */
export interface WriteSafetensorsOptions {
  /** Split into shards (+ index) once the data exceeds this many bytes. Default 5 GB, as transformers. */
  maxShardBytes?: number;
  /** Called after each tensor is written. */
  onProgress?: (done: number, total: number) => void;
}

/** Validate tensors before anything is written; returns them as [name, tensor] pairs. */
function checkTensors(tensors: Map<string, HostTensor> | Record<string, HostTensor>): [string, HostTensor][] {
  const list = tensors instanceof Map ? [...tensors] : Object.entries(tensors);
  for (const [name, t] of list) {
    if (name === '__metadata__' || name === '') throw new Error(`writeSafetensors: invalid tensor name ${JSON.stringify(name)}`);
    if (!(t.dtype in DTYPE_NAMES)) throw new Error(`writeSafetensors: tensor "${name}": unknown dtype ${JSON.stringify(t.dtype)}`);
    if (!t.shape.every((d) => Number.isSafeInteger(d) && d >= 0)) throw new Error(`writeSafetensors: tensor "${name}": invalid shape ${JSON.stringify(t.shape)}`);
    const need = numel(t.shape) * DTYPE_BYTES[t.dtype];
    if (t.data.byteLength !== need) {
      throw new Error(`writeSafetensors: tensor "${name}": shape ${JSON.stringify(t.shape)} ${t.dtype} needs ${need} bytes, data has ${t.data.byteLength}`);
    }
  }
  return list;
}

/** Write one safetensors file to a temporary name; returns that name. */
async function writeOne(file: string, tensors: [string, HostTensor][], metadata: Record<string, string>, progress: () => void): Promise<string> {
  const header: Record<string, unknown> = { __metadata__: metadata };
  let offset = 0;
  for (const [name, t] of tensors) {
    header[name] = { dtype: DTYPE_NAMES[t.dtype], shape: t.shape, data_offsets: [offset, offset + t.data.byteLength] };
    offset += t.data.byteLength;
  }
  let json = JSON.stringify(header);
  json += ' '.repeat((8 - (Buffer.byteLength(json) % 8)) % 8); // 8-byte aligned data, as the reference writer does
  const head = Buffer.alloc(8 + Buffer.byteLength(json));
  head.writeBigUInt64LE(BigInt(head.length - 8), 0);
  head.write(json, 8, 'utf8');
  return writeTemp(file, async (fh) => {
    await fh.write(head);
    for (const [, t] of tensors) {
      let done = 0;
      while (done < t.data.byteLength) done += (await fh.write(t.data, done, t.data.byteLength - done)).bytesWritten;
      progress();
    }
  });
}

/** Files of an existing sharded checkpoint at `indexFile` (empty if none). */
async function existingShards(indexFile: string): Promise<string[]> {
  try {
    return [...new Set((await readIndex(indexFile)).values())];
  } catch {
    return [];
  }
}

/**
 * Write tensors as a safetensors checkpoint at `path` (e.g. dir/model.safetensors). Past
 * `maxShardBytes` it writes dir/model-0000i-of-0000n.safetensors and dir/model.safetensors.index.json
 * instead. Atomic: every file is written under a temporary name and renamed only once all are
 * complete (the index last); a stale single file or stale shards of the other layout are removed.
 * `metadata` gets `format: "pt"` unless given (transformers requires it). Returns the files written.
 */
export async function writeSafetensors(
  path: string,
  tensors: Map<string, HostTensor> | Record<string, HostTensor>,
  metadata: Record<string, string> = {},
  options: WriteSafetensorsOptions = {},
): Promise<string[]> {
  const list = checkTensors(tensors);
  const maxShard = options.maxShardBytes ?? 5e9;
  if (!(maxShard > 0)) throw new Error(`writeSafetensors: maxShardBytes must be positive, got ${maxShard}`);
  const meta = { format: 'pt', ...metadata };
  const shards: [string, HostTensor][][] = [[]];
  let shardBytes = 0;
  for (const entry of list) {
    const bytes = entry[1].data.byteLength;
    if (shardBytes > 0 && shardBytes + bytes > maxShard) {
      shards.push([]);
      shardBytes = 0;
    }
    shards[shards.length - 1]?.push(entry);
    shardBytes += bytes;
  }
  const dir = dirname(resolve(path));
  const stem = basename(path).replace(/\.safetensors$/, '');
  const indexFile = join(dir, `${stem}.safetensors.index.json`);
  const stale = await existingShards(indexFile);
  let done = 0;
  const progress = (): void => options.onProgress?.(++done, list.length);
  const pending: [string, string][] = []; // [temp, final]
  try {
    if (shards.length === 1) {
      pending.push([await writeOne(resolve(path), list, meta, progress), resolve(path)]);
    } else {
      const n = String(shards.length).padStart(5, '0');
      const weightMap: Record<string, string> = {};
      for (const [i, shard] of shards.entries()) {
        const name = `${stem}-${String(i + 1).padStart(5, '0')}-of-${n}.safetensors`;
        pending.push([await writeOne(join(dir, name), shard, meta, progress), join(dir, name)]);
        for (const [tensorName] of shard) weightMap[tensorName] = name;
      }
      const total = list.reduce((a, [, t]) => a + t.data.byteLength, 0);
      const indexJson = JSON.stringify({ metadata: { total_size: total }, weight_map: weightMap }, null, 2) + '\n';
      pending.push([await writeTemp(indexFile, async (fh) => { await fh.writeFile(indexJson); }), indexFile]);
    }
  } catch (e) {
    await Promise.all(pending.map(([tmp]) => rm(tmp, { force: true })));
    throw e;
  }
  for (const [tmp, final] of pending) await rename(tmp, final);
  const written = pending.map(([, final]) => final);
  const obsolete = shards.length === 1 ? [...stale, indexFile] : [resolve(path), ...stale];
  for (const f of obsolete) if (!written.includes(f) && f.startsWith(dir + sep)) await rm(f, { force: true });
  return written;
}
