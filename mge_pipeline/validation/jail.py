"""The per-check jail: kernel namespaces entered by a freshly forked child. Standard library only.

The warm parent (``pool_server.py``) already lives in a bubblewrap sandbox: a read-only root
holding only the interpreter, its libraries, Node and the validation code, no network, its own
``/proc``. Inside it each check needs more than bubblewrap's one-off set-up gives: a root of
its own per check, without paying an interpreter's start-up. Python 3.11 has no
``os.unshare``/``os.setns``, so they are called through ``ctypes``; the sequence is the one
bubblewrap itself performs, kept short enough to read in one sitting:

1. ``fork_in_new_pid_namespace``: the child is PID 1 of a new PID namespace; killing it kills
   every process the check started, whatever session or group they moved to.
2. ``enter``: new mount, IPC, UTS and network namespaces; a private size-limited tmpfs for
   the check's directory (``/check`` unless the project lives there) and ``/dev/shm``; a
   ``/proc`` of its own.
3. ``drop_privileges``: every capability gone (bounding set included), an unprivileged uid
   (a host uid that owns nothing when MGE runs as root; ``nobody`` of a user namespace of its
   own otherwise), ``no_new_privs`` so no setuid binary or file capability brings them back.
"""

import ctypes
import os

CLONE_NEWNS = 0x00020000
CLONE_NEWUTS = 0x04000000
CLONE_NEWIPC = 0x08000000
CLONE_NEWUSER = 0x10000000
CLONE_NEWPID = 0x20000000
CLONE_NEWNET = 0x40000000
MS_NOSUID = 0x2
MS_NODEV = 0x4
MS_NOEXEC = 0x8
MS_REC = 0x4000
MS_PRIVATE = 0x40000
PR_CAPBSET_DROP = 24
PR_SET_NO_NEW_PRIVS = 38
PR_CAP_AMBIENT = 47
PR_CAP_AMBIENT_CLEAR_ALL = 4
# capset(2) with version 3 takes two 32-bit words per set.
_LINUX_CAPABILITY_VERSION_3 = 0x20080522
# Inside the check's own user namespace (non-root mode) the check is ``nobody``.
NOBODY = 65534

_libc = ctypes.CDLL(None, use_errno=True)
_libc.mount.argtypes = [
    ctypes.c_char_p,
    ctypes.c_char_p,
    ctypes.c_char_p,
    ctypes.c_ulong,
    ctypes.c_char_p,
]


class JailError(OSError):
    """A namespace or mount call failed: the check cannot be isolated, so it must not run."""


class _CapHeader(ctypes.Structure):
    _fields_ = [("version", ctypes.c_uint32), ("pid", ctypes.c_int)]


class _CapData(ctypes.Structure):
    _fields_ = [
        ("effective", ctypes.c_uint32),
        ("permitted", ctypes.c_uint32),
        ("inheritable", ctypes.c_uint32),
    ]


def _check(result: int, what: str) -> None:
    if result != 0:
        errno = ctypes.get_errno()
        raise JailError(errno, f"{what}: {os.strerror(errno)}")


def _mount(source: str, target: str, fstype: str | None, flags: int, data: str | None) -> None:
    encoded = (fstype.encode() if fstype else None, data.encode() if data else None)
    result = _libc.mount(source.encode(), target.encode(), encoded[0], flags, encoded[1])
    _check(result, f"mount {target}")


def fork_in_new_pid_namespace(own_pid_namespace: int) -> int:
    """``os.fork`` whose child is PID 1 of a new namespace; the parent's own children after it
    go back to the parent's namespace (``setns`` on the descriptor it opened at start)."""
    _check(_libc.unshare(CLONE_NEWPID), "unshare(CLONE_NEWPID)")
    try:
        return os.fork()
    finally:
        if os.getpid() != 1:
            _check(_libc.setns(own_pid_namespace, CLONE_NEWPID), "setns(pid)")


def enter(check_root: str, tmpfs_mb: int, owner: int, *, network: bool = True) -> None:
    """Own mount/IPC/UTS/network namespaces, private tmpfs mounts and a fresh ``/proc``.

    ``check_root`` is where the check lives (its files, HOME and TMPDIR); not ``/tmp``, which
    stays read-only and shared so that host paths bound below it remain visible."""
    flags = CLONE_NEWNS | CLONE_NEWIPC | CLONE_NEWUTS | (CLONE_NEWNET if network else 0)
    _check(_libc.unshare(flags), "unshare(mount, ipc, uts, net)")
    _mount("none", "/", None, MS_REC | MS_PRIVATE, None)
    private = MS_NOSUID | MS_NODEV
    size = f"size={tmpfs_mb}m,mode=0700,uid={owner},gid={owner}"
    _mount("tmpfs", check_root, "tmpfs", private, size)
    _mount("tmpfs", "/dev/shm", "tmpfs", private | MS_NOEXEC, size)
    _mount("proc", "/proc", "proc", private | MS_NOEXEC, None)


def drop_privileges(uid: int | None, last_capability: int) -> None:
    """No capability left and none to regain. ``uid`` is a host uid when the parent is the
    real root; None means the parent is root only in bubblewrap's user namespace, where no other
    uid is mapped, so the check gets a user namespace of its own and is ``nobody`` in it."""
    if uid is not None:
        _drop_bounding_set(last_capability)
        os.setgroups([])
        os.setresgid(uid, uid, uid)
        os.setresuid(uid, uid, uid)  # from uid 0 to non-zero: the kernel clears every set
    else:
        _own_user_namespace()  # grants a full set again, in the new namespace: drop it there
        _drop_bounding_set(last_capability)
        _clear_capabilities()
    _check(_libc.prctl(PR_CAP_AMBIENT, PR_CAP_AMBIENT_CLEAR_ALL, 0, 0, 0), "clear ambient")
    _check(_libc.prctl(PR_SET_NO_NEW_PRIVS, 1, 0, 0, 0), "no_new_privs")


def _drop_bounding_set(last_capability: int) -> None:
    for capability in range(last_capability + 1):
        _check(_libc.prctl(PR_CAPBSET_DROP, capability, 0, 0, 0), "drop bounding set")


def _own_user_namespace() -> None:
    _check(_libc.unshare(CLONE_NEWUSER), "unshare(CLONE_NEWUSER)")
    for name, content in (
        ("setgroups", "deny"),
        ("uid_map", f"{NOBODY} 0 1"),
        ("gid_map", f"{NOBODY} 0 1"),
    ):
        with open(f"/proc/self/{name}", "w", encoding="ascii") as handle:
            handle.write(content)


def _clear_capabilities() -> None:
    header = _CapHeader(_LINUX_CAPABILITY_VERSION_3, 0)
    data = (_CapData * 2)()
    _check(_libc.capset(ctypes.byref(header), data), "capset")


def last_capability() -> int:
    with open("/proc/sys/kernel/cap_last_cap", encoding="ascii") as handle:
        return int(handle.read())
