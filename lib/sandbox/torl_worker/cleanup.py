"""Finding and killing what a request left behind: its processes, and its files in the
world-writable directories (the box's own, or, without a box, the machine's)."""
import os
import shutil
import signal


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


def remove_entries(dirs, keep=(), uid=None):
    """Removes what is in `dirs` but the paths in `keep`; with `uid`, only what that uid
    owns. In a box, after each request: the box's private /tmp, /var/tmp and /dev/shm
    hold nothing of the worker's but its scratch root, so nothing carries over to the
    next request. Without a box (rlimits), once at the end: the snippet uids' files in
    the machine's directories (scanning those after every request would cost each
    request a walk over the machine's /tmp)."""
    for d in dirs:
        try:
            entries = list(os.scandir(d))
        except OSError:
            continue
        for e in entries:
            try:
                if e.path in keep or (uid is not None and e.stat(follow_symlinks=False).st_uid != uid):
                    continue
                if e.is_dir(follow_symlinks=False):
                    shutil.rmtree(e.path, ignore_errors=True)
                else:
                    os.unlink(e.path)
            except OSError:
                pass


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
