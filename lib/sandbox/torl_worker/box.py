"""The worker's box without bubblewrap: new PID, mount, network, IPC and UTS namespaces
(and a user namespace when not root), a read-only view of the machine's root with
private tmpfs over /tmp, /var/tmp, /root, /home, /run and /dev/shm, a minimal /dev, a
fresh /proc, loopback only, and only the capabilities the worker still needs.

`enter(box)` is called first thing by the worker. It unshares, forks, and returns in the
child, which is PID 1 of the new PID namespace (the snippets' signals cannot reach it,
and when it exits the kernel kills everything left inside). The parent stays outside as
a monitor: it only waits and exits with the child's status, so the pool's SIGKILL of the
process it started takes the box down with it (the child has PR_SET_PDEATHSIG).

What it never does: write anything outside the new mount namespace. Everything it mounts
lives and dies with the box.
"""
import ctypes
import fcntl
import os
import select
import signal
import socket
import struct
import sys

CLONE_NEWNS, CLONE_NEWCGROUP, CLONE_NEWUTS, CLONE_NEWIPC = 0x00020000, 0x02000000, 0x04000000, 0x08000000
CLONE_NEWUSER, CLONE_NEWPID, CLONE_NEWNET = 0x10000000, 0x20000000, 0x40000000
MS_RDONLY, MS_NOSUID, MS_NODEV, MS_NOEXEC = 1, 2, 4, 8
MS_REMOUNT, MS_BIND, MS_REC, MS_PRIVATE = 32, 4096, 16384, 1 << 18
MNT_DETACH = 2
AT_FDCWD, AT_RECURSIVE = -100, 0x8000
MOUNT_ATTR_RDONLY, MOUNT_ATTR_NOSUID = 0x1, 0x2
SYS_MOUNT_SETATTR = 442  # the same number on every architecture (Linux 5.12)
SYS_PIVOT_ROOT = {'x86_64': 155, 'aarch64': 41}
PR_SET_PDEATHSIG, PR_CAPBSET_DROP = 1, 24
SIOCGIFFLAGS, SIOCSIFFLAGS, IFF_UP, IFF_RUNNING = 0x8913, 0x8914, 0x1, 0x40
# What the worker keeps as root: enough to drop each child to its own uid, then kill,
# chown and remove what that uid left. Everything else leaves the bounding set too.
ROOT_CAPS = {'CAP_CHOWN': 0, 'CAP_DAC_OVERRIDE': 1, 'CAP_FOWNER': 3, 'CAP_KILL': 5, 'CAP_SETGID': 6, 'CAP_SETUID': 7}
DEV_NODES = ('null', 'zero', 'full', 'random', 'urandom', 'tty')
DEV_LINKS = {'fd': '/proc/self/fd', 'stdin': '/proc/self/fd/0', 'stdout': '/proc/self/fd/1', 'stderr': '/proc/self/fd/2', 'ptmx': 'pts/ptmx'}

libc = ctypes.CDLL(None, use_errno=True)
libc.mount.argtypes = [ctypes.c_char_p, ctypes.c_char_p, ctypes.c_char_p, ctypes.c_ulong, ctypes.c_char_p]


class BoxError(OSError):
    """A step of the box set-up failed: the message names the step and the path."""


def check(rc, what):
    if rc != 0:
        e = ctypes.get_errno()
        raise BoxError(e, '%s: %s' % (what, os.strerror(e)))


def mount(src, target, fstype, flags, data=None):
    enc = lambda s: None if s is None else s.encode()
    check(libc.mount(enc(src), enc(target), enc(fstype), flags, enc(data)), 'mount %s on %s' % (src or fstype, target))


def umount(target):
    check(libc.umount2(target.encode(), MNT_DETACH), 'umount %s' % target)


def pivot_root(new, old):
    nr = SYS_PIVOT_ROOT.get(os.uname().machine)
    if nr is None:
        raise BoxError(0, 'pivot_root: unknown syscall number on %s' % os.uname().machine)
    check(libc.syscall(ctypes.c_long(nr), new.encode(), old.encode()), 'pivot_root %s' % new)


def write_file(path, text):
    fd = os.open(path, os.O_WRONLY)
    try:
        os.write(fd, text.encode())
    finally:
        os.close(fd)


