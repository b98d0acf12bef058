"""What the sandbox's root holds, and the bubblewrap command line that builds it.

Only what a check needs is bound, read-only, at its own path: ``/usr`` (with the merged-/usr
links ``/bin``, ``/lib``, ``/lib64``, ``/sbin``), the dynamic linker's cache, the interpreter's
installation and virtual environment (the atom's dependencies' code), this package's validation
directory (the harness), Node's installation and the project's ``node_modules`` for
JavaScript and TypeScript. Not the project directory, the store, ``/etc``, ``/home``, ``/root``,
``/run`` or ``/var``: no host file and no Unix socket on the host is reachable from a check.
Paths the operator lists (``read_only``, ``MGE_SANDBOX_READ_ONLY``), say a project's own test
suite for a plan's ``test_command``, are added read-only; ``/tmp`` is an empty read-only
tmpfs under which such paths may sit.

A check writes in a private tmpfs of its own (its ``TMPDIR``), mounted by the jail at
``/check`` — or ``/check-1``, ``/check-2``… when the project itself lives under ``/check``:
that mount would otherwise hide the interpreter and ``node_modules`` from every check.
Paths under ``/dev`` or ``/proc`` cannot be bound at all (the jail mounts its own there), so a
project or interpreter there is refused with the reason.
"""

from __future__ import annotations

import os
import shutil
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from pathlib import Path

__all__ = ["BubblewrapLaunch", "SandboxPathError", "bubblewrap_command", "sandbox_paths"]

_MERGED_USR_LINKS = ("/bin", "/lib", "/lib64", "/sbin")
# Read at start by the dynamic linker and by Node's OpenSSL; no secret in either.
_FILES = ("/etc/ld.so.cache", "/etc/ssl/openssl.cnf")
# The namespaces bubblewrap creates for the parent; user namespace only when not root.
_NAMESPACES = ("--unshare-pid", "--unshare-net", "--unshare-ipc", "--unshare-uts")
# Mounted afresh inside the sandbox: nothing of the host below them survives.
_SHADOWED = ("/dev", "/proc")
CHECK_ROOT = "/check"


class SandboxPathError(ValueError):
    """A path the sandbox needs cannot be made visible inside it."""


@dataclass(frozen=True)
class BubblewrapLaunch:
    """The command that starts the sandbox's parent, and where each check's tmpfs goes."""

    command: list[str]
    check_root: str


def bubblewrap_command(
    python: str, server: str, *, as_root: bool, read_only: Sequence[str] = ()
) -> BubblewrapLaunch | None:
    """``bwrap … python -I server`` (config appended by the caller), or None without bwrap.

    As root, no user namespace: the parent keeps real root's capabilities inside its own
    namespaces so that it can hand each check a host uid of its own. Otherwise bubblewrap maps
    the caller to root of a new user namespace, capabilities limited to it.
    """
    bwrap = shutil.which("bwrap")
    if bwrap is None:
        return None
    user = [] if as_root else ["--unshare-user", "--uid", "0", "--gid", "0"]
    command = [bwrap, "--new-session", *_NAMESPACES, "--unshare-cgroup-try"]
    command += [*user, "--cap-add", "ALL"]
    for link in _MERGED_USR_LINKS:
        if os.path.islink(link):
            command += ["--symlink", os.readlink(link), link]
        elif os.path.isdir(link):
            command += ["--ro-bind", link, link]
    paths = _outermost([*sandbox_paths(python, server), *_existing(read_only)])
    _refuse_shadowed(paths)
    check_root = free_check_root(paths)
    command += ["--tmpfs", "/tmp"]
    for ancestor in _ancestors([*paths, *_FILES]):
        command += ["--perms", "0755", "--dir", ancestor]
    for path in paths:
        command += ["--ro-bind", path, path]
    for path in _FILES:
        command += ["--ro-bind-try", path, path]
    command += ["--remount-ro", "/tmp", "--dir", check_root, "--dev", "/dev", "--proc", "/proc"]
    command += ["--chdir", "/"]
    return BubblewrapLaunch([*command, python, "-I", server], check_root)


def free_check_root(bound: Iterable[str]) -> str:
    """``/check``, or the first ``/check-N`` that no bound path lies under."""
    taken = list(bound)
    for candidate in (CHECK_ROOT, *(f"{CHECK_ROOT}-{n}" for n in range(1, 1000))):
        if not any(_within(path, candidate) for path in taken):
            return candidate
    raise SandboxPathError("no free directory for the checks' tmpfs next to the bound paths")


def _refuse_shadowed(paths: Iterable[str]) -> None:
    for path in paths:
        for shadowed in _SHADOWED:
            if _within(path, shadowed):
                raise SandboxPathError(
                    f"{path} is under {shadowed}, which the sandbox mounts afresh: move the "
                    "project or the Python installation elsewhere"
                )


def _within(path: str, folder: str) -> bool:
    return path == folder or path.startswith(folder.rstrip("/") + "/")


def sandbox_paths(python: str, server: str) -> list[str]:
    """Directories bound read-only, outermost first, none inside another."""
    wanted = [
        "/usr",
        *_python_prefixes(python),
        os.path.dirname(os.path.realpath(server)),
        *_node_paths(),
    ]
    real = (os.path.realpath(p) for p in wanted if os.path.isdir(p))
    return _outermost(p for p in real if p != "/")


def _python_prefixes(python: str) -> list[str]:
    """The virtual environment (if any) and the installation its interpreter links to."""
    prefixes = []
    for executable in (os.path.abspath(python), os.path.realpath(python)):
        prefix = Path(executable).parent.parent
        prefixes.append(str(prefix))
        config = prefix / "pyvenv.cfg"
        if config.is_file():
            for line in config.read_text(encoding="utf-8").splitlines():
                key, _, value = line.partition("=")
                if key.strip() == "home":
                    prefixes.append(str(Path(value.strip()).parent))
    return prefixes


def _node_paths() -> list[str]:
    paths = []
    node = shutil.which("node")
    if node is not None:
        paths.append(str(Path(os.path.realpath(node)).parent.parent))
    for root in (Path(__file__).resolve().parents[2], Path.cwd().resolve()):
        for folder in (root, *root.parents):
            if (folder / "node_modules").is_dir():
                paths.append(str(folder / "node_modules"))
                break
    return paths


def _existing(paths: Iterable[str]) -> list[str]:
    return [os.path.realpath(p) for p in paths if os.path.exists(p) and os.path.realpath(p) != "/"]


def _ancestors(paths: Iterable[str]) -> list[str]:
    """Directories above the bound paths, created traversable: as root, bubblewrap would
    otherwise create them 0700 and the check's uid could not reach what is bound below."""
    found = {str(parent) for path in paths for parent in Path(path).parents}
    return sorted(found - {"/", *_MERGED_USR_LINKS})


def _outermost(paths: Iterable[str]) -> list[str]:
    kept: list[str] = []
    for path in sorted(set(paths)):
        if not any(_within(path, k) for k in kept):
            kept.append(path)
    return kept
