// The worker's page prefaulting (lib/sandbox/worker.py: touched_pages, populate, Learned),
// checked in a plain Python process against the kernel's own page map.
import { execFileSync } from 'node:child_process';
import t from 'tap';
import { WORKER_PY } from '../../lib/sandbox/python-sandbox.js';

const SCRIPT = String.raw`
import importlib.util, json, mmap, os, sys
spec = importlib.util.spec_from_file_location('worker', sys.argv[1])
w = importlib.util.module_from_spec(spec)
spec.loader.exec_module(w)
out = {}

# A fresh learner: a hostile report is clipped to the given ranges, junk entries dropped.
L = w.Learned()
L.add([[0, 1 << 40, 'w'], 'junk', [5, 3, 'w'], [None, 2, 'w'], [31, 33, 'r']], [(10, 20, 'w'), (30, 40, 'r')])
out['clipped'] = L.runs
L.add([[10, 10 + w.Learned.MAX_PAGES + 1, 'w']], [(0, 1 << 30, 'w')])  # too large: dropped whole
out['capped'] = L.runs
# Pages kept: those in at least half of the reports so far.
L = w.Learned()
for rep in ([[10, 20, 'w']], [[15, 25, 'w']], [[15, 20, 'w']]):
    L.add(rep, [(0, 100, 'w')])
out['majority'] = L.runs
L.add(None, [(0, 100, 'w')])  # no report: nothing changes
out['unchanged'] = L.runs

# touched_pages after fork: exactly the pages the child wrote are its own.
m = mmap.mmap(-1, 64 * mmap.PAGESIZE, flags=mmap.MAP_PRIVATE | mmap.MAP_ANONYMOUS)
for i in range(64):
    m[i * mmap.PAGESIZE] = 1  # present (and shared after the fork)
import ctypes
base = ctypes.addressof(ctypes.c_char.from_buffer(m)) // mmap.PAGESIZE
r, wr = os.pipe()
pid = os.fork()
if pid == 0:
    m[3 * mmap.PAGESIZE] = 2
    for i in (7, 8, 9):
        m[i * mmap.PAGESIZE] = 2
    written = w.touched_pages([(base, base + 64, 'w')])
    w.populate([[base + 20, base + 24, 'w']])  # copied now, without a write
    populated = w.touched_pages([(base, base + 64, 'w')])
    os.write(wr, json.dumps([[[a - base, b - base, k] for a, b, k in x] for x in (written, populated)]).encode())
    os._exit(0)
os.close(wr)
out['written'], out['populated'] = json.loads(os.read(r, 1 << 16))
os.waitpid(pid, 0)
out['values_kept'] = [m[i * mmap.PAGESIZE] for i in (3, 20)]
print(json.dumps(out))
`;

t.test('prefault: clipping, majority vote, page map after fork, populate', async (t) => {
  const got = JSON.parse(execFileSync('python3', ['-c', SCRIPT, WORKER_PY], { encoding: 'utf8' })) as Record<string, unknown>;
  t.same(got.clipped, [[10, 20, 'w'], [31, 33, 'r']], 'a hostile report is clipped to the worker mappings');
  t.same(got.capped, [[10, 20, 'w'], [31, 33, 'r']], 'a report past MAX_PAGES is dropped');
  t.same(got.majority, [[15, 20, 'w']], 'pages seen in at least half of the reports');
  t.same(got.unchanged, [[15, 20, 'w']]);
  t.same(got.written, [[3, 4, 'w'], [7, 10, 'w']], 'only the pages the child wrote');
  t.same(got.populated, [[3, 4, 'w'], [7, 10, 'w'], [20, 24, 'w']], 'populate copies the run ahead of any write');
  t.same(got.values_kept, [1, 1], "the parent's pages are untouched");
});