def mount_points_under(root):
    """Mount points at or below `root`, from /proc/self/mountinfo (octal escapes decoded)."""
    out = []
    with open('/proc/self/mountinfo', 'rb') as f:
        for line in f:
            point = line.split()[4].decode('unicode_escape').encode('latin-1').decode('utf-8', 'surrogateescape')
            if point == root or point.startswith(root.rstrip('/') + '/'):
                out.append(point)
    return out


class MountAttr(ctypes.Structure):
    _fields_ = [('attr_set', ctypes.c_uint64), ('attr_clr', ctypes.c_uint64), ('propagation', ctypes.c_uint64), ('userns_fd', ctypes.c_uint64)]


def make_readonly(root):
    """Read-only and nosuid for the whole mount tree at `root`: one mount_setattr where
    the kernel has it (5.12+), else a remount of each mount keeping its locked flags."""
    attr = MountAttr(MOUNT_ATTR_RDONLY | MOUNT_ATTR_NOSUID, 0, 0, 0)
    if libc.syscall(ctypes.c_long(SYS_MOUNT_SETATTR), AT_FDCWD, root.encode(), AT_RECURSIVE, ctypes.byref(attr), ctypes.sizeof(attr)) == 0:
        return
    for point in mount_points_under(root):
        try:
            st = os.statvfs(point)
        except OSError:
            continue  # a mount point we cannot reach (hidden below another mount)
        keep = st.f_flag & (MS_NODEV | MS_NOEXEC) | (os.ST_NOATIME if st.f_flag & os.ST_NOATIME else 0)
        rc = libc.mount(None, point.encode(), None, MS_REMOUNT | MS_BIND | MS_RDONLY | MS_NOSUID | keep, None)
        if rc != 0 and point == root:
            check(rc, 'remount %s read-only' % point)


def bind(src, dst, readonly):
    if os.path.isdir(src):
        os.makedirs(dst, exist_ok=True)
    else:
        os.makedirs(os.path.dirname(dst), exist_ok=True)
        os.close(os.open(dst, os.O_CREAT | os.O_WRONLY, 0o644))
    mount(src, dst, None, MS_BIND | MS_REC)
    if readonly:
        make_readonly(dst)


def build_dev(dev):
    """A minimal /dev as bubblewrap's --dev builds it: the harmless nodes bound from the
    machine, the usual links, a private /dev/shm and a new devpts instance."""
    mount('tmpfs', dev, 'tmpfs', MS_NOSUID | MS_NOEXEC, 'mode=0755')
    for name in DEV_NODES:
        if os.path.exists('/oldroot/dev/' + name):
            bind('/oldroot/dev/' + name, dev + '/' + name, False)
    for name, target in DEV_LINKS.items():
        os.symlink(target, dev + '/' + name)
    os.mkdir(dev + '/shm')
    mount('tmpfs', dev + '/shm', 'tmpfs', MS_NOSUID | MS_NODEV, 'mode=1777')
    os.mkdir(dev + '/pts')
    if libc.mount(b'devpts', (dev + '/pts').encode(), b'devpts', MS_NOSUID | MS_NOEXEC, b'newinstance,ptmxmode=0666,mode=620') != 0:
        os.unlink(dev + '/ptmx')  # no ptys here (a user namespace without gid 5, say)


def build_root(box):
    """The new root, assembled on a scratch tmpfs with the machine's root at /oldroot,
    then pivoted into (the scratch tmpfs and /oldroot are unmounted)."""
    mount(None, '/', None, MS_REC | MS_PRIVATE)
    mount('tmpfs', '/tmp', 'tmpfs', MS_NOSUID | MS_NODEV, 'mode=0755')
    os.mkdir('/tmp/newroot')
    os.mkdir('/tmp/oldroot')
    pivot_root('/tmp', '/tmp/oldroot')
    os.chdir('/')
    mount('/oldroot', '/newroot', None, MS_BIND | MS_REC)
    make_readonly('/newroot')
    for d in box['hidden']:
        if os.path.isdir('/newroot' + d):
            mode = '1777' if d in box['worldWritable'] else '0755'
            mount('tmpfs', '/newroot' + d, 'tmpfs', MS_NOSUID | MS_NODEV, 'mode=' + mode)
    build_dev('/newroot/dev')
    mount('proc', '/newroot/proc', 'proc', MS_NOSUID | MS_NODEV | MS_NOEXEC)
    for d in box['dirs']:  # the way, in hidden dirs, to what is bound back (outermost first)
        if not os.path.isdir('/newroot' + d):
            os.mkdir('/newroot' + d, 0o755)
    for path in box['binds']:  # what the interpreter and the worker need from hidden dirs
        bind('/oldroot' + path, '/newroot' + path, True)
    umount('/oldroot')
    os.chdir('/newroot')
    pivot_root('.', '.')
    umount('.')
    os.chdir('/')


