"""The worker's side of one request: the spare it runs in, its output and deadline, its
status, and the clean-up after the answer."""
import codecs
import json
import os
import select
import shutil
import signal
import time

from .base import write_all
from .cleanup import killpg, remove_entries, sweep
from .limits import cpu_seconds


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
        # The scratch dir and anything beside it (a snippet with the worker's uid, in a
        # user namespace, can write there).
        remove_entries([cfg['scratchRoot']])
        remove_entries(cfg['privateDirs'], keep=cfg['keep'])

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
