"""torl sandbox worker: serves Python snippets, one JSON line in, one JSON line out.

Started by lib/sandbox/worker-process.ts with one argument, a JSON config. Protocol on
stdin/stdout (the worker moves them to private descriptors and points fds 0/1 at
/dev/null, so a stray print never corrupts it):

  -> {"id", "code", "timeoutMs", "memoryMb", "stdin", "files"}
  <- {"id", "status", "returnCode", "stdout", "stderr", "wallMs", "cpuMs", "truncated"}
  <- {"warm": true}      after each response, once the next child is forked

Two processes: the worker (this script's first process: protocol, supervision, output,
clean-up; it never imports the preload modules) and its zygote, forked at start, which
imports the preload modules, warms them up, freezes the GC heap and then only forks.
The worker writes {"ready": true, ...} with what the zygote found. Each request runs in a
fresh child forked ahead of time ("spare") by the zygote as the *worker's* child
(clone with CLONE_PARENT): the spare hands the worker its ends of four pipes over a
socket, starts its own session, waits for its request, then limits itself (rlimits,
scratch cwd, scrubbed env, uid drop, no-new-privs, seccomp) and runs the code. The worker
is the spare's parent and a child subreaper, so it reaps the spare and finds and kills
everything the snippet spawns when the request ends.

Page faults are most of a small snippet's cost: after a fork every page either side
first writes is copied on a fault, and on paravirtualised machines a fault costs 10-20
us. Hence the split: the zygote's loop is one read and one clone, so it writes a few
pages per fork, while the worker, whose per-request Python code writes hundreds of
pages, shares its memory with no one. And the Prefault learner measures which pages the
children write and has every spare copy them as soon as it is forked (process_madvise):
~6 us a page here instead of a ~17 us fault, and off the critical path.
"""
import codecs
import ctypes
import errno
import fcntl
import gc
import importlib
import importlib.machinery
import importlib.metadata
import importlib.util
import json
import re
import os
import resource
import select
import shutil
import signal
import socket
import struct
import sys
import time
import traceback
import types
from collections import Counter, deque

PR_SET_PDEATHSIG = 1
PR_SET_DUMPABLE = 4
PR_SET_CHILD_SUBREAPER = 36
PR_SET_NO_NEW_PRIVS = 38
PR_SET_SECCOMP = 22
SECCOMP_MODE_FILTER = 2
SETUP_FAILED = 121  # exit code of a child whose setup (not the snippet) failed
STATUS_FD = 3  # the child's private channel for its final status line
CTL_FD = 4  # where the child reads its request
MADV_POPULATE_WRITE = 23  # Linux 5.14
SYS_PROCESS_MADVISE = 440  # Linux 5.10, the same number on every architecture
PAGE = resource.getpagesize()

WARMUPS = {
    'sympy': "x = sympy.Symbol('x'); sympy.solve(x**2 - 2, x); sympy.simplify(sympy.sin(x)**2 + sympy.cos(x)**2); sympy.Rational(1, 3) + 1",
    'numpy': "numpy.linalg.solve(numpy.eye(3), numpy.ones(3)); numpy.arange(10).sum()",
}
# Syscalls a snippet never needs and that reach outside its box (EPERM).
DENIED_SYSCALLS = [
    'ptrace', 'process_vm_readv', 'process_vm_writev', 'unshare', 'setns', 'mount',
    'umount2', 'pivot_root', 'chroot', 'keyctl', 'add_key', 'request_key', 'bpf',
    'perf_event_open', 'userfaultfd', 'kexec_load', 'kexec_file_load', 'init_module',
    'finit_module', 'delete_module', 'open_by_handle_at', 'name_to_handle_at', 'swapon',
    'swapoff', 'reboot', 'syslog', 'acct', 'quotactl', 'ioperm', 'iopl', 'fsopen',
    'fsmount', 'fsconfig', 'move_mount', 'open_tree', 'fspick', 'mount_setattr',
    'io_uring_setup', 'io_uring_enter', 'io_uring_register', 'pidfd_getfd',
]
# clone() flags that create namespaces (one rule per bit: any of them denies).
CLONE_NS_FLAGS = [0x00020000, 0x02000000, 0x04000000, 0x08000000, 0x10000000, 0x20000000, 0x40000000]

libc = ctypes.CDLL(None, use_errno=True)
# The calls made right after a fork: without ctypes' errno bookkeeping, which writes
# (and so copies) pages on every call (measured: 44 -> 28 faults per fork in the zygote).
SYSCALL = ctypes.CDLL(None).syscall
SYSCALL.restype = ctypes.c_long
ERRNO = ctypes.CDLL(None).__errno_location
ERRNO.restype = ctypes.POINTER(ctypes.c_int)
EXIT = os._exit  # bound once: a snippet may rebind os._exit


