"""A spare's life: forked by the zygote, it hands the worker its pipes, prepares, waits
for its request, runs it and writes its status line (and, measured, its page report)."""
import fcntl
import json
import os
import resource
import signal
import socket
import sys
import types

from .base import CTL_FD, EXIT, PR_SET_PDEATHSIG, SETUP_FAILED, STATUS_FD, libc, prctl, read_all
from .limits import child_limit, child_prepare
from .prefault import mapped_ranges, written_pages
from .snippet import child_run, python_c_world


def place_fds(targets):
    """dup2 each source onto its target number (sources may sit on targets), then close
    every other descriptor the fork inherited."""
    high = {t: fcntl.fcntl(src, fcntl.F_DUPFD_CLOEXEC, 64) for t, src in targets.items()}
    for t, h in high.items():
        os.dup2(h, t, inheritable=t <= 2)
    os.closerange(max(targets) + 1, resource.getrlimit(resource.RLIMIT_NOFILE)[0])


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
        python_c_world()
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
    setsig, kill, SIGINT, SIG_DFL = signal.signal, os.kill, signal.SIGINT, signal.SIG_DFL
    streams = (sys.stdout, sys.stderr)
    exit_code, exc_name = child_run(req['code'])
    for stream in streams + (sys.stdout, sys.stderr):
        try:
            stream.flush()
        except BaseException:
            pass
    if exc_name is not None and exit_code == 130:
        # An uncaught KeyboardInterrupt: as `python3 -c`, the process ends by SIGINT after
        # its traceback and exit handlers (no status line: the worker reports the signal
        # from the wait status), or exits 130 where SIGINT is blocked.
        try:
            setsig(SIGINT, SIG_DFL)
            kill(getpid(), SIGINT)
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
