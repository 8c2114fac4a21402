"""The zygote: the process that preloads the modules and then only forks spares, and the
worker's handle on it (start, ask for a spare, teach it the pages to copy ahead, end)."""
import ctypes
import gc
import importlib
import importlib.metadata
import importlib.util
import json
import os
import select
import signal
import socket
import sys
import time

from .base import EXIT, ERRNO, PAGE, PR_SET_PDEATHSIG, SETUP_FAILED, SYSCALL, libc, prctl, read_all, read_exact, vm_size_bytes, write_all
from .child import child_main
from .prefault import Ahead, Prefault, mapped_ranges
from .syscall_filter import compile_filter


WARMUPS = {
    'sympy': "x = sympy.Symbol('x'); sympy.solve(x**2 - 2, x); sympy.simplify(sympy.sin(x)**2 + sympy.cos(x)**2); sympy.Rational(1, 3) + 1",
    'numpy': "numpy.linalg.solve(numpy.eye(3), numpy.ones(3)); numpy.arange(10).sum()",
}


def module_version(name):
    if importlib.util.find_spec(name) is None:
        return None
    try:
        return importlib.metadata.version(name)
    except Exception:
        return 'unknown'


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
    # The spares' snippets inherit this process's modules: ours are dropped (their
    # functions keep their own globals), and so is runpy, which only ran __main__.py.
    for name in [m for m in sys.modules if m in ('torl_worker', 'runpy') or m.startswith('torl_worker.')]:
        del sys.modules[name]
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
    try:
        cfg['filter'] = compile_filter(cfg['blockNetwork'])
    except KeyError as e:  # an architecture without a syscall table
        seccomp_error = str(e)
    # The spares inherit this environment and these stdio objects.
    os.environ.clear()
    os.environ.update(cfg['env'], HOME=cfg['scratch'], TMPDIR=cfg['scratch'])
    for stream, errors in ((sys.stdin, 'surrogateescape'), (sys.stdout, 'surrogateescape'), (sys.stderr, 'backslashreplace')):
        stream.reconfigure(encoding='utf-8', errors=errors)
    spawn = clone_parent if SYS_CLONE is not None and len(os.listdir('/proc/self/task')) == 1 else fork_orphan
    gc.collect()
    gc.freeze()  # children never touch the preloaded heap's GC headers: fewer copied pages
    collapse_heap()
    # With its mappings as they now stay: the worker clips the spares' page reports to
    # them (reading our /proc/<pid>/maps would need ptrace rights over a process that is
    # not dumpable, which a worker in a user namespace never has).
    write_all(hello, json.dumps({
        'python': sys.version.split()[0], 'executable': sys.executable,
        'preloaded': preloaded, 'failed': failed,
        'modules': {m: module_version(m) for m in ('numpy', 'sympy', 'scipy')},
        'seccomp': cfg['filter'] is not None, 'seccompError': seccomp_error,
        'ranges': mapped_ranges(),
    }).encode())
    os.close(hello)
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
        self.mappings = [tuple(r) for r in self.hello.pop('ranges')]
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

    def learn(self, report):
        """Counts a measured spare's page report (None when it sent none); the zygote
        is told when the runs to copy ahead change."""
        learned = self.prefault.learned
        if learned.add(report, self.mappings):
            try:
                self.teach(learned.runs)
            except ZygoteGone:
                pass  # killed meanwhile (a snippet sharing our uid can): the next spawn() says so

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
