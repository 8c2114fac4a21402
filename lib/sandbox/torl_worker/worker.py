"""The worker's main loop: the JSON-lines protocol with the client, one spare per request,
a zygote that died replaced once."""
import json
import os
import shutil
import signal
import sys

from .base import PR_SET_CHILD_SUBREAPER, PR_SET_DUMPABLE, PR_SET_PDEATHSIG, prctl, write_all
from .box import enter
from .cleanup import killpg, remove_entries, sweep, uid_in_use
from .serve import Spare, serve
from .zygote import Zygote, ZygoteGone


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


def fatal(msg):
    """The one line a worker that cannot start sends instead of its hello."""
    sys.stdout.write(json.dumps({'fatal': msg}) + '\n')
    sys.stdout.flush()


def main():
    cfg = json.loads(sys.argv[1])
    # Asked on the machine's process table, before any box hides it.
    if cfg.get('uid') is not None and uid_in_use(cfg['uid']):
        return fatal('uid %d is already used by a process on this machine; choose another uidBase' % cfg['uid'])
    if cfg['box'] is not None:
        try:
            enter(cfg['box'])
        except OSError as e:
            return fatal('cannot build the box: %s' % e)
        # Not dumpable: the worker's /proc/<pid>/mem and friends are closed to the
        # snippets, which in a user namespace share its uid (the children make themselves
        # dumpable again, for their own /proc/self).
        prctl(PR_SET_DUMPABLE, 0)
        # PID 1 receives only the signals it handles: Python's SIGINT handler would let a
        # snippet interrupt the worker. (Each child sets its own dispositions.)
        signal.signal(signal.SIGINT, signal.SIG_IGN)
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
    if cfg['uid'] is not None:
        remove_entries(cfg['sharedDirs'], uid=cfg['uid'])