def prctl(option, arg):
    if libc.prctl(option, ctypes.c_ulong(arg), ctypes.c_ulong(0), ctypes.c_ulong(0), ctypes.c_ulong(0)) != 0:
        e = ctypes.get_errno()
        raise OSError(e, 'prctl(%d): %s' % (option, os.strerror(e)))


def load_seccomp():
    """The libseccomp binding: importable directly, or Debian's python3-seccomp build when
    its ABI matches this interpreter (Debian installs it for /usr/bin/python3 only)."""
    try:
        import seccomp
        return seccomp, None
    except ImportError:
        pass
    for d in ('/usr/lib/python3/dist-packages', '/usr/lib/python3/site-packages'):
        for suffix in importlib.machinery.EXTENSION_SUFFIXES:
            path = os.path.join(d, 'seccomp' + suffix)
            if os.path.exists(path):
                try:
                    spec = importlib.util.spec_from_file_location('seccomp', path)
                    mod = importlib.util.module_from_spec(spec)
                    spec.loader.exec_module(mod)
                    return mod, None
                except Exception as e:  # wrong ABI or missing libseccomp
                    return None, '%s: %s' % (path, e)
    return None, 'python3-seccomp not found for this interpreter'


class SockFprog(ctypes.Structure):
    _fields_ = [('len', ctypes.c_ushort), ('filter', ctypes.c_void_p)]


