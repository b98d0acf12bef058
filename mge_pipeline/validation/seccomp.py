"""A seccomp filter for checks: the system calls that change isolation answer EPERM. Stdlib only.

Dropping every capability already makes ``mount``, ``pivot_root`` and ``setns`` fail, but an
unprivileged process may still create a user namespace (and be "root" in it), ``ptrace`` its
own children, or reach kernel surfaces that have no business in a unit test (``bpf``,
``userfaultfd``, ``perf_event_open``, ``keyctl``, module loading). The filter answers them all
with EPERM, ``clone`` with any namespace flag too, ``clone3`` with ENOSYS (libc then falls back
to ``clone``, whose flags the filter can read), and kills a process that switches to another
system-call ABI (32-bit ``int 0x80``, x32) to walk around the table. Like bubblewrap's and
Docker's filters it is a deny list over the machine's own numbers (x86-64 and AArch64).
"""

import ctypes
import errno
import platform
import struct

_PR_SET_SECCOMP = 22
_SECCOMP_MODE_FILTER = 2
_RET_ALLOW = 0x7FFF0000
_RET_KILL_PROCESS = 0x80000000
_RET_ERRNO = 0x00050000
_LD_ABS = 0x20  # BPF_LD | BPF_W | BPF_ABS
_JEQ = 0x15  # BPF_JMP | BPF_JEQ | BPF_K
_JSET = 0x45  # BPF_JMP | BPF_JSET | BPF_K
_JGE = 0x35  # BPF_JMP | BPF_JGE | BPF_K
_RET = 0x06  # BPF_RET | BPF_K
# struct seccomp_data: nr at 0, arch at 4, args[0] (low word on little-endian) at 16.
_NR, _ARCH, _ARG0 = 0, 4, 16
_X32_BIT = 0x40000000
# CLONE_NEWNS | NEWCGROUP | NEWUTS | NEWIPC | NEWUSER | NEWPID | NEWNET (and NEWTIME).
_NAMESPACE_FLAGS = 0x00020000 | 0x02000000 | 0x04000000 | 0x08000000 | 0x10000000
_NAMESPACE_FLAGS |= 0x20000000 | 0x40000000 | 0x00000080
_DENIED_NAMES = (
    "unshare", "setns", "mount", "umount2", "pivot_root", "chroot", "ptrace", "open_tree",
    "move_mount", "fsopen", "fsconfig", "fsmount", "fspick", "mount_setattr", "bpf",
    "perf_event_open", "userfaultfd", "keyctl", "add_key", "request_key", "kexec_load",
    "init_module", "finit_module", "delete_module", "process_vm_readv", "process_vm_writev",
    "open_by_handle_at",
)  # fmt: skip
# (audit architecture, clone, clone3, numbers of _DENIED_NAMES in order)
_TABLES: dict[str, tuple[int, int, int, tuple[int, ...]]] = {
    "x86_64": (0xC000003E, 56, 435, (
        272, 308, 165, 166, 155, 161, 101, 428, 429, 430, 431, 432, 433, 442, 321, 298, 323,
        250, 248, 249, 246, 175, 313, 176, 310, 311, 304,
    )),
    "aarch64": (0xC00000B7, 220, 435, (
        97, 268, 40, 39, 41, 51, 117, 428, 429, 430, 431, 432, 433, 442, 280, 241, 282, 219,
        217, 218, 104, 105, 273, 106, 270, 271, 265,
    )),
}  # fmt: skip


class _Program(ctypes.Structure):
    _fields_ = [("length", ctypes.c_ushort), ("filter", ctypes.c_char_p)]


def supported() -> bool:
    return platform.machine() in _TABLES


def install() -> None:
    """Applies the filter to this process and all it starts; needs ``no_new_privs`` first."""
    code = _program(*_TABLES[platform.machine()])
    blob = b"".join(struct.pack("HBBI", *instruction) for instruction in code)
    program = _Program(len(code), blob)
    libc = ctypes.CDLL(None, use_errno=True)
    if libc.prctl(_PR_SET_SECCOMP, _SECCOMP_MODE_FILTER, ctypes.byref(program), 0, 0) != 0:
        number = ctypes.get_errno()
        raise OSError(number, f"seccomp: {errno.errorcode.get(number, number)}")


def _program(
    arch: int, clone: int, clone3: int, denied: tuple[int, ...]
) -> list[tuple[int, int, int, int]]:
    eperm = (_RET, 0, 0, _RET_ERRNO | errno.EPERM)
    code = [
        (_LD_ABS, 0, 0, _ARCH),
        (_JEQ, 1, 0, arch),
        (_RET, 0, 0, _RET_KILL_PROCESS),
        (_LD_ABS, 0, 0, _NR),
        (_JGE, 0, 1, _X32_BIT),
        (_RET, 0, 0, _RET_KILL_PROCESS),
        (_JEQ, 0, 1, clone3),
        (_RET, 0, 0, _RET_ERRNO | errno.ENOSYS),
    ]
    for number in denied:
        code += [(_JEQ, 0, 1, number), eperm]
    code += [
        (_JEQ, 0, 3, clone),
        (_LD_ABS, 0, 0, _ARG0),
        (_JSET, 0, 1, _NAMESPACE_FLAGS),
        eperm,
        (_RET, 0, 0, _RET_ALLOW),
    ]
    return code
