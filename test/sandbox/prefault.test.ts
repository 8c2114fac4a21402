// The worker's page prefaulting (lib/sandbox/torl_worker/prefault.py: written_pages, populate, Ahead, Learned),
// checked in a plain Python process against the kernel's own page map.
import { execFileSync } from 'node:child_process';
import t from 'tap';
import { WORKER_DIR } from '../../lib/sandbox/python-sandbox.js';

const SCRIPT = String.raw`
import importlib, json, mmap, os, sys
sys.path.insert(0, os.path.dirname(sys.argv[1]))
w = importlib.import_module('torl_worker.prefault')
out = {}

# A fresh learner: a hostile report is clipped to the given ranges, junk entries dropped.
L = w.Learned()
out['changed'] = [L.add([[0, 15], 'junk', [5, 3], [None, 2], [31, 33], [45, 1 << 40]], [(10, 20), (30, 40)])]
out['clipped'] = L.runs
out['changed'].append(L.add([[10, 10 + w.Learned.MAX_PAGES + 1]], [(0, 1 << 30)]))  # too large: dropped whole
out['capped'] = L.runs
# Pages kept: those in at least half of the reports so far.
L = w.Learned()
for rep in ([[10, 20]], [[15, 25]], [[15, 20]]):
    L.add(rep, [(0, 100)])
out['majority'] = L.runs
out['changed'].append(L.add(None, [(0, 100)]))  # no report: nothing changes
out['unchanged'] = L.runs

# written_pages after fork: exactly the pages the child wrote are its own.
m = mmap.mmap(-1, 64 * mmap.PAGESIZE, flags=mmap.MAP_PRIVATE | mmap.MAP_ANONYMOUS)
for i in range(64):
    m[i * mmap.PAGESIZE] = 1  # present (and shared after the fork)
import ctypes
base = ctypes.addressof(ctypes.c_char.from_buffer(m)) // mmap.PAGESIZE
gone = mmap.mmap(-1, mmap.PAGESIZE, flags=mmap.MAP_PRIVATE | mmap.MAP_ANONYMOUS)
gone_page = ctypes.addressof(ctypes.c_char.from_buffer(gone)) // mmap.PAGESIZE
gone.close()  # unmapped: a run there fails
r, wr = os.pipe()
pid = os.fork()
if pid == 0:
    m[3 * mmap.PAGESIZE] = 2
    for i in (7, 8, 9):
        m[i * mmap.PAGESIZE] = 2
    ranges = [(base, base + 64)]
    res = [w.written_pages(ranges)]
    w.populate([[base + 20, base + 24]])  # copied now, without a write
    res.append(w.written_pages(ranges))
    w.Ahead([[base + 30, base + 32], [base + 40, base + 41]]).apply()  # one process_madvise
    res.append(w.written_pages(ranges))
    w.Ahead([[base + 50, base + 51], [gone_page, gone_page + 1], [base + 60, base + 62]]).apply()  # stops at the hole: one madvise per run
    res.append(w.written_pages(ranges))
    os.write(wr, json.dumps([[[a - base, b - base] for a, b in x] for x in res]).encode())
    os._exit(0)
os.close(wr)
out['written'], out['populated'], out['ahead'], out['ahead_hole'] = json.loads(os.read(r, 1 << 16))
os.waitpid(pid, 0)
out['values_kept'] = [m[i * mmap.PAGESIZE] for i in (3, 20, 30, 60)]
out['ranges_have_m'] = any(a <= base and base + 64 <= b for a, b in w.mapped_ranges())
print(json.dumps(out))
`;

t.test('prefault: clipping, majority vote, page map after fork, copies ahead', async (t) => {
  const got = JSON.parse(execFileSync('python3', ['-B', '-c', SCRIPT, WORKER_DIR], { encoding: 'utf8' })) as Record<string, unknown>;
  t.same(got.clipped, [[10, 15], [31, 33]], 'a hostile report is clipped to the zygote mappings');
  t.same(got.capped, [[10, 15], [31, 33]], 'a report past MAX_PAGES is dropped');
  t.same(got.majority, [[15, 20]], 'pages seen in at least half of the reports');
  t.same(got.unchanged, [[15, 20]]);
  t.same(got.changed, [true, false, false], 'add() says whether the runs changed');
  t.same(got.written, [[3, 4], [7, 10]], 'only the pages the child wrote');
  t.same(got.populated, [[3, 4], [7, 10], [20, 24]], 'populate copies the run ahead of any write');
  t.same(got.ahead, [[3, 4], [7, 10], [20, 24], [30, 32], [40, 41]], 'Ahead copies its runs (process_madvise)');
  t.same(got.ahead_hole, [[3, 4], [7, 10], [20, 24], [30, 32], [40, 41], [50, 51], [60, 62]], 'a run no longer mapped: the others are still copied');
  t.same(got.values_kept, [1, 1, 1, 1], "the parent's pages are untouched");
  t.ok(got.ranges_have_m, 'mapped_ranges lists a private writable mapping');
});
