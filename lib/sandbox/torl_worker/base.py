"""What the other modules share: prctl and libc calls, the child's descriptor numbers,
and reading and writing whole buffers on descriptors."""
import ctypes
import os
import resource


PR_SET_PDEATHSIG = 1
PR_SET_DUMPABLE = 4
PR_SET_CHILD_SUBREAPER = 36
PR_SET_NO_NEW_PRIVS = 38
SETUP_FAILED = 121  # exit code of a child whose setup (not the snippet) failed
STATUS_FD = 3  # the child's private channel for its final status line
CTL_FD = 4  # where the child reads its request
PAGE = resource.getpagesize()

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
