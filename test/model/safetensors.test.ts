import t from 'tap';
import { mkdtempSync, readFileSync, readdirSync, writeFileSync, truncateSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { readSafetensors, writeSafetensors, type HostTensor } from '../../lib/model/index.js';
import { DTYPES, DTYPE_BYTES, type DType } from '../../lib/dtype.js';

const tmp = (): string => mkdtempSync(join(tmpdir(), 'torl-st-'));

/** A file built by hand from the format spec (independent of our writer). */
function handMade(header: Record<string, unknown>, data: Uint8Array, headerText?: string): Buffer {
  const json = Buffer.from(headerText ?? JSON.stringify(header));
  const len = Buffer.alloc(8);
  len.writeBigUInt64LE(BigInt(json.length));
  return Buffer.concat([len, json, data]);
}

function tensor(dtype: DType, shape: number[], seed: number): HostTensor {
  const n = shape.reduce((a, b) => a * b, 1) * DTYPE_BYTES[dtype];
  const data = new Uint8Array(n);
  for (let i = 0; i < n; i++) data[i] = (i * 131 + seed * 17) & 255;
  return { dtype, shape, data };
}

t.test('reads a hand-made file: f32 values, f16/bf16 bits, metadata', async (t) => {
  const dir = tmp();
  const f32 = new Float32Array([1.5, -2, 3.25, 0]);
  const bf16 = new Uint16Array([0x3f80, 0xc000]); // 1.0, -2.0
  const f16 = new Uint16Array([0x3c00, 0x4000, 0x7bff]); // 1, 2, 65504
  const data = Buffer.concat([Buffer.from(f32.buffer), Buffer.from(bf16.buffer), Buffer.from(f16.buffer)]);
  const file = join(dir, 'a.safetensors');
  writeFileSync(file, handMade({
    __metadata__: { format: 'pt' },
    w: { dtype: 'F32', shape: [2, 2], data_offsets: [0, 16] },
    b: { dtype: 'BF16', shape: [2], data_offsets: [16, 20] },
    h: { dtype: 'F16', shape: [3], data_offsets: [20, 26] },
  }, data));
  const ck = await readSafetensors(file);
  t.same(ck.metadata, { format: 'pt' });
  t.same([...ck.entries.keys()], ['w', 'b', 'h']);
  const w = await ck.read('w');
  t.same(w.shape, [2, 2]);
  t.same([...new Float32Array(w.data.slice().buffer)], [1.5, -2, 3.25, 0]);
  t.same([...new Uint16Array((await ck.read('b')).data.slice().buffer)], [0x3f80, 0xc000]);
  t.same([...new Uint16Array((await ck.read('h')).data.slice().buffer)], [0x3c00, 0x4000, 0x7bff]);
  await t.rejects(ck.read('nope'), /no tensor "nope"/);
});

t.test('round trip: every dtype, identical bytes, 8-byte aligned data', async (t) => {
  const dir = tmp();
  const tensors = new Map<string, HostTensor>();
  DTYPES.forEach((dt, i) => tensors.set(`t.${dt}`, tensor(dt, [3, i + 1], i)));
  tensors.set('scalar', tensor('f32', [], 9));
  tensors.set('empty', tensor('bf16', [0, 4], 10));
  const file = join(dir, 'model.safetensors');
  const written = await writeSafetensors(file, tensors, { note: 'hi' });
  t.same(written, [file]);
  const raw = readFileSync(file);
  t.equal(Number(raw.readBigUInt64LE(0)) % 8, 0, 'header padded to 8 bytes');
  const ck = await readSafetensors(dir);
  t.same(ck.metadata, { format: 'pt', note: 'hi' });
  const all = await ck.readAll();
  t.equal(all.size, tensors.size);
  for (const [name, want] of tensors) {
    const got = all.get(name);
    t.equal(got?.dtype, want.dtype, name);
    t.same(got?.shape, want.shape, name);
    t.ok(got && Buffer.from(got.data).equals(Buffer.from(want.data)), `${name} bytes`);
  }
  t.same(readdirSync(dir), ['model.safetensors'], 'no temp files left');
});

t.test('sharded write past the size limit, index, sharded read', async (t) => {
  const dir = tmp();
  const tensors: Record<string, HostTensor> = {};
  for (let i = 0; i < 5; i++) tensors[`layer.${i}`] = tensor('f32', [10, 10], i); // 400 bytes each
  const progress: number[] = [];
  const files = await writeSafetensors(join(dir, 'model.safetensors'), tensors, {}, { maxShardBytes: 900, onProgress: (d) => progress.push(d) });
  t.same(progress, [1, 2, 3, 4, 5]);
  t.same(readdirSync(dir).sort(), [
    'model-00001-of-00003.safetensors', 'model-00002-of-00003.safetensors', 'model-00003-of-00003.safetensors', 'model.safetensors.index.json',
  ]);
  t.equal(files.length, 4);
  const index = JSON.parse(readFileSync(join(dir, 'model.safetensors.index.json'), 'utf8'));
  t.same(index.metadata, { total_size: 2000 });
  t.equal(index.weight_map['layer.0'], 'model-00001-of-00003.safetensors');
  t.equal(index.weight_map['layer.4'], 'model-00003-of-00003.safetensors');
  const ck = await readSafetensors(dir);
  t.equal(ck.files.length, 3);
  for (const [name, want] of Object.entries(tensors)) t.ok(Buffer.from((await ck.read(name)).data).equals(Buffer.from(want.data)), name);

  // saving a small checkpoint over it replaces the shards with one file
  await writeSafetensors(join(dir, 'model.safetensors'), { x: tensor('u8', [4], 1) });
  t.same(readdirSync(dir), ['model.safetensors']);
  // and a sharded save over a single file removes the single file (transformers prefers it)
  await writeSafetensors(join(dir, 'model.safetensors'), tensors, {}, { maxShardBytes: 900 });
  t.notOk(readdirSync(dir).includes('model.safetensors'));
});

t.test('writer rejects bad tensors before touching the disk', async (t) => {
  const dir = tmp();
  await t.rejects(writeSafetensors(join(dir, 'm.safetensors'), { w: { dtype: 'f32', shape: [2, 2], data: new Uint8Array(15) } }),
    /tensor "w": shape \[2,2\] f32 needs 16 bytes, data has 15/);
  await t.rejects(writeSafetensors(join(dir, 'm.safetensors'), { w: { dtype: 'f64' as DType, shape: [1], data: new Uint8Array(8) } }), /tensor "w": unknown dtype "f64"/);
  t.same(readdirSync(dir), []);
});

t.test('malformed files: each error names the file and the tensor', async (t) => {
  const dir = tmp();
  const good = { a: { dtype: 'F32', shape: [2], data_offsets: [0, 8] }, b: { dtype: 'F32', shape: [1], data_offsets: [8, 12] } };
  const cases: [string, Buffer, RegExp][] = [
    ['tiny', Buffer.from([1, 2, 3]), /truncated: 3 bytes/],
    ['header-past-end', (() => { const b = handMade(good, Buffer.alloc(12)); b.writeBigUInt64LE(10_000n); return b; })(), /header length 10000 runs past the end/],
    ['not-json', handMade({}, Buffer.alloc(0), '{"a": '), /header is not valid JSON/],
    ['unknown-dtype', handMade({ a: { dtype: 'F64', shape: [1], data_offsets: [0, 8] } }, Buffer.alloc(8)), /tensor "a": unknown or unsupported dtype "F64"/],
    ['size-mismatch', handMade({ a: { dtype: 'F32', shape: [3], data_offsets: [0, 8] } }, Buffer.alloc(8)), /tensor "a": shape \[3\] f32 needs 12 bytes but data_offsets \[0, 8\] span 8/],
    ['out-of-range', handMade({ a: { dtype: 'F32', shape: [4], data_offsets: [0, 16] } }, Buffer.alloc(8)), /tensor "a": data_offsets \[0, 16\] run past the end of the data \(8 bytes; file truncated\?\)/],
    ['overlap', handMade({ a: { dtype: 'F32', shape: [2], data_offsets: [0, 8] }, b: { dtype: 'F32', shape: [2], data_offsets: [4, 12] } }, Buffer.alloc(12)), /tensor "b" data_offsets \[4, 12\] overlap tensor "a"/],
    ['gap', handMade({ a: { dtype: 'F32', shape: [1], data_offsets: [0, 4] }, b: { dtype: 'F32', shape: [1], data_offsets: [8, 12] } }, Buffer.alloc(12)), /tensor "b" starts at 8 but the previous tensor ends at 4/],
    ['trailing', handMade(good, Buffer.alloc(20)), /8 bytes after the last tensor/],
    ['duplicate', handMade({}, Buffer.alloc(8), '{"a":{"dtype":"F32","shape":[1],"data_offsets":[0,4]},"a":{"dtype":"F32","shape":[1],"data_offsets":[4,8]}}'), /tensor "a" appears twice/],
    ['bad-shape', handMade({ a: { dtype: 'F32', shape: [-1], data_offsets: [0, 4] } }, Buffer.alloc(4)), /tensor "a": invalid shape \[-1\]/],
  ];
  for (const [name, bytes, re] of cases) {
    const file = join(dir, `${name}.safetensors`);
    writeFileSync(file, bytes);
    const err = await readSafetensors(file).then(() => undefined, (e: Error) => e);
    t.ok(err, `${name} rejected`);
    t.match(err?.message, re, name);
    t.match(err?.message, file, `${name} names the file`);
  }

  // a file truncated after its header was written: the last tensor runs past the end
  const full = join(dir, 'full.safetensors');
  await writeSafetensors(full, { a: tensor('f32', [4], 1), b: tensor('f32', [4], 2) });
  truncateSync(full, readFileSync(full).length - 3);
  await t.rejects(readSafetensors(full), /tensor "b": data_offsets \[16, 32\] run past the end of the data \(29 bytes; file truncated\?\)/);
});

t.test('sharded checkpoints: missing shard, tensor missing from its shard, bad index', async (t) => {
  const dir = tmp();
  await writeSafetensors(join(dir, 'model.safetensors'), { a: tensor('f32', [8], 1), b: tensor('f32', [8], 2) }, {}, { maxShardBytes: 40 });
  const indexFile = join(dir, 'model.safetensors.index.json');
  const index = JSON.parse(readFileSync(indexFile, 'utf8'));

  writeFileSync(indexFile, JSON.stringify({ weight_map: { ...index.weight_map, c: 'model-00001-of-00002.safetensors' } }));
  await t.rejects(readSafetensors(dir), { message: `${indexFile}: tensor "c" is listed in shard model-00001-of-00002.safetensors but that shard has no such tensor` });
  writeFileSync(indexFile, JSON.stringify({ weight_map: { ...index.weight_map, c: 'model-00009-of-00009.safetensors' } }));
  await t.rejects(readSafetensors(dir), /shard model-00009-of-00009.safetensors is missing/);
  writeFileSync(indexFile, JSON.stringify({ weight_map: { a: '../etc/passwd' } }));
  await t.rejects(readSafetensors(dir), /tensor "a": shard "..\/etc\/passwd" is not a file name/);
  writeFileSync(indexFile, '{"metadata": {}}');
  await t.rejects(readSafetensors(dir), /no "weight_map" object/);
  const empty = tmp();
  await t.rejects(readSafetensors(empty), /no model.safetensors and no \*.safetensors.index.json/);
});
