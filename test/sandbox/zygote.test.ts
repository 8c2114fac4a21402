// The worker's zygote (lib/sandbox/torl_worker/zygote.py): the process that holds the preloaded
// modules and forks each spare as the worker's own child (clone with CLONE_PARENT), or,
// when a preload started threads, with a plain fork whose child the worker adopts. Run in
// rlimits mode, so the pids seen here are the snippets' own.
import { existsSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import t, { type Test } from 'tap';
import { PythonSandbox } from '../../lib/sandbox/index.js';
import { childrenOf, eventually, processesOf, randomUidBase } from './procs.js';

const python = existsSync('/usr/bin/python3') ? '/usr/bin/python3' : 'python3';
const PIDS = 'import os\nprint(os.getppid(), os.getpid())';

function start(extra: Partial<ConstructorParameters<typeof PythonSandbox>[0]> = {}) {
  const uidBase = randomUidBase();
  const sb = new PythonSandbox({ workers: 1, isolation: 'rlimits', allowInsecure: true, python, preload: ['math'], uidBase, ...extra });
  return { sb, uids: new Set([uidBase]) };
}

/** Runs PIDS `n` times: each answer must name `worker` as the parent and a new process. */
async function checkParents(t: Test, sb: PythonSandbox, worker: number, n: number) {
  const seen = new Set<string>();
  for (let i = 0; i < n; i++) {
    const r = await sb.run({ code: PIDS });
    const [ppid, pid] = r.stdout.trim().split(' ');
    t.same([r.status, Number(ppid)], ['ok', worker], `run ${i}: the snippet's parent is the worker`);
    seen.add(pid!);
  }
  t.equal(seen.size, n, 'each run is a fresh process');
}

t.test('spares are the worker’s children, forked by one long-lived zygote', async (t) => {
  const { sb, uids } = start();
  t.teardown(() => sb.close());
  const worker = (await sb.info()).workerPids[0]!;
  await sb.warm();
  const before = childrenOf(worker).map((p) => p.pid);
  await checkParents(t, sb, worker, 5);
  await sb.warm();
  const zygote = childrenOf(worker).filter((p) => before.includes(p.pid));
  t.equal(zygote.length, 1, 'one child of the worker outlives the requests: the zygote', { before, after: childrenOf(worker) });
  t.equal(zygote[0]?.uid, process.getuid!(), "the zygote keeps the worker's uid");
  t.notOk(uids.has(zygote[0]!.uid), 'not a snippet uid');

  // Killed from outside: the prepared spare still answers, the worker starts another
  // zygote for the next one, and no request is lost.
  process.kill(zygote[0]!.pid, 'SIGKILL');
  const after = [await sb.run({ code: 'print(1)' }), await sb.run({ code: 'print(2)' })];
  t.same(after.map((r) => [r.status, r.stdout]), [['ok', '1\n'], ['ok', '2\n']], 'no request is lost');
  t.same((await sb.info()).workerPids, [worker], 'the worker lives on');
  await checkParents(t, sb, worker, 2);
  await sb.warm();
  const second = childrenOf(worker).filter((p) => p.uid === process.getuid!() && p.pid !== zygote[0]!.pid);
  t.equal(second.length, 1, 'a new zygote', { children: childrenOf(worker) });
  t.ok(await eventually(() => processesOf(uids).length <= 1), 'nothing but the new spare runs as the snippet uid', { left: processesOf(uids) });
  await sb.close();
  t.same(processesOf(uids), [], 'close() leaves nothing');
});

t.test('a preload that starts a thread: spares are forked plainly and adopted by the worker', async (t) => {
  const dir = mkdtempSync(join(tmpdir(), 'torl-zygote-'));
  t.teardown(() => rmSync(dir, { recursive: true, force: true }));
  writeFileSync(join(dir, 'torl_threaded_preload.py'), 'import threading, time\nthreading.Thread(target=time.sleep, args=(1e6,), daemon=True).start()\n');
  const { sb, uids } = start({ preload: ['math', 'torl_threaded_preload'], env: { PYTHONPATH: dir } });
  t.teardown(() => sb.close());
  const info = await sb.info();
  t.ok(info.preloaded.includes('torl_threaded_preload'));
  await checkParents(t, sb, info.workerPids[0]!, 5);
  t.same([(await sb.run({ code: 'import threading\nprint(threading.active_count())' })).stdout], ['1\n'], "the snippet runs no thread of the zygote's");
  await sb.close();
  t.same(processesOf(uids), [], 'close() leaves nothing');
});
