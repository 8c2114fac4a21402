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

PR_SET_PDEATHSIG = 1
PR_SET_CHILD_SUBREAPER = 36
PR_SET_NO_NEW_PRIVS = 38
PR_SET_SECCOMP = 22
SECCOMP_MODE_FILTER = 2
SETUP_FAILED = 121  # exit code of a child whose setup (not the snippet) failed
STATUS_FD = 3  # the child's private channel for its final status line
CTL_FD = 4  # where the child reads its request

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
        return int(f.read().split()[0]) * resource.getpagesize()


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


def child_main(ctl_r, out_w, err_w, st_w, cfg, scratch):
    os.setsid()
    prctl(PR_SET_PDEATHSIG, signal.SIGKILL)
    place_fds({0: os.memfd_create('stdin'), 1: out_w, 2: err_w, STATUS_FD: st_w, CTL_FD: ctl_r})
    try:
        child_prepare(cfg, scratch)
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
    write, dumps, getpid, getrusage, _exit = os.write, json.dumps, os.getpid, resource.getrusage, os._exit
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


class Spare:
    """A child forked ahead of time, waiting for its request on a pipe."""

    def __init__(self, cfg):
        self.scratch = cfg['scratch']
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
                child_main(ctl_r, out_w, err_w, st_w, cfg, self.scratch)
            finally:
                EXIT(SETUP_FAILED)
        self.pid = pid
        for fd in (ctl_r, out_w, err_w, st_w):
            os.close(fd)
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


def serve(req, spare, cfg):
    timeout_s = req['timeoutMs'] / 1000.0
    payload = json.dumps(req).encode()
    t0 = time.monotonic()
    try:
        write_all(spare.ctl_w, payload)
    except BrokenPipeError:
        pass  # the spare died: its wait status tells below
    os.close(spare.ctl_w)
    out, err = Capture(cfg['maxOutputBytes']), Capture(cfg['maxOutputBytes'])
    status_buf = bytearray()
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
                status_buf += b
                final = parse_status(status_buf, spare.pid)
    wall_ms = (time.monotonic() - t0) * 1000
    os.close(pidfd)
    try:  # the snippet is done or out of time: its process group goes first
        os.killpg(spare.pid, signal.SIGKILL)
    except (ProcessLookupError, PermissionError):
        pass
    reaped = None
    if final is None:  # the exit status decides: reap now, then drain what is left
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
            elif final is None:
                status_buf += b
                final = parse_status(status_buf, spare.pid)

    def cleanup():
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


def parse_status(buf, pid):
    """The child's final status line, if complete and from the child itself (a process
    the snippet forked runs the same harness and reports its own pid)."""
    for line in bytes(buf).split(b'\n')[:-1]:
        try:
            msg = json.loads(line)
        except ValueError:
            continue
        if isinstance(msg, dict) and msg.get('pid') == pid:
            return msg
    return None


def uid_in_use(uid):
    for p in os.listdir('/proc'):
        if p.isdigit():
            try:
                if os.stat('/proc/' + p).st_uid == uid:
                    return True
            except OSError:
                pass
    return False


def main():
    cfg = json.loads(sys.argv[1])
    proto_in = os.fdopen(os.dup(0), 'rb')
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
    spare = Spare(cfg)
    send({
        'ready': True, 'pid': os.getpid(), 'python': sys.version.split()[0], 'executable': sys.executable,
        'preloaded': preloaded, 'failed': failed,
        'modules': {m: module_version(m) for m in ('numpy', 'sympy', 'scipy')},
        'seccomp': cfg['filter'] is not None, 'seccompError': seccomp_error,
    })
    for line in proto_in:
        response, cleanup = serve(json.loads(line), spare, cfg)
        send(response)
        cleanup()
        spare = Spare(cfg)
        send({'warm': True})
    os.kill(spare.pid, signal.SIGKILL)
    os.waitpid(spare.pid, 0)
    shutil.rmtree(spare.scratch, ignore_errors=True)


if __name__ == '__main__':
    main()
