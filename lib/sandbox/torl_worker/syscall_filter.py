"""The seccomp filter every snippet runs under: a classic-BPF program assembled here (no
libseccomp) and installed with prctl(PR_SET_SECCOMP), after no-new-privs.

The program checks the architecture first (a call made through another ABI, e.g. int 0x80
on x86_64 or the x32 numbers, would bypass the numbers below: it is denied), then denies:
the syscalls a snippet never needs that reach outside its box (EPERM), clone() with any
namespace flag (EPERM), clone3 (ENOSYS: its flags sit behind a pointer seccomp cannot
read; libc then falls back to clone), and, where there is no network namespace, socket()
of any family but AF_UNIX (EACCES). Everything else is allowed.
"""
import ctypes
import errno
import os
import socket
import struct

PR_SET_SECCOMP = 22
SECCOMP_MODE_FILTER = 2

# Syscalls a snippet never needs and that reach outside its box (EPERM).
DENIED_SYSCALLS = [
    'ptrace', 'process_vm_readv', 'process_vm_writev', 'unshare', 'setns', 'mount',
    'umount2', 'pivot_root', 'chroot', 'keyctl', 'add_key', 'request_key', 'bpf',
    'perf_event_open', 'userfaultfd', 'kexec_load', 'kexec_file_load', 'init_module',
    'finit_module', 'delete_module', 'open_by_handle_at', 'name_to_handle_at', 'swapon',
    'swapoff', 'reboot', 'syslog', 'acct', 'quotactl', 'quotactl_fd', 'ioperm', 'iopl',
    'fsopen', 'fsmount', 'fsconfig', 'move_mount', 'open_tree', 'fspick', 'mount_setattr',
    'io_uring_setup', 'io_uring_enter', 'io_uring_register', 'pidfd_getfd',
    'lookup_dcookie', 'fanotify_init', 'vhangup', 'uselib',
]
# clone() flags that create namespaces: CLONE_NEWNS, NEWCGROUP, NEWUTS, NEWIPC, NEWUSER,
# NEWPID, NEWNET. (CLONE_NEWTIME exists for clone3 and unshare only: in clone's flags
# its bit is part of the exit signal.)
CLONE_NS_FLAGS = 0x00020000 | 0x02000000 | 0x04000000 | 0x08000000 | 0x10000000 | 0x20000000 | 0x40000000

# Per architecture: the AUDIT_ARCH value seccomp reports, and the syscall numbers (from
# the kernel's uapi tables: arch/x86/entry/syscalls/syscall_64.tbl, and the generic
# include/uapi/asm-generic/unistd.h that arm64 uses). Missing: not a syscall there.
ARCHES = {
    'x86_64': (0xC000003E, {
        'ptrace': 101, 'process_vm_readv': 310, 'process_vm_writev': 311, 'unshare': 272,
        'setns': 308, 'mount': 165, 'umount2': 166, 'pivot_root': 155, 'chroot': 161,
        'keyctl': 250, 'add_key': 248, 'request_key': 249, 'bpf': 321,
        'perf_event_open': 298, 'userfaultfd': 323, 'kexec_load': 246,
        'kexec_file_load': 320, 'init_module': 175, 'finit_module': 313,
        'delete_module': 176, 'open_by_handle_at': 304, 'name_to_handle_at': 303,
        'swapon': 167, 'swapoff': 168, 'reboot': 169, 'syslog': 103, 'acct': 163,
        'quotactl': 179, 'quotactl_fd': 443, 'ioperm': 173, 'iopl': 172, 'fsopen': 430,
        'fsmount': 432, 'fsconfig': 431, 'move_mount': 429, 'open_tree': 428,
        'fspick': 433, 'mount_setattr': 442, 'io_uring_setup': 425, 'io_uring_enter': 426,
        'io_uring_register': 427, 'pidfd_getfd': 438, 'lookup_dcookie': 212,
        'fanotify_init': 300, 'vhangup': 153, 'uselib': 134,
        'clone': 56, 'clone3': 435, 'socket': 41,
    }),
    'aarch64': (0xC00000B7, {
        'ptrace': 117, 'process_vm_readv': 270, 'process_vm_writev': 271, 'unshare': 97,
        'setns': 268, 'mount': 40, 'umount2': 39, 'pivot_root': 41, 'chroot': 51,
        'keyctl': 219, 'add_key': 217, 'request_key': 218, 'bpf': 280,
        'perf_event_open': 241, 'userfaultfd': 282, 'kexec_load': 104,
        'kexec_file_load': 294, 'init_module': 105, 'finit_module': 273,
        'delete_module': 106, 'open_by_handle_at': 265, 'name_to_handle_at': 264,
        'swapon': 224, 'swapoff': 225, 'reboot': 142, 'syslog': 116, 'acct': 89,
        'quotactl': 60, 'quotactl_fd': 443, 'fsopen': 430, 'fsmount': 432, 'fsconfig': 431,
        'move_mount': 429, 'open_tree': 428, 'fspick': 433, 'mount_setattr': 442,
        'io_uring_setup': 425, 'io_uring_enter': 426, 'io_uring_register': 427,
        'pidfd_getfd': 438, 'lookup_dcookie': 18, 'fanotify_init': 262, 'vhangup': 58,
        'clone': 220, 'clone3': 435, 'socket': 198,
    }),
}
X32_SYSCALL_BIT = 0x40000000  # x86_64: numbers at or above it are the x32 ABI

