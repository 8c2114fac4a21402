"""A child's setup and limits: what it does once forked (scratch cwd, rlimits,
uid drop, seccomp), and what it does with its request (stdin, memory and CPU, files)."""
import os
import resource
import signal
import sys

from .base import PR_SET_DUMPABLE, PR_SET_NO_NEW_PRIVS, PR_SET_PDEATHSIG, libc, prctl, write_all
from .syscall_filter import install_filter


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
    for name in ('random', 'numpy.random'):  # a fresh interpreter seeds from the OS
        mod = sys.modules.get(name)
        if mod is not None:
            mod.seed()
    resource.setrlimit(resource.RLIMIT_FSIZE, (cfg['maxFileBytes'], cfg['maxFileBytes']))
    resource.setrlimit(resource.RLIMIT_CORE, (0, 0))
    if uid is not None:
        resource.setrlimit(resource.RLIMIT_NPROC, (cfg['maxProcesses'], cfg['maxProcesses']))
    elif cfg['userNamespace']:
        # The box's own user namespace: the kernel counts its processes of this uid, the
        # worker's own (worker, zygote, this spare) among them.
        n = cfg['maxProcesses'] + sum(name.isdigit() for name in os.listdir('/proc'))
        resource.setrlimit(resource.RLIMIT_NPROC, (n, n))
    if uid is not None:
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
        install_filter(cfg['filter'][0], libc)


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
