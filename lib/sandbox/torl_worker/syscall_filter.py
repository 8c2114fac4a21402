"""The seccomp filter: the syscalls a snippet is denied, compiled once to a BPF program
that each child installs."""
import ctypes
import errno
import importlib.machinery
import importlib.util
import os
import socket

from .base import libc, read_all


PR_SET_SECCOMP = 22
SECCOMP_MODE_FILTER = 2
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