# Classic BPF (linux/filter.h, linux/bpf_common.h) and seccomp (linux/seccomp.h).
LD_W_ABS = 0x20   # BPF_LD | BPF_W | BPF_ABS: A = seccomp_data[k]
JEQ_K = 0x15      # BPF_JMP | BPF_JEQ | BPF_K
JGE_K = 0x35      # BPF_JMP | BPF_JGE | BPF_K
JSET_K = 0x45     # BPF_JMP | BPF_JSET | BPF_K
RET_K = 0x06      # BPF_RET | BPF_K
RET_ALLOW = 0x7FFF0000
RET_ERRNO = 0x00050000
OFF_NR, OFF_ARCH, OFF_ARG0_LO = 0, 4, 16  # struct seccomp_data (little endian: low word first)


class SockFprog(ctypes.Structure):
    _fields_ = [('len', ctypes.c_ushort), ('filter', ctypes.c_void_p)]


def arch():
    """(AUDIT_ARCH, syscall numbers) of this machine; KeyError where we have no table."""
    machine = os.uname().machine
    if machine not in ARCHES:
        raise KeyError('no seccomp syscall table for architecture %s' % machine)
    return ARCHES[machine]


def assemble(block_network):
    """The filter as a list of (code, jt, jf, k) instructions. Jumps are relative: jt/jf
    skip that many instructions after the current one."""
    audit_arch, nr = arch()
    deny = RET_ERRNO | errno.EPERM
    prog = [(LD_W_ABS, 0, 0, OFF_ARCH), (JEQ_K, 1, 0, audit_arch), (RET_K, 0, 0, deny), (LD_W_ABS, 0, 0, OFF_NR)]
    if os.uname().machine == 'x86_64':
        prog += [(JGE_K, 0, 1, X32_SYSCALL_BIT), (RET_K, 0, 0, deny)]
    for name in DENIED_SYSCALLS:
        if name in nr:
            prog += [(JEQ_K, 0, 1, nr[name]), (RET_K, 0, 0, deny)]
    prog += [(JEQ_K, 0, 1, nr['clone3']), (RET_K, 0, 0, RET_ERRNO | errno.ENOSYS)]
    # clone(flags, ...): deny when any namespace bit is set (flags fit the low word).
    prog += [(JEQ_K, 0, 3, nr['clone']), (LD_W_ABS, 0, 0, OFF_ARG0_LO), (JSET_K, 0, 1, CLONE_NS_FLAGS), (RET_K, 0, 0, deny),
             (LD_W_ABS, 0, 0, OFF_NR)]
    if block_network:
        prog += [(JEQ_K, 0, 3, nr['socket']), (LD_W_ABS, 0, 0, OFF_ARG0_LO), (JEQ_K, 1, 0, socket.AF_UNIX),
                 (RET_K, 0, 0, RET_ERRNO | errno.EACCES)]
    prog.append((RET_K, 0, 0, RET_ALLOW))
    return prog


def compile_filter(block_network):
    """The program ready to install: (struct sock_fprog, the buffer it points into, which
    must stay alive). Built once per worker; installing it costs microseconds per child."""
    code = b''.join(struct.pack('=HBBI', *ins) for ins in assemble(block_network))
    buf = ctypes.create_string_buffer(code, len(code))
    return SockFprog(len(code) // 8, ctypes.cast(buf, ctypes.c_void_p)), buf


def install_filter(prog, libc):
    """Installs the filter on the calling thread (no-new-privs must be set already)."""
    if libc.prctl(PR_SET_SECCOMP, SECCOMP_MODE_FILTER, ctypes.byref(prog), 0, 0) != 0:
        e = ctypes.get_errno()
        raise OSError(e, 'seccomp: %s' % os.strerror(e))
