// Test helpers: the processes on this machine (read from /proc), and what python3 imports.
import { execFileSync } from 'node:child_process';
import { readFileSync, readdirSync } from 'node:fs';

export interface Proc {
  pid: number;
  ppid: number;
  uid: number;
  comm: string;
}

/** Every process on this machine that passes `keep`. */
function processes(keep: (p: Proc) => boolean): Proc[] {
  const out: Proc[] = [];
  for (const name of readdirSync('/proc')) {
    if (!/^\d+$/.test(name)) continue;
    try {
      const status = readFileSync(`/proc/${name}/status`, 'utf8');
      const p = {
        pid: Number(name),
        ppid: Number(/^PPid:\s+(\d+)/m.exec(status)?.[1]),
        uid: Number(/^Uid:\s+(\d+)/m.exec(status)?.[1]),
        comm: /^Name:\s+(.*)$/m.exec(status)?.[1] ?? '?',
      };
      if (keep(p)) out.push(p);
    } catch {
      // gone meanwhile
    }
  }
  return out;
}

/** Processes whose real uid is in `uids`. */
export function processesOf(uids: Set<number>): Proc[] {
  return processes((p) => uids.has(p.uid));
}

/** Every process below `pid` (its children, theirs, and so on). */
export function descendantsOf(pid: number): number[] {
  const all = processes(() => true);
  const below = new Set([pid]);
  for (let grew = true; grew; ) {
    grew = false;
    for (const p of all) {
      if (!below.has(p.pid) && below.has(p.ppid)) {
        below.add(p.pid);
        grew = true;
      }
    }
  }
  below.delete(pid);
  return [...below];
}

/** Whether `python3` here (outside any sandbox) can import `module`. */
export function canImport(module: string): boolean {
  try {
    execFileSync('python3', ['-c', `import ${module}`], { stdio: 'ignore' });
    return true;
  } catch {
    return false;
  }
}

/** The children of `pid`. */
export function childrenOf(pid: number): Proc[] {
  return processes((p) => p.ppid === pid);
}

/** Polls until `ok()` holds or `ms` pass; returns the last value of `ok()`. */
export async function eventually(ok: () => boolean, ms = 5000): Promise<boolean> {
  const end = Date.now() + ms;
  while (!ok()) {
    if (Date.now() > end) return false;
    await new Promise((r) => setTimeout(r, 50));
  }
  return true;
}

/** A random block of 64 uids above 10^9 for one sandbox in one test. */
export function randomUidBase(): number {
  return 1_100_000_000 + Math.floor(Math.random() * 10_000_000) * 64;
}