def loopback_up():
    s = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
    try:
        ifr = fcntl.ioctl(s, SIOCGIFFLAGS, struct.pack('16sH14x', b'lo', 0))
        flags = struct.unpack('16sH', ifr[:18])[1]
        fcntl.ioctl(s, SIOCSIFFLAGS, struct.pack('16sH14x', b'lo', flags | IFF_UP | IFF_RUNNING))
    finally:
        s.close()


class CapHeader(ctypes.Structure):
    _fields_ = [('version', ctypes.c_uint32), ('pid', ctypes.c_int)]


class CapData(ctypes.Structure):
    _fields_ = [('effective', ctypes.c_uint32), ('permitted', ctypes.c_uint32), ('inheritable', ctypes.c_uint32)]


def limit_caps(keep):
    """Only the capabilities numbered in `keep` stay: bounding set, effective, permitted;
    nothing inheritable or ambient."""
    with open('/proc/sys/kernel/cap_last_cap') as f:
        last = int(f.read())
    for cap in range(last + 1):
        if cap not in keep:
            check(libc.prctl(PR_CAPBSET_DROP, cap, 0, 0, 0), 'drop capability %d' % cap)
    mask = sum(1 << c for c in keep)
    data = (CapData * 2)(CapData(mask & 0xFFFFFFFF, mask & 0xFFFFFFFF, 0), CapData(mask >> 32, mask >> 32, 0))
    check(libc.capset(ctypes.byref(CapHeader(0x20080522, 0)), data), 'capset')


def monitor(child):
    """The process outside the box: waits for it and exits as it did."""
    for fd in (0, 1):
        os.close(fd)
    _, status = os.waitpid(child, 0)  # (retried on EINTR by Python itself)
    if os.WIFSIGNALED(status):
        sig = os.WTERMSIG(status)
        signal.signal(sig, signal.SIG_DFL)
        os.kill(os.getpid(), sig)
    os._exit(os.waitstatus_to_exitcode(status) & 0xFF)


def enter(box):
    """Puts the calling process in the box; returns in the boxed child (PID 1). `box`:
    {'user': unshare a user namespace too (not root), 'hidden': dirs covered by tmpfs,
    'worldWritable': which of them are mode 1777, 'binds': paths bound back read-only,
    'dirs': the directories on the way to them, made mode 0755}."""
    uid, gid = os.getuid(), os.getgid()
    flags = CLONE_NEWNS | CLONE_NEWPID | CLONE_NEWNET | CLONE_NEWIPC | CLONE_NEWUTS
    check(libc.unshare(flags | (CLONE_NEWUSER if box['user'] else 0)), 'unshare(user=%s)' % box['user'])
    libc.unshare(CLONE_NEWCGROUP)  # where allowed: the snippet sees its own cgroup root
    if box['user']:  # our uid and gid map to themselves: os.getuid() reads as outside
        write_file('/proc/self/setgroups', 'deny')
        write_file('/proc/self/uid_map', '%d %d 1' % (uid, uid))
        write_file('/proc/self/gid_map', '%d %d 1' % (gid, gid))
    alive_r, alive_w = os.pipe()  # EOF once the monitor is gone (getppid() reads 0 here)
    child = os.fork()
    if child != 0:
        os.close(alive_r)
        monitor(child)
    os.close(alive_w)
    check(libc.prctl(PR_SET_PDEATHSIG, signal.SIGKILL, 0, 0, 0), 'prctl(PDEATHSIG)')
    if select.select([alive_r], [], [], 0)[0]:
        os._exit(1)  # the monitor died before PDEATHSIG was set
    os.close(alive_r)
    build_root(box)
    loopback_up()
    # As root the worker drops each child to an unprivileged uid, which needs a few
    # capabilities; in a user namespace the children keep the worker's uid, so it keeps none.
    limit_caps(set() if box['user'] else set(ROOT_CAPS.values()))
