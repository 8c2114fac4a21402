// Atomic file writes: write to a temporary name beside the target, fsync, rename.
import { open, rename, rm, type FileHandle } from 'node:fs/promises';
import { randomBytes } from 'node:crypto';

/** A temporary path in the same directory as `file` (so the final rename stays on one filesystem). */
export function tempPathFor(file: string): string {
  return `${file}.tmp-${process.pid}-${randomBytes(4).toString('hex')}`;
}

/**
 * Write a file through `fill(handle)` at a temporary name, fsync it, and return the temporary
 * path; the caller renames it into place (several files can then be committed together).
 * On failure the temporary file is removed.
 */
export async function writeTemp(file: string, fill: (fh: FileHandle) => Promise<void>): Promise<string> {
  const tmp = tempPathFor(file);
  const fh = await open(tmp, 'wx');
  try {
    await fill(fh);
    await fh.sync();
  } catch (e) {
    await fh.close().catch(() => {});
    await rm(tmp, { force: true });
    throw e;
  }
  await fh.close();
  return tmp;
}

/** Write `data` to `file` atomically: readers see the old file or the complete new one, never a part. */
export async function writeFileAtomic(file: string, data: string | Uint8Array): Promise<void> {
  const tmp = await writeTemp(file, async (fh) => { await fh.writeFile(data); });
  await rename(tmp, file);
}
