"""torl sandbox worker: serves Python snippets, one JSON line in, one JSON line out.

Started by lib/sandbox/worker-process.ts with one argument, a JSON config. Protocol on
stdin/stdout (the worker moves them to private descriptors and points fds 0/1 at
/dev/null, so a stray print never corrupts it):

  -> {"id", "code", "timeoutMs", "memoryMb", "stdin", "files"}
  <- {"id", "status", "returnCode", "stdout", "stderr", "wallMs", "cpuMs", "truncated"}
  <- {"warm": true}      after each response, once the next child is forked

At start the worker imports the preload modules, warms them up, freezes the GC heap, and
writes {"ready": true, ...} with what it found. Each request runs in a fresh child forked
ahead of time ("spare"): the child starts its own session, waits for its request, then
limits itself (rlimits, scratch cwd, scrubbed env, uid drop, no-new-privs, seccomp) and
runs the code. The worker is a child subreaper, so everything the snippet spawns is
found and killed when the request ends.

Page faults are most of a small snippet's cost: each page a forked child first writes is
copied on a fault, and on paravirtualised machines a fault costs 10-20 us, so a trivial
snippet's few hundred faults cost more than the snippet. The Prefault learner measures
which pages the children touch and has every spare map them with one madvise per run
of pages while it waits: in the kernel (~5 us a page here instead of 15-20) and off the
critical path.
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
MADV_POPULATE_READ, MADV_POPULATE_WRITE = 22, 23  # Linux 5.14
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
# by this process only) -> 1 where the page counts as touched, else 0.
TOUCHED_W = bytes(1 if b & 0x81 == 0x81 else 0 for b in range(256))  # written: a private copy
TOUCHED_R = bytes(1 if b & 0x80 else 0 for b in range(256))  # mapped (read faults)
RUN = re.compile(rb'\x01+')


def mapped_ranges():
    """[(start page, end page, 'w' | 'r')] of this process: private writable mappings
    (written pages are copied after fork) and read-only file mappings (fork does not copy
    their page tables, so each page read is a fault in the child)."""
    out = []
    with open('/proc/self/maps') as f:
        for line in f:
            fields = line.split()
            perms, name = fields[1], fields[5] if len(fields) > 5 else ''
            if perms[3] != 'p' or name.startswith('[v'):
                continue
            kind = 'w' if perms[:2] == 'rw' else ('r' if perms[0] == 'r' and name.startswith('/') else None)
            if kind:
                a, b = (int(v, 16) // PAGE for v in fields[0].split('-'))
                out.append((a, b, kind))
    return out


def touched_pages(ranges):
    """The pages of `ranges` this process has touched since its fork, as runs [a, b, kind]."""
    runs = []
    with open('/proc/self/pagemap', 'rb', buffering=0) as f:
        for a, b, kind in ranges:
            f.seek(a * 8)
            flags = f.read((b - a) * 8)[7::8].translate(TOUCHED_W if kind == 'w' else TOUCHED_R)
            runs.extend([a + m.start(), a + m.end(), kind] for m in RUN.finditer(flags))
    return runs


def populate(runs):
    """Maps the runs now: writable pages copied, file pages mapped. Failures (a run no
    longer mapped) only cost the faults they would have saved."""
    for a, b, kind in runs:
        libc.madvise(ctypes.c_void_p(a * PAGE), ctypes.c_size_t((b - a) * PAGE),
                     MADV_POPULATE_WRITE if kind == 'w' else MADV_POPULATE_READ)


class Learned:
    """Page runs to map ahead: the pages touched in at least half of the last KEEP reports.
    Reports of a child come from the snippet's own process, so every report is clipped to
    the worker's mappings and capped: at worst MAX_PAGES of the worker's own pages are
    copied in vain."""
    KEEP, MAX_PAGES = 8, 16384

    def __init__(self):
        self.reports = deque(maxlen=self.KEEP)
        self.runs = []

    def add(self, runs, ranges):
        if runs is None:  # no report (killed, or its scan failed)
            return
        pages = set()
        for a, b, kind in clip(runs, ranges):
            if len(pages) + b - a > self.MAX_PAGES:
                return
            pages.update((p, kind) for p in range(a, b))
        self.reports.append(pages)
        counts = Counter(p for r in self.reports for p in r)
        keep = sorted(p for p, n in counts.items() if 2 * n >= len(self.reports))[:self.MAX_PAGES]
        self.runs = []
        for page, kind in keep:
            last = self.runs[-1] if self.runs else None
            if last is not None and last[1] == page and last[2] == kind:
                last[1] += 1
            else:
                self.runs.append([page, page + 1, kind])


class Prefault:
    """What each spare maps ahead (`child`), and what the worker copies of its own pages
    while it waits for a request (`worker`: the pages its serving loop writes, which
    would otherwise fault on the critical path). Learned from measured requests: the first
    FIRST spares, then one in EVERY. A measured spare maps nothing ahead and reports its
    pages after its status line; the worker scans its own pages after answering. A
    witness process forked beside a measured spare keeps every page shared that only one
    side wrote, so "mapped by this process only" means "written by this process"."""
    FIRST, EVERY = 4, 32

    def __init__(self):
        self.child, self.worker = Learned(), Learned()
        self.spares = 0

    def next_measures(self):
        """Whether the spare about to be forked is measured (counts it)."""
        self.spares += 1
        return self.spares <= self.FIRST or self.spares % self.EVERY == 0


def clip(runs, ranges):
    """The parts of the reported runs inside `ranges` with the same kind."""
    out = []
    for run in runs if isinstance(runs, list) else ():
        try:
            a, b, kind = int(run[0]), int(run[1]), str(run[2])
        except (TypeError, ValueError, IndexError):
            continue
        for lo, hi, k in ranges:
            if k == kind and a < hi and b > lo:
                out.append((max(a, lo), min(b, hi), kind))
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
    and the utf-8 stdio objects are the worker's own, set once at its start: each page a
    child writes costs a copy-on-write fault, so the child touches as little as it can.)
    (No other process of this uid exists meanwhile: the worker forks the spare only
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


def child_main(ctl_r, out_w, err_w, st_w, cfg, scratch, ahead, measure):
    """`ahead`: page runs to map now; `measure`: the ranges whose touched pages this child
    reports after its status line (a measured child maps nothing ahead)."""
    populate(ahead)
    os.setsid()
    prctl(PR_SET_PDEATHSIG, signal.SIGKILL)
    place_fds({0: os.memfd_create('stdin'), 1: out_w, 2: err_w, STATUS_FD: st_w, CTL_FD: ctl_r})
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
    write, dumps, getpid, getrusage, _exit, touched = os.write, json.dumps, os.getpid, resource.getrusage, os._exit, touched_pages
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
    if measure is not None:  # after the status: the request is answered meanwhile
        try:
            write(STATUS_FD, (dumps({'pid': getpid(), 'touched': touched(measure)}) + '\n').encode())
        except BaseException:
            pass
    _exit(exit_code)


# ---------------------------------------------------------------- the worker ---------

def fork():
    """fork(2) without CPython's at-fork machinery when the worker is single-threaded:
    os.fork's after-fork handlers (thread and lock re-initialisation, logging, random…)
    touch a few hundred pages, each a copy-on-write fault in the child. With one thread
    no lock can be held by another, and child_prepare reseeds `random` itself."""
    if len(os.listdir('/proc/self/task')) != 1:
        return os.fork()
    pid = libc.fork()
    if pid < 0:
        e = ctypes.get_errno()
        raise OSError(e, 'fork: %s' % os.strerror(e))
    return pid


def fork_witness():
    """A child that only waits for EOF on a pipe: (pid, the pipe's write end)."""
    r, w = os.pipe()
    pid = fork()
    if pid == 0:
        try:
            prctl(PR_SET_PDEATHSIG, signal.SIGKILL)
            os.closerange(3, r)  # nothing of the worker's (its protocol pipes above all)
            os.closerange(r + 1, resource.getrlimit(resource.RLIMIT_NOFILE)[0])
            os.read(r, 1)
        finally:
            EXIT(0)
    os.close(r)
    return pid, w


class Spare:
    """A child forked ahead of time, waiting for its request on a pipe."""

    def __init__(self, cfg, prefault):
        self.scratch = cfg['scratch']
        # A measured spare reports the pages it touched within the worker's mappings.
        self.measure = mapped_ranges() if prefault.next_measures() else None
        self.witness = fork_witness() if self.measure else None
        shutil.rmtree(self.scratch, ignore_errors=True)
        cfg['baseVm'] = vm_size_bytes()
        ctl_r, self.ctl_w = os.pipe()
        self.out_r, out_w = os.pipe()
        self.err_r, err_w = os.pipe()
        self.st_r, st_w = os.pipe()
        self.pids_before = set(os.listdir('/proc'))
        pid = fork()
        if pid == 0:  # the child never returns into the worker's loop
            try:
                for fd in (self.ctl_w, self.out_r, self.err_r, self.st_r):
                    os.close(fd)
                child_main(ctl_r, out_w, err_w, st_w, cfg, self.scratch, [] if self.measure else prefault.child.runs, self.measure)
            finally:
                EXIT(SETUP_FAILED)
        self.pid = pid
        for fd in (ctl_r, out_w, err_w, st_w):
            os.close(fd)
        os.read(self.st_r, 1)  # the child is prepared (or dead: EOF)

    def learn(self, prefault, report):
        """A measured spare: the worker's own written pages, and the child's report."""
        try:  # a kernel without a readable page map: nothing is learned
            own = touched_pages([r for r in self.measure if r[2] == 'w'])
        except OSError:
            own = None
        prefault.worker.add(own, self.measure)
        prefault.child.add(report, self.measure)
        pid, fd = self.witness
        os.close(fd)  # the witness reads EOF and exits
        os.waitpid(pid, 0)

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


def serve(req, spare, cfg, prefault):
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
    reporting = final is not None and 'exit' in final and spare.measure is not None
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
        if spare.measure is not None:  # a measured child's page report follows its status
            spare.learn(prefault, read_report(spare, status_lines) if reporting else None)
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
        return next((m for m in self.msgs if 'touched' not in m), None)

    def report(self):
        return next((m['touched'] for m in self.msgs if 'touched' in m), None)


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


MADV_COLLAPSE = 25  # Linux 6.1
HUGE = 2 << 20


def collapse_heap():
    """Backs the preloaded heap with 2 MiB pages where the kernel can: fork then copies one
    entry per 2 MiB instead of 512, and exit frees them as fast (measured here: fork
    4.5 -> 3.4 ms, a child's exit 6.5 -> 5.6 ms). A child's first write to such a page
    still copies only 4 KiB (the kernel splits the mapping), and new memory stays in 4 KiB
    pages (no MADV_HUGEPAGE). Failures change nothing."""
    for a, b, kind in mapped_ranges():
        lo, hi = -(-a * PAGE // HUGE) * HUGE, b * PAGE // HUGE * HUGE
        if kind == 'w' and hi > lo:
            libc.madvise(ctypes.c_void_p(lo), ctypes.c_size_t(hi - lo), MADV_COLLAPSE)


class Requests:
    """Request lines from the client, and whether one is waiting."""

    def __init__(self, fd):
        self.fd, self.buf = fd, bytearray()

    def waiting(self):
        return b'\n' in self.buf or bool(select.select([self.fd], [], [], 0)[0])

    def next(self):
        """The next line (blocking); None at end of input."""
        while b'\n' not in self.buf:
            b = os.read(self.fd, 1 << 16)
            if not b:
                return None
            self.buf += b
        line, _, rest = bytes(self.buf).partition(b'\n')
        self.buf = bytearray(rest)
        return line


def populate_while_idle(runs, requests, chunk=16):
    """Copies the worker's own pages that its next request will write (after a fork they
    are shared with the spare, so each first write faults on the critical path), but only
    while no request waits: under load the faults cost no more than the copies."""
    for i in range(0, len(runs), chunk):
        if requests.waiting():
            return
        populate(runs[i:i + chunk])


def main():
    cfg = json.loads(sys.argv[1])
    proto_in = Requests(os.dup(0))
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
    # One scratch path per worker (it serves one request at a time and removes the
    # directory before forking the next child); the children inherit this environment.
    os.makedirs(cfg['scratchRoot'], exist_ok=True)
    os.chmod(cfg['scratchRoot'], 0o711)  # the snippet's uid may pass through, not list
    cfg['scratch'] = os.path.join(cfg['scratchRoot'], 'run')
    os.environ.clear()
    os.environ.update(cfg['env'], HOME=cfg['scratch'], TMPDIR=cfg['scratch'])
    for stream, errors in ((sys.stdin, 'surrogateescape'), (sys.stdout, 'surrogateescape'), (sys.stderr, 'backslashreplace')):
        stream.reconfigure(encoding='utf-8', errors=errors)
    gc.collect()
    gc.freeze()  # children never touch the preloaded heap's GC headers: fewer copied pages
    collapse_heap()
    prefault = Prefault()
    spare = Spare(cfg, prefault)
    send({
        'ready': True, 'pid': os.getpid(), 'python': sys.version.split()[0], 'executable': sys.executable,
        'preloaded': preloaded, 'failed': failed,
        'modules': {m: module_version(m) for m in ('numpy', 'sympy', 'scipy')},
        'seccomp': cfg['filter'] is not None, 'seccompError': seccomp_error,
    })
    while True:
        line = proto_in.next()
        if line is None:
            break
        response, cleanup = serve(json.loads(line), spare, cfg, prefault)
        send(response)
        cleanup()
        spare = Spare(cfg, prefault)
        if spare.measure is None:
            populate_while_idle(prefault.worker.runs, proto_in)
        send({'warm': True})
    os.kill(spare.pid, signal.SIGKILL)
    os.waitpid(spare.pid, 0)
    if spare.witness is not None:
        os.kill(spare.witness[0], signal.SIGKILL)
        os.waitpid(spare.witness[0], 0)
    shutil.rmtree(spare.scratch, ignore_errors=True)


if __name__ == '__main__':
    main()
