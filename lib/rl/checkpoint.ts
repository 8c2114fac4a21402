// Checkpoints: OUT/checkpoints/step-N/ = model/ (an HF directory with the tokenizer files),
// optimizer.safetensors (AdamW moments), trainer_state.json (step, data position, seed,
// config, metrics so far). Each is built under a hidden temporary name, fsynced, and renamed
// into place: a folder step-N is complete or absent, whenever the process dies.
import { mkdir, open, readdir, readFile, rename, rm, stat, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { randomBytes } from 'node:crypto';
import { readSafetensors, writeSafetensors, type AdamWState, type Model } from '../model/index.js';
import type { TrainerConfig } from './config.js';

/** What a run needs besides the weights to continue exactly. */
export interface TrainerState {
  version: 1;
  /** Steps completed. */
  step: number;
  /** The trainer's seed: every draw is keyed by (seed, step, prompt), so no generator state is kept. */
  seed: number;
  /** The data position: the next step reads batch `index` of epoch `epoch`. */
  data: { epoch: number; index: number };
  config: TrainerConfig;
  /** metrics.jsonl up to this step. */
  metrics: Record<string, number>[];
}

export interface Checkpoint {
  dir: string;
  step: number;
}

/** fsync every file under dir, then the directories themselves. */
async function syncTree(dir: string): Promise<void> {
  for (const e of await readdir(dir, { withFileTypes: true })) {
    const p = join(dir, e.name);
    if (e.isDirectory()) await syncTree(p);
    else await syncPath(p);
  }
  await syncPath(dir);
}

async function syncPath(p: string): Promise<void> {
  const fh = await open(p, 'r');
  try {
    await fh.sync();
  } finally {
    await fh.close();
  }
}

/** Build a directory through fill(tmp) beside `target`, then put it in place atomically (replacing any old one). */
export async function writeDirAtomic(target: string, fill: (tmp: string) => Promise<void>): Promise<void> {
  const parent = join(target, '..');
  await mkdir(parent, { recursive: true });
  const tmp = join(parent, `.${target.split('/').pop()}.partial-${process.pid}-${randomBytes(4).toString('hex')}`);
  await mkdir(tmp);
  try {
    await fill(tmp);
    await syncTree(tmp);
    const old = await stat(target).then(() => `${tmp}.old`, () => null);
    if (old) await rename(target, old);
    await rename(tmp, target);
    await syncPath(parent);
    if (old) await rm(old, { recursive: true, force: true });
  } catch (e) {
    await rm(tmp, { recursive: true, force: true });
    throw e;
  }
}

/** Save the model as an HF directory with the tokenizer files of `tokenizerDir` (Model.save copies them). */
export async function saveModelDir(dir: string, model: Model, tokenizerDir: string): Promise<void> {
  await model.save(dir, { tokenizerDir });
}

/** Write OUT/checkpoints/step-N atomically. */
export async function writeCheckpoint(outDir: string, model: Model, tokenizerDir: string, optimizer: AdamWState, state: TrainerState): Promise<string> {
  const dir = join(outDir, 'checkpoints', `step-${state.step}`);
  await writeDirAtomic(dir, async (tmp) => {
    await saveModelDir(join(tmp, 'model'), model, tokenizerDir);
    await writeSafetensors(join(tmp, 'optimizer.safetensors'), optimizer.tensors, { step: String(optimizer.step) });
    await writeFile(join(tmp, 'trainer_state.json'), JSON.stringify(state));
  });
  return dir;
}

/** The last complete checkpoint of a run (partial ones, from a killed write, are removed), or null. */
export async function latestCheckpoint(outDir: string): Promise<Checkpoint | null> {
  const root = join(outDir, 'checkpoints');
  const entries = await readdir(root).catch(() => [] as string[]);
  let best: Checkpoint | null = null;
  for (const name of entries) {
    if (name.startsWith('.') && name.includes('.partial-')) {
      await rm(join(root, name), { recursive: true, force: true });
      continue;
    }
    const m = /^step-(\d+)$/.exec(name);
    if (m && (!best || Number(m[1]) > best.step)) best = { dir: join(root, name), step: Number(m[1]) };
  }
  return best;
}

/** A checkpoint's trainer state and optimizer state (its model is `${dir}/model`). */
export async function readCheckpoint(dir: string): Promise<{ state: TrainerState; optimizer: AdamWState }> {
  const file = join(dir, 'trainer_state.json');
  const state = JSON.parse(await readFile(file, 'utf8')) as TrainerState;
  if (state.version !== 1) throw new Error(`${file}: unknown trainer state version ${state.version}`);
  const st = await readSafetensors(join(dir, 'optimizer.safetensors'));
  return { state, optimizer: { step: Number(st.metadata.step), tensors: await st.readAll() } };
}