def compile_filter(sc, block_network):
    """The seccomp program as a ready-to-install BPF buffer: libseccomp compiles it once
    here (its own load() costs milliseconds per child; installing the program costs ~0.3)."""
    r, w = os.pipe()
    with os.fdopen(w, 'wb') as out:
        build_filter(sc, block_network).export_bpf(out)
    code = read_all(r)
    os.close(r)
    buf = ctypes.create_string_buffer(code, len(code))
    return SockFprog(len(code) // 8, ctypes.cast(buf, ctypes.c_void_p)), buf


def install_filter(prog):
    if libc.prctl(PR_SET_SECCOMP, SECCOMP_MODE_FILTER, ctypes.byref(prog), 0, 0) != 0:
        e = ctypes.get_errno()
        raise OSError(e, 'seccomp: %s' % os.strerror(e))


def build_filter(sc, block_network):
    f = sc.SyscallFilter(defaction=sc.ALLOW)
    deny = sc.ERRNO(errno.EPERM)
    for name in DENIED_SYSCALLS:
        try:
            f.add_rule(deny, name)
        except (RuntimeError, ValueError):
            pass  # not a syscall on this architecture
    f.add_rule(sc.ERRNO(errno.ENOSYS), 'clone3')  # flags unreadable by seccomp: libc falls back to clone
    for bit in CLONE_NS_FLAGS:
        f.add_rule(deny, 'clone', sc.Arg(0, sc.MASKED_EQ, bit, bit))
    if block_network:
        f.add_rule(sc.ERRNO(errno.EACCES), 'socket', sc.Arg(0, sc.NE, socket.AF_UNIX))
    return f


def module_version(name):
    if importlib.util.find_spec(name) is None:
        return None
    try:
        return importlib.metadata.version(name)
    except Exception:
        return 'unknown'


def read_exact(fd, n):
    chunks = []
    while n:
        b = os.read(fd, n)
        if not b:
            raise EOFError('pipe closed %d bytes early' % n)
        chunks.append(b)
        n -= len(b)
    return b''.join(chunks)


def read_all(fd):
    chunks = []
    while True:
        b = os.read(fd, 1 << 16)
        if not b:
            return b''.join(chunks)
        chunks.append(b)


def write_all(fd, data):
    view = memoryview(data)
    while view:
        view = view[os.write(fd, view):]


def vm_size_bytes():
    with open('/proc/self/statm', 'rb') as f:
        return int(f.read().split()[0]) * PAGE


# ---------------------------------------------------------------- prefaulting --------

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


# ---------------------------------------------------------------- the child ----------

def place_fds(targets):
    """dup2 each source onto its target number (sources may sit on targets), then close
    every other descriptor the fork inherited."""
    high = {t: fcntl.fcntl(src, fcntl.F_DUPFD_CLOEXEC, 64) for t, src in targets.items()}
    for t, h in high.items():
        os.dup2(h, t, inheritable=t <= 2)
    os.closerange(max(targets) + 1, resource.getrlimit(resource.RLIMIT_NOFILE)[0])


def child_prepare(cfg, scratch):
    """Everything that does not depend on the request, done while the spare waits for
    one: scratch cwd, rlimits, uid drop, no-new-privs, seccomp. (The scrubbed environment
    and the utf-8 stdio objects are the zygote's own, set once at its start: each page a
    child writes costs a copy-on-write fault, so the child touches as little as it can.)
    (No other process of this uid exists meanwhile: the worker asks for the spare only
    after the previous request's processes are all gone.)"""
    uid = cfg['uid']
    os.mkdir(scratch, 0o700)
    if uid is not None:
        os.chown(scratch, uid, uid)
    os.chdir(scratch)
    import atexit
    atexit._clear()  # the worker's exit handlers are not the snippet's
    for sig in (signal.SIGINT, signal.SIGTERM, signal.SIGCHLD, signal.SIGALRM):
        signal.signal(sig, signal.SIG_DFL)
    for name in ('random', 'numpy.random'):  # a fresh interpreter seeds from the OS
        mod = sys.modules.get(name)
        if mod is not None:
            mod.seed()
    resource.setrlimit(resource.RLIMIT_FSIZE, (cfg['maxFileBytes'], cfg['maxFileBytes']))
    resource.setrlimit(resource.RLIMIT_CORE, (0, 0))
    if uid is not None:
        resource.setrlimit(resource.RLIMIT_NPROC, (cfg['maxProcesses'], cfg['maxProcesses']))
        os.setgroups([])
        os.setresgid(uid, uid, uid)
        os.setresuid(uid, uid, uid)
    prctl(PR_SET_PDEATHSIG, signal.SIGKILL)  # cleared by the uid change, so set again
    # The uid change also made the child non-dumpable, which makes /proc/self root's:
    # the snippet (and the page report) could not read its own /proc/self as `python3 -c`
    # can. Only the snippet's own uid gains access; ptrace stays denied by seccomp.
    prctl(PR_SET_DUMPABLE, 1)
    prctl(PR_SET_NO_NEW_PRIVS, 1)
    if cfg['filter'] is not None:
        install_filter(cfg['filter'][0])


def child_limit(req, scratch, base_vm):
    """The request's own limits and inputs."""
    if req['stdin']:
        write_all(0, req['stdin'].encode('utf-8', 'surrogateescape'))
        os.lseek(0, 0, os.SEEK_SET)
    mem = req['memoryMb'] * 1024 * 1024 + base_vm
    resource.setrlimit(resource.RLIMIT_AS, (mem, mem))
    cpu = cpu_seconds(req)
    resource.setrlimit(resource.RLIMIT_CPU, (cpu, cpu + 1))
    for name, content in (req.get('files') or {}).items():
        path = os.path.join(scratch, name)
        os.makedirs(os.path.dirname(path), exist_ok=True)
        fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
        write_all(fd, content.encode('utf-8', 'surrogateescape'))
        os.close(fd)


def cpu_seconds(req):
    return max(1, -(-req['timeoutMs'] // 1000))


REHEARSAL = json.dumps({'id': 0, 'code': 'def f(a):\n    return [a * i for i in range(3)]\nx = f(2)', 'timeoutMs': 1000, 'memoryMb': 1, 'stdin': ''})


def rehearse():
    """Walks the request's path once on a dummy (parse, compile, exec, write nothing,
    report), so the pages it reads are mapped in this new process before the request
    comes: on paravirtualised machines the first touch of each page in a new process
    costs microseconds even when no page fault is counted."""
    req = json.loads(REHEARSAL)
    exec(compile(req['code'], '<string>', 'exec'), types.ModuleType('__rehearsal__').__dict__)
    for stream in (sys.stdout, sys.stderr):
        stream.write('')
        stream.flush()
    usage = resource.getrusage(resource.RUSAGE_SELF)
    json.dumps({'pid': 0, 'exit': 0, 'exc': None, 'cpuMs': usage.ru_utime * 1000})


def child_run(code):
    """Runs the snippet like `python3 -c`; returns (exit code, uncaught exception name)."""
    main = types.ModuleType('__main__')
    main.__builtins__ = __builtins__
    sys.modules['__main__'] = main
    sys.argv = ['-c']
    exit_code, exc_name = 0, None
    try:
        exec(compile(code, '<string>', 'exec'), main.__dict__)
    except SystemExit as e:
        if e.code is None:
            exit_code = 0
        elif isinstance(e.code, int):
            exit_code = e.code & 0xFF
        else:
            print(e.code, file=sys.stderr)
            exit_code = 1
    except BaseException as e:
        exc_name = type(e).__name__
        try:  # without the harness's own frame, as `python3 -c` prints it
            traceback.print_exception(type(e), e, e.__traceback__.tb_next)
        except BaseException:  # out of memory, or the snippet broke traceback/sys
            try:
                os.write(2, ('%s\n' % exc_name).encode())
            except BaseException:
                pass
        exit_code = 1
    try:
        import threading
        threading._shutdown()  # join non-daemon threads, as interpreter exit does
        import atexit
        atexit._run_exitfuncs()
    except BaseException:
        pass
    return exit_code, exc_name


def fork_witness():
    """Forks a process that only sleeps until its parent, a measured spare, exits. Every
    page neither of them writes stays shared with it, so a page the spare finds "mapped by
    this process only" in its page map is one the spare wrote (and not one the zygote
    left to the spare alone by writing its own copy meanwhile)."""
    if libc.fork() == 0:
        try:
            prctl(PR_SET_PDEATHSIG, signal.SIGKILL)
            os.closerange(0, resource.getrlimit(resource.RLIMIT_NOFILE)[0])
            while True:
                signal.pause()
        finally:
            EXIT(0)


def child_main(chan, cfg, measure, ahead):
    """A spare, just forked by the zygote as the worker's child. It copies the pages it
    will write (`ahead`), hands the worker its ends of four pipes (request, stdout, stderr,
    status), prepares, says so on the status pipe and waits for its request. A measured
    spare (`measure`) copies nothing ahead and reports the pages it wrote after its status."""
    if measure:
        fork_witness()
        measure = mapped_ranges()
    else:
        ahead.apply()
    prctl(PR_SET_PDEATHSIG, signal.SIGKILL)
    (ctl_r, ctl_w), (out_r, out_w), (err_r, err_w), (st_r, st_w) = (os.pipe() for _ in range(4))
    socket.send_fds(chan, [b'%d' % os.getpid()], [ctl_w, out_r, err_r, st_r])
    for fd in (ctl_w, out_r, err_r, st_r):
        os.close(fd)
    os.setsid()
    place_fds({0: os.memfd_create('stdin'), 1: out_w, 2: err_w, STATUS_FD: st_w, CTL_FD: ctl_r})
    scratch = cfg['scratch']
    try:
        child_prepare(cfg, scratch)
        rehearse()
        error = None
    except BaseException as e:
        error = e
    os.write(STATUS_FD, b'\n')  # prepared: the worker may now announce itself warm
    data = read_all(CTL_FD)
    if not data:
        os._exit(0)  # the worker is shutting down
    os.close(CTL_FD)
    try:
        if error is not None:
            raise error
        req = json.loads(data)
        child_limit(req, scratch, cfg['baseVm'])
    except BaseException as e:
        try:
            os.write(STATUS_FD, (json.dumps({'pid': os.getpid(), 'setupError': '%s: %s' % (type(e).__name__, e)}) + '\n').encode())
        finally:
            os._exit(SETUP_FAILED)
    # The snippet may rebind anything in os, json, resource, sys: keep our own references.
    write, dumps, getpid, getrusage, _exit, written = os.write, json.dumps, os.getpid, resource.getrusage, os._exit, written_pages
    streams = (sys.stdout, sys.stderr)
    exit_code, exc_name = child_run(req['code'])
    for stream in streams + (sys.stdout, sys.stderr):
        try:
            stream.flush()
        except BaseException:
            pass
    try:
        usage, kids = getrusage(resource.RUSAGE_SELF), getrusage(resource.RUSAGE_CHILDREN)
        cpu_ms = (usage.ru_utime + usage.ru_stime + kids.ru_utime + kids.ru_stime) * 1000
        write(STATUS_FD, (dumps({'pid': getpid(), 'exit': exit_code, 'exc': exc_name, 'cpuMs': cpu_ms}) + '\n').encode())
    except BaseException:
        pass  # the worker falls back to the wait status
    if measure:  # after the status: the request is answered meanwhile
        try:
            write(STATUS_FD, (dumps({'pid': getpid(), 'written': written(measure)}) + '\n').encode())
        except BaseException:
            pass
    _exit(exit_code)


# ---------------------------------------------------------------- the zygote ---------

MADV_COLLAPSE = 25  # Linux 6.1
HUGE = 2 << 20


def collapse_heap():
    """Backs the preloaded heap with 2 MiB pages where the kernel can: fork then copies one
    entry per 2 MiB instead of 512, and exit frees them as fast (measured here: fork
    4.5 -> 3.4 ms, a child's exit 6.5 -> 5.6 ms). A child's first write to such a page
    still copies only 4 KiB (the kernel splits the mapping), and new memory stays in 4 KiB
    pages (no MADV_HUGEPAGE). Failures change nothing."""
    for a, b in mapped_ranges():
        lo, hi = -(-a * PAGE // HUGE) * HUGE, b * PAGE // HUGE * HUGE
        if hi > lo:
            libc.madvise(ctypes.c_void_p(lo), ctypes.c_size_t(hi - lo), MADV_COLLAPSE)


CLONE_FLAGS = 0x00008000 | int(signal.SIGCHLD)  # CLONE_PARENT; a plain int (not an enum) is cheaper on every fork
SYS_CLONE = {'x86_64': 56, 'aarch64': 220, 'ppc64le': 120, 's390x': 120, 'riscv64': 220}.get(os.uname().machine)


def clone_parent():
    """fork(2) whose child is the caller's parent's child: clone(CLONE_PARENT) without a
    new stack, so the child returns here on a copy of ours. Only in a single-threaded
    process: libc's fork handlers (and CPython's) are skipped, and each page they would
    write is a copy-on-write fault in the child; with one thread no lock can be held."""
    pid = SYSCALL(SYS_CLONE, CLONE_FLAGS, 0, 0, 0, 0)
    if pid < 0:
        e = ERRNO().contents.value
        raise OSError(e, 'clone: %s' % os.strerror(e))
    return pid


def fork_orphan():
    """The same for a multi-threaded zygote (a preload started threads): a regular fork
    whose child forks the spare and exits, so the spare is re-parented to the worker
    (the nearest subreaper)."""
    pid = os.fork()
    if pid == 0:
        parent = os.getpid()
        if libc.fork() != 0:
            EXIT(0)
        while os.getppid() == parent:  # re-parented before it asks for a parent-death signal
            time.sleep(0.0005)
        return 0
    os.waitpid(pid, 0)
    return pid


def zygote(cfg, cmd, chan, hello):
    """The zygote's life: preload, say what was found on `hello`, then serve commands from
    `cmd` until EOF: "f" forks a spare, "m" a measured one, "r" + length + JSON replaces
    the page runs spares copy ahead. After each fork every page it writes is a
    copy-on-write fault, so a fork costs it one read and one clone; a clone that fails is
    reported on `chan` in place of the spare's pipes."""
    prctl(PR_SET_PDEATHSIG, signal.SIGKILL)
    preloaded, failed = [], {}
    for name in cfg['preload']:
        try:
            mod = importlib.import_module(name)
            if name in WARMUPS:
                exec(WARMUPS[name], {name: mod})
            preloaded.append(name)
        except Exception as e:
            failed[name] = '%s: %s' % (type(e).__name__, e)
    seccomp_error = None
    cfg['filter'] = None
    if cfg['seccomp']:
        sc, seccomp_error = load_seccomp()
        if sc is not None:
            cfg['filter'] = compile_filter(sc, cfg['blockNetwork'])
    # The spares inherit this environment and these stdio objects.
    os.environ.clear()
    os.environ.update(cfg['env'], HOME=cfg['scratch'], TMPDIR=cfg['scratch'])
    for stream, errors in ((sys.stdin, 'surrogateescape'), (sys.stdout, 'surrogateescape'), (sys.stderr, 'backslashreplace')):
        stream.reconfigure(encoding='utf-8', errors=errors)
    write_all(hello, json.dumps({
        'python': sys.version.split()[0], 'executable': sys.executable,
        'preloaded': preloaded, 'failed': failed,
        'modules': {m: module_version(m) for m in ('numpy', 'sympy', 'scipy')},
        'seccomp': cfg['filter'] is not None, 'seccompError': seccomp_error,
    }).encode())
    os.close(hello)
    spawn = clone_parent if SYS_CLONE is not None and len(os.listdir('/proc/self/task')) == 1 else fork_orphan
    gc.collect()
    gc.freeze()  # children never touch the preloaded heap's GC headers: fewer copied pages
    collapse_heap()
    read, ahead = os.read, Ahead([])
    cfg['baseVm'] = vm_size_bytes()  # a spare's memory limit is counted on top of this
    while True:
        b = read(cmd, 1)
        if b == b'r':
            ahead = Ahead(json.loads(read_exact(cmd, int.from_bytes(read_exact(cmd, 8), 'little'))))
            cfg['baseVm'] = vm_size_bytes()
            continue
        if not b:
            EXIT(0)
        try:
            pid = spawn()
        except OSError as e:
            chan.send(str(e).encode())
            continue
        if pid == 0:
            try:
                child_main(chan, cfg, b == b'm', ahead)
            finally:
                EXIT(SETUP_FAILED)


# ---------------------------------------------------------------- the worker ---------

class ZygoteGone(RuntimeError):
    """The zygote is dead, or answers no more."""


class Zygote:
    """The worker's end of its zygote: started here, asked for one spare at a time, and
    taught the pages its spares copy ahead (learned anew for each zygote: another
    zygote's memory is laid out anew)."""
    SPAWN_TIMEOUT_S = 60

    def __init__(self, cfg, keep_closed):
        """Forks the zygote and waits for what it preloaded (its hello, a dict).
        `keep_closed`: descriptors of the worker the zygote must not hold."""
        self.chan, chan = socket.socketpair(socket.AF_UNIX, socket.SOCK_SEQPACKET)
        cmd_r, self.cmd = os.pipe()
        hello_r, hello_w = os.pipe()
        self.pid = os.fork()
        if self.pid == 0:
            try:
                for fd in keep_closed + [self.chan.fileno(), self.cmd, hello_r]:
                    os.close(fd)
                zygote(cfg, cmd_r, chan, hello_w)
            finally:
                EXIT(SETUP_FAILED)
        chan.close()
        os.close(cmd_r)
        os.close(hello_w)
        data = read_all(hello_r)
        os.close(hello_r)
        if not data:
            os.waitpid(self.pid, 0)
            raise ZygoteGone('the zygote died while importing %s (see stderr)' % ', '.join(cfg['preload']))
        self.hello = json.loads(data)
        self.prefault = Prefault()

    def spawn(self, measure):
        """A new spare: (its pid, [request w, stdout r, stderr r, status r])."""
        try:
            os.write(self.cmd, b'm' if measure else b'f')
        except BrokenPipeError:
            raise ZygoteGone('the zygote died') from None
        if not select.select([self.chan], [], [], self.SPAWN_TIMEOUT_S)[0]:
            raise ZygoteGone('no spare from the zygote in %d s' % self.SPAWN_TIMEOUT_S)
        msg, fds, _, _ = socket.recv_fds(self.chan, 4096, 4)
        if len(fds) != 4:
            for fd in fds:
                os.close(fd)
            raise ZygoteGone('the zygote could not fork: %s' % (msg.decode(errors='replace') or 'it died'))
        return int(msg), fds

    def ranges(self):
        """The zygote's mappings: what a spare's page report is clipped to."""
        return mapped_ranges(self.pid)

    def learn(self, report):
        """Counts a measured spare's page report (None when it sent none); the zygote
        is told when the runs to copy ahead change."""
        learned = self.prefault.learned
        if learned.add(report, self.ranges()):
            self.teach(learned.runs)

    def teach(self, runs):
        """The page runs the next spares copy ahead."""
        data = json.dumps(runs).encode()
        try:
            write_all(self.cmd, b'r' + len(data).to_bytes(8, 'little') + data)
        except BrokenPipeError:
            raise ZygoteGone('the zygote died') from None

    def close(self, kill=False):
        """Ends the zygote: EOF on its commands, or SIGKILL when it no longer answers."""
        os.close(self.cmd)
        self.chan.close()
        if kill:
            try:
                os.kill(self.pid, signal.SIGKILL)
            except ProcessLookupError:
                pass
        try:
            os.waitpid(self.pid, 0)
        except ChildProcessError:
            pass  # already reaped by a sweep


class Spare:
    """A child forked ahead of time, prepared and waiting for its request on a pipe."""

    def __init__(self, zygote, cfg):
        self.scratch = cfg['scratch']
        self.measure = zygote.prefault.next_measures()
        shutil.rmtree(self.scratch, ignore_errors=True)
        self.pids_before = set(os.listdir('/proc'))
        self.pid, (self.ctl_w, self.out_r, self.err_r, self.st_r) = zygote.spawn(self.measure)
        os.read(self.st_r, 1)  # the child is prepared (or dead: EOF)

    def close_fds(self):
        for fd in (self.ctl_w, self.out_r, self.err_r, self.st_r):
            try:
                os.close(fd)
            except OSError:
                pass


class Capture:
    """Bytes of one stream, kept up to a limit; the excess is read and dropped."""

    def __init__(self, limit):
        self.limit, self.data, self.truncated = limit, bytearray(), False

    def add(self, b):
        room = self.limit - len(self.data)
        if len(b) > room:
            self.truncated = True
            b = b[:max(room, 0)]
        self.data += b

    def text(self):
        # Invalid bytes become U+FFFD one by one; a character cut by the limit is dropped.
        return codecs.getincrementaldecoder('utf-8')('replace').decode(bytes(self.data), final=not self.truncated)


def ppid_of(pid):
    try:
        with open('/proc/%s/stat' % pid, 'rb') as f:
            return int(f.read().rsplit(b')', 1)[1].split()[1])
    except (OSError, ValueError, IndexError):
        return None


def sweep(pids_before):
    """Kills and reaps every process the request left behind. The worker is a subreaper,
    so orphans are re-parented to it; killing a child re-parents its children in turn."""
    me = os.getpid()
    for _ in range(1000):
        kids = [int(p) for p in os.listdir('/proc') if p.isdigit() and p not in pids_before and ppid_of(p) == me]
        if not kids:
            break
        for p in kids:
            try:
                os.kill(p, signal.SIGKILL)
            except ProcessLookupError:
                pass
        for p in kids:
            try:
                os.waitpid(p, 0)
            except ChildProcessError:
                pass
    while True:
        try:
            pid, _ = os.waitpid(-1, os.WNOHANG)
        except ChildProcessError:
            break
        if pid == 0:
            break


def remove_owned(dirs, uid):
    """Removes what the snippet's uid left in world-writable directories it shares with
    the machine (rlimits mode: /tmp, /var/tmp, /dev/shm), so nothing carries over."""
    for d in dirs:
        try:
            entries = list(os.scandir(d))
        except OSError:
            continue
        for e in entries:
            try:
                if e.stat(follow_symlinks=False).st_uid != uid:
                    continue
                if e.is_dir(follow_symlinks=False):
                    shutil.rmtree(e.path, ignore_errors=True)
                else:
                    os.unlink(e.path)
            except OSError:
                pass


def signal_status(sig, cpu_ms, cpu_limit_s):
    if sig == signal.SIGXCPU or (sig == signal.SIGKILL and cpu_ms >= cpu_limit_s * 1000):
        return 'timeout'
    if sig in (signal.SIGSEGV, signal.SIGBUS, signal.SIGILL, signal.SIGFPE, signal.SIGABRT, signal.SIGSYS):
        return 'crashed'
    return 'killed'


def serve(req, spare, cfg, learn):
    """Runs `req` in `spare`: (the response, the clean-up to run after sending it).
    `learn` takes a measured spare's page report (None when it sent none)."""
    timeout_s = req['timeoutMs'] / 1000.0
    payload = json.dumps(req).encode()
    t0 = time.monotonic()
    try:
        write_all(spare.ctl_w, payload)
    except BrokenPipeError:
        pass  # the spare died: its wait status tells below
    os.close(spare.ctl_w)
    out, err = Capture(cfg['maxOutputBytes']), Capture(cfg['maxOutputBytes'])
    status_lines = StatusLines(spare.pid)
    pidfd = os.pidfd_open(spare.pid)
    poller = select.poll()
    streams = {spare.out_r: out, spare.err_r: err, spare.st_r: None}
    for fd in streams:
        os.set_blocking(fd, False)
        poller.register(fd, select.POLLIN)
    poller.register(pidfd, select.POLLIN)
    deadline = t0 + timeout_s
    exited = timed_out = False
    final = None
    while final is None and not exited:
        left = deadline - time.monotonic()
        if left <= 0:
            timed_out = True
            break
        for fd, _ in poller.poll(left * 1000):
            if fd == pidfd:
                exited = True
                continue
            try:
                b = os.read(fd, 1 << 16)
            except BlockingIOError:
                continue
            if not b:
                poller.unregister(fd)
            elif streams[fd] is not None:
                streams[fd].add(b)
            else:
                status_lines.add(b)
                final = status_lines.final()
    wall_ms = (time.monotonic() - t0) * 1000
    os.close(pidfd)
    # A child that sent its status exits by itself (a measured one after its page
    # report): its process group is killed after the answer, off the critical path
    # (killing wakes the child to tear down its memory, which can take the CPU for ms).
    reporting = final is not None and 'exit' in final and spare.measure
    reaped = None
    if final is None:  # out of time or died: kill its group, reap, then drain what is left
        killpg(spare.pid)
        reaped = os.wait4(spare.pid, 0)
        sweep(spare.pids_before)
    for fd, cap in streams.items():
        for _ in range(1024):  # bounded: a survivor may still be writing (swept below)
            try:
                b = os.read(fd, 1 << 16)
            except OSError:
                break
            if not b:
                break
            if cap is not None:
                cap.add(b)
            else:
                status_lines.add(b)
                final = status_lines.final()

    def cleanup():
        if spare.measure:  # a measured child's page report follows its status
            learn(read_report(spare, status_lines) if reporting else None)
        killpg(spare.pid)
        if reaped is None:
            os.wait4(spare.pid, 0)
            sweep(spare.pids_before)
        spare.close_fds()
        shutil.rmtree(spare.scratch, ignore_errors=True)
        remove_owned(cfg['sharedDirs'], cfg['uid'])

    cpu_limit_s = cpu_seconds(req)
    if final is not None and 'setupError' in final:
        status, code, cpu_ms = 'crashed', None, 0.0
        err.add(('sandbox setup failed: %s\n' % final['setupError']).encode())
    elif timed_out:
        status, code, cpu_ms = 'timeout', -signal.SIGKILL, usage_ms(reaped)
    elif final is not None:
        code, cpu_ms = final['exit'], final.get('cpuMs', 0.0)
        status = 'oom' if final.get('exc') == 'MemoryError' else ('ok' if code == 0 else 'error')
    else:
        cpu_ms, wait_status = usage_ms(reaped), reaped[1]
        code = os.waitstatus_to_exitcode(wait_status)
        if os.WIFSIGNALED(wait_status):
            status = signal_status(os.WTERMSIG(wait_status), cpu_ms, cpu_limit_s)
        else:
            status = 'ok' if code == 0 else 'error'
    return {
        'id': req['id'], 'status': status, 'returnCode': code,
        'stdout': out.text(), 'stderr': err.text(),
        'wallMs': round(wall_ms, 3), 'cpuMs': round(cpu_ms, 3),
        'truncated': out.truncated or err.truncated,
    }, cleanup


def usage_ms(reaped):
    usage = reaped[2]
    return (usage.ru_utime + usage.ru_stime) * 1000


class StatusLines:
    """The child's private status channel: its final status line, then (measured children)
    its page report. Kept up to LIMIT bytes and each line parsed once, so a snippet that
    floods the channel costs the worker linear time and bounded memory. Only lines from
    the child itself count (a process the snippet forked runs the same harness and
    reports its own pid)."""
    LIMIT = 4 << 20  # a page report of MAX_PAGES single-page runs is ~0.5 MB

    def __init__(self, pid):
        self.pid, self.buf, self.parsed, self.msgs = pid, bytearray(), 0, []

    def add(self, b):
        room = self.LIMIT - len(self.buf)
        if room <= 0:
            return
        self.buf += b[:room]
        start, end = self.parsed, self.buf.rfind(b'\n', self.parsed)
        if end < 0:
            return
        self.parsed = end + 1
        for line in bytes(self.buf[start:end]).split(b'\n'):
            try:
                msg = json.loads(line)
            except ValueError:
                continue
            if isinstance(msg, dict) and msg.get('pid') == self.pid:
                self.msgs.append(msg)

    def final(self):
        return next((m for m in self.msgs if 'written' not in m), None)

    def report(self):
        return next((m['written'] for m in self.msgs if 'written' in m), None)


def read_report(spare, lines, wait_s=1.0):
    """A measured child's page report: it scans its page map after its status line and
    then exits (bounded: a child that never reports is killed after `wait_s`)."""
    deadline = time.monotonic() + wait_s
    os.set_blocking(spare.st_r, True)
    while True:
        left = deadline - time.monotonic()
        if lines.report() is not None or left <= 0 or not select.select([spare.st_r], [], [], left)[0]:
            return lines.report()
        b = os.read(spare.st_r, 1 << 20)
        if not b:
            return None
        lines.add(b)


def killpg(pid):
    try:
        os.killpg(pid, signal.SIGKILL)
    except (ProcessLookupError, PermissionError):
        pass


def uid_in_use(uid):
    for p in os.listdir('/proc'):
        if p.isdigit():
            try:
                if os.stat('/proc/' + p).st_uid == uid:
                    return True
            except OSError:
                pass
    return False


def read_lines(fd):
    """Request lines from the client, one at a time; ends at end of input."""
    buf = b''
    while True:
        line, nl, rest = buf.partition(b'\n')
        if nl:
            buf = rest
            yield line
            continue
        b = os.read(fd, 1 << 16)
        if not b:
            return
        buf += b


def main():
    cfg = json.loads(sys.argv[1])
    proto_in = os.dup(0)
    proto_out = os.dup(1)
    null = os.open(os.devnull, os.O_RDWR)
    os.dup2(null, 0)
    os.dup2(null, 1)
    os.close(null)
    prctl(PR_SET_PDEATHSIG, signal.SIGKILL)
    prctl(PR_SET_CHILD_SUBREAPER, 1)

    def send(msg):
        write_all(proto_out, (json.dumps(msg, ensure_ascii=False) + '\n').encode('utf-8'))

    if cfg.get('uid') is not None and uid_in_use(cfg['uid']):
        send({'fatal': 'uid %d is already used by a process on this machine; choose another uidBase' % cfg['uid']})
        return
    # One scratch path per worker (it serves one request at a time and removes the
    # directory before the next spare is forked).
    os.makedirs(cfg['scratchRoot'], exist_ok=True)
    os.chmod(cfg['scratchRoot'], 0o711)  # the snippet's uid may pass through, not list
    cfg['scratch'] = os.path.join(cfg['scratchRoot'], 'run')
    try:
        zyg = Zygote(cfg, [proto_in, proto_out])
    except ZygoteGone as e:
        send({'fatal': str(e)})
        return

    def next_spare():
        """The next spare; a zygote that died (killed from outside) is replaced once."""
        nonlocal zyg
        try:
            return Spare(zyg, cfg)
        except ZygoteGone as e:
            sys.stderr.write('[torl sandbox worker] %s; starting another\n' % e)
            zyg.close(kill=True)
            zyg = Zygote(cfg, [proto_in, proto_out])
            return Spare(zyg, cfg)

    spare = next_spare()
    send(dict(zyg.hello, ready=True, pid=os.getpid()))
    for line in read_lines(proto_in):
        response, cleanup = serve(json.loads(line), spare, cfg, zyg.learn)
        send(response)
        cleanup()
        spare = next_spare()
        send({'warm': True})
    killpg(spare.pid)
    os.waitpid(spare.pid, 0)
    sweep(spare.pids_before)
    shutil.rmtree(spare.scratch, ignore_errors=True)
    zyg.close()


if __name__ == '__main__':
    main()
