"""Canaries for the hostile-code suites: things on the host that an escaped check would change.

Each canary is checked after the attack, not only the check's verdict: a host file still holding
its content, listeners (TCP, UDP, filesystem and abstract Unix sockets) that received nothing,
a host process whose secrets nobody read.
"""

from __future__ import annotations

import os
import socket
import subprocess
import sys
import uuid
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path

import pytest

CANARY_TEXT = "precious"


@dataclass
class Listeners:
    """Host endpoints an attack aims at. ``drain`` takes, without waiting, whatever reached
    them: a TCP or Unix connection sits in the accept queue and a datagram in the receive
    buffer as soon as the sender's call returned, so nothing is missed by not sleeping."""

    tcp_port: int
    udp_port: int
    unix_path: str
    abstract_name: str
    sockets: list[socket.socket] = field(default_factory=list)

    def drain(self) -> list[bytes]:
        received = []
        for server in self.sockets:
            server.setblocking(False)
            while True:
                try:
                    if server.type == socket.SOCK_DGRAM:
                        received.append(server.recv(100))
                        continue
                    connection, _ = server.accept()
                except OSError:
                    break
                received.append(b"connection")
                connection.close()
        return received


@dataclass(frozen=True)
class Canaries:
    """Host files: one where nothing is bound (``/tmp``), one inside a directory the sandbox
    binds read-only (the interpreter's prefix), and a fake store with a secret in it."""

    unbound: Path
    bound: Path
    store: Path

    def intact(self) -> bool:
        return all(p.read_text() == CANARY_TEXT for p in (self.unbound, self.bound, self.store))


@pytest.fixture
def canaries(tmp_path: Path) -> Iterator[Canaries]:
    bound = Path(sys.prefix) / f"mge-canary-{uuid.uuid4().hex}.txt"
    store = tmp_path / ".mge" / "mge.db"
    store.parent.mkdir()
    found = Canaries(tmp_path / "canary.txt", bound, store)
    for path in (found.unbound, found.bound, found.store):
        path.write_text(CANARY_TEXT)
    yield found
    bound.unlink(missing_ok=True)


@pytest.fixture
def listeners(tmp_path: Path) -> Iterator[Listeners]:
    tcp = socket.socket()
    tcp.bind(("127.0.0.1", 0))
    udp = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
    udp.bind(("127.0.0.1", 0))
    unix_path = str(tmp_path / "host.sock")
    unix = socket.socket(socket.AF_UNIX)
    unix.bind(unix_path)
    os.chmod(unix_path, 0o777)  # anyone on the host may connect: only the jail stops a check
    abstract_name = f"mge-host-{uuid.uuid4().hex}"
    abstract = socket.socket(socket.AF_UNIX)
    abstract.bind("\0" + abstract_name)
    for server in (tcp, unix, abstract):
        server.listen()
    found = Listeners(tcp.getsockname()[1], udp.getsockname()[1], unix_path, abstract_name)
    found.sockets = [tcp, udp, unix, abstract]
    yield found
    for server in found.sockets:
        server.close()


@pytest.fixture
def host_secret_process() -> Iterator[str]:
    """A host process with a secret in its environment and its command line."""
    secret = f"sk-ant-hostile-{uuid.uuid4().hex}"
    process = subprocess.Popen(
        [sys.executable, "-c", "import time; time.sleep(60)", secret],
        env={"ANTHROPIC_API_KEY": secret},
    )
    yield secret
    process.kill()
    process.wait()
