"""The page learner and the copies ahead: which pages the children write, and having
each spare copy them as soon as it is forked."""
import ctypes
import os
import re
import struct
from collections import Counter, deque

from .base import PAGE, SYSCALL, libc


MADV_POPULATE_WRITE = 23  # Linux 5.14
SYS_PROCESS_MADVISE = 440  # Linux 5.10, the same number on every architecture


# One byte per page (byte 7 of each 64-bit pagemap entry: bit 63 present, bit 56 mapped
# by this process only) -> 1 where the page is this process's own copy, else 0.
WRITTEN = bytes(1 if b & 0x81 == 0x81 else 0 for b in range(256))
RUN = re.compile(rb'\x01+')


def mapped_ranges(pid='self'):
    """[(start page, end page)] of a process's private writable mappings: after a fork,
    each page of them either side writes is copied."""
    out = []
    with open('/proc/%s/maps' % pid) as f:
        for line in f:
            fields = line.split()
            name = fields[5] if len(fields) > 5 else ''
            if fields[1][:2] == 'rw' and fields[1][3] == 'p' and not name.startswith('[v'):
                out.append(tuple(int(v, 16) // PAGE for v in fields[0].split('-')))
    return out


def written_pages(ranges):
    """The pages of `ranges` this process has written since its fork, as runs [a, b]."""
    runs = []
    with open('/proc/self/pagemap', 'rb', buffering=0) as f:
        for a, b in ranges:
            f.seek(a * 8)
            flags = f.read((b - a) * 8)[7::8].translate(WRITTEN)
            runs.extend([a + m.start(), a + m.end()] for m in RUN.finditer(flags))
    return runs


def populate(runs):
    """Copies the runs' pages now, one madvise per run. Failures (a run no longer mapped)
    only cost the faults they would have saved."""
    for a, b in runs:
        libc.madvise(ctypes.c_void_p(a * PAGE), ctypes.c_size_t((b - a) * PAGE), MADV_POPULATE_WRITE)


class Ahead:
    """The page runs a spare copies as soon as it is forked. Each copy ahead costs ~6 us
    here instead of a ~17 us copy-on-write fault later (measured, paravirtualised);
    pages that are only read are not mapped ahead: their first touch in a new process
    costs about as much either way, so mapping them ahead only added work. Kept in the
    zygote (the spare inherits them) as one struct iovec array that the spare hands to
    process_madvise(2), one system call per IOV_MAX runs: the kernel only reads the array,
    so using it copies no page. Where process_madvise refuses (kernels before 6.13 take
    only a few advices) or a run is no longer mapped, that part is done one madvise per run."""
    IOV_MAX = 1024

    def __init__(self, runs):
        iov = b''.join(struct.pack('QQ', a * PAGE, (b - a) * PAGE) for a, b in runs)
        self.iov = ctypes.create_string_buffer(iov, len(iov) or 1)
        self.parts = []  # (first, count, bytes, runs)
        for i in range(0, len(runs), self.IOV_MAX):
            part = runs[i:i + self.IOV_MAX]
            self.parts.append((i, len(part), sum(b - a for a, b in part) * PAGE, part))

    def apply(self):
        pidfd = os.pidfd_open(os.getpid())
        for first, count, size, runs in self.parts:
            if SYSCALL(SYS_PROCESS_MADVISE, pidfd, ctypes.byref(self.iov, first * 16), count, MADV_POPULATE_WRITE, 0) != size:
                populate(runs)
        os.close(pidfd)


class Learned:
    """Page runs to copy ahead: the pages written in at least half of the last KEEP
    reports. Reports come from the snippet's own process, so every report is clipped to
    the zygote's mappings and capped: at worst MAX_PAGES of the zygote's pages are copied
    in vain by each spare."""
    KEEP, MAX_PAGES = 8, 16384

    def __init__(self):
        self.reports = deque(maxlen=self.KEEP)
        self.runs = []

    def add(self, runs, ranges):
        """Counts one report; whether the runs changed."""
        if runs is None:  # no report (killed, or its scan failed)
            return False
        pages = set()
        for a, b in clip(runs, ranges):
            if len(pages) + b - a > self.MAX_PAGES:
                return False
            pages.update(range(a, b))
        self.reports.append(pages)
        counts = Counter(p for r in self.reports for p in r)
        keep = sorted(p for p, n in counts.items() if 2 * n >= len(self.reports))[:self.MAX_PAGES]
        runs = []
        for page in keep:
            if runs and runs[-1][1] == page:
                runs[-1][1] += 1
            else:
                runs.append([page, page + 1])
        changed, self.runs = runs != self.runs, runs
        return changed


class Prefault:
    """What each spare copies ahead, learned from measured spares: the first FIRST, then
    one in EVERY. A measured spare copies nothing ahead and reports the pages it wrote
    after its status line (see `fork_witness` for why the report is exact)."""
    FIRST, EVERY = 4, 32

    def __init__(self):
        self.learned = Learned()
        self.spares = 0

    def next_measures(self):
        """Whether the spare about to be forked is measured (counts it)."""
        self.spares += 1
        return self.spares <= self.FIRST or self.spares % self.EVERY == 0


def clip(runs, ranges):
    """The parts of the reported runs inside `ranges`."""
    out = []
    for run in runs if isinstance(runs, list) else ():
        try:
            a, b = int(run[0]), int(run[1])
        except (TypeError, ValueError, IndexError):
            continue
        for lo, hi in ranges:
            if a < hi and b > lo:
                out.append((max(a, lo), min(b, hi)))
    return out
