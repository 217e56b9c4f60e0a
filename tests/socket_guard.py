"""A socket guard for the test suite: connecting anywhere but this machine fails the test.

Installed once per session by tests/conftest.py. `socket.socket.connect` / `connect_ex`
(which everything in this process goes through: urllib, httpx, the vendors' SDKs, psycopg's
Python side, asyncio's `sock_connect`) and asyncio's `create_connection` refuse any address
that is not loopback (127.0.0.0/8, ::1, ::ffff:127.x, "localhost") or a unix socket, raise
`BlockedConnection` and record the attempt, so the test that made it fails even when the code
under test swallows the error. Python subprocesses the tests start (the studio server, the
command line) load the same guard through tests/guarded_python/sitecustomize.py and append
their blocked attempts to a log file that `take()` reads back.
"""
from __future__ import annotations

import asyncio
import ipaddress
import os
import socket
import threading

_LOCAL_NAMES = {"localhost", "localhost.localdomain", "ip6-localhost", "ip6-loopback"}


class BlockedConnection(ConnectionRefusedError):
    """A connection to a non-loopback address during the tests."""


def is_local(family: int, address) -> bool:
    """Whether connecting to `address` stays on this machine (unknown families: yes, no network)."""
    if family == getattr(socket, "AF_UNIX", None) or isinstance(address, (str, bytes)):
        return True
    if family not in (socket.AF_INET, socket.AF_INET6) or not isinstance(address, tuple) or not address:
        return True
    host = address[0]
    if isinstance(host, bytes):
        host = host.decode(errors="replace")
    host = str(host).strip().lower().rstrip(".").split("%")[0]
    if host in _LOCAL_NAMES or host.endswith(".localhost"):
        return True
    try:
        ip = ipaddress.ip_address(host)
    except ValueError:
        return False  # a name we would have to look up: not this machine's business in tests
    mapped = getattr(ip, "ipv4_mapped", None)
    return ip.is_loopback or (mapped is not None and mapped.is_loopback)


class SocketGuard:
    def __init__(self, log_file: str | None = None):
        self.violations: list[str] = []
        self.log_file = log_file  # shared with subprocesses: one blocked address per line
        self._lock = threading.Lock()
        self._saved: list[tuple[object, str, object]] = []

    def _check(self, family: int, address) -> None:
        if is_local(family, address):
            return
        with self._lock:
            self.violations.append(repr(address))
            if self.log_file:
                with open(self.log_file, "a", encoding="utf-8") as log:
                    log.write(f"{repr(address)} (pid {os.getpid()})\n")
        raise BlockedConnection(f"tests may only connect to loopback addresses, not {address!r}")

    def take(self) -> list[str]:
        """The blocked attempts since the last call, here and in subprocesses (and forget them)."""
        with self._lock:
            found, self.violations = self.violations, []
            if self.log_file and os.path.exists(self.log_file):
                with open(self.log_file, "r+", encoding="utf-8") as log:
                    found += [line.split(" (pid")[0] for line in log.read().splitlines()
                              if not line.endswith(f"(pid {os.getpid()})")]
                    log.truncate(0)
        return found

    def install(self) -> None:
        guard = self
        original_connect, original_connect_ex = socket.socket.connect, socket.socket.connect_ex
        original_create = asyncio.base_events.BaseEventLoop.create_connection

        def connect(sock, address):
            guard._check(sock.family, address)
            return original_connect(sock, address)

        def connect_ex(sock, address):
            guard._check(sock.family, address)
            return original_connect_ex(sock, address)

        async def create_connection(loop, protocol_factory, host=None, port=None, *args, **kwargs):
            if host is not None and kwargs.get("sock") is None:
                guard._check(socket.AF_INET6 if ":" in str(host) else socket.AF_INET, (host, port))
            return await original_create(loop, protocol_factory, host, port, *args, **kwargs)

        self._saved = [(socket.socket, "connect", original_connect), (socket.socket, "connect_ex", original_connect_ex),
                       (asyncio.base_events.BaseEventLoop, "create_connection", original_create)]
        socket.socket.connect, socket.socket.connect_ex = connect, connect_ex
        asyncio.base_events.BaseEventLoop.create_connection = create_connection

    def uninstall(self) -> None:
        for owner, name, original in self._saved:
            setattr(owner, name, original)
        self._saved = []
