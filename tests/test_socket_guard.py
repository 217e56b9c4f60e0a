"""The suite-wide socket guard: loopback and unix sockets work, everything else is refused and recorded."""
from __future__ import annotations

import asyncio
import socket
import urllib.error
import urllib.request

import pytest

from tests.socket_guard import BlockedConnection, is_local

OUTSIDE = "192.0.2.1"  # TEST-NET-1: never routed, so nothing leaves even if the guard failed


@pytest.mark.parametrize("family, address, local", [
    (socket.AF_INET, ("127.0.0.1", 80), True),
    (socket.AF_INET, ("127.8.9.10", 80), True),
    (socket.AF_INET, ("localhost", 80), True),
    (socket.AF_INET6, ("::1", 80, 0, 0), True),
    (socket.AF_INET6, ("::ffff:127.0.0.1", 80, 0, 0), True),
    (socket.AF_UNIX, "/tmp/some.sock", True),
    (socket.AF_INET, (OUTSIDE, 80), False),
    (socket.AF_INET, ("10.0.0.1", 5432), False),
    (socket.AF_INET, ("api.openai.com", 443), False),
    (socket.AF_INET6, ("2001:db8::1", 443, 0, 0), False),
    (socket.AF_INET6, ("::ffff:192.0.2.1", 443, 0, 0), False),
])
def test_what_counts_as_this_machine(family, address, local):
    assert is_local(family, address) is local


def test_a_connection_off_the_machine_is_refused_and_recorded(socket_guard):
    with socket.socket() as sock, pytest.raises(BlockedConnection):
        sock.connect((OUTSIDE, 9))
    with socket.socket() as sock, pytest.raises(BlockedConnection):
        sock.connect_ex((OUTSIDE, 9))
    with pytest.raises(urllib.error.URLError):  # urllib swallows it into its own error: still recorded
        urllib.request.urlopen(f"http://{OUTSIDE}/leak", timeout=2)
    assert socket_guard.take() == [repr((OUTSIDE, 9))] * 2 + [repr((OUTSIDE, 80))]


def test_asyncio_connections_off_the_machine_are_refused(socket_guard):
    async def attempt():
        with pytest.raises(BlockedConnection):
            await asyncio.open_connection(OUTSIDE, 443)

    asyncio.run(attempt())
    assert socket_guard.take()


def test_loopback_v4_v6_and_unix_sockets_work(tmp_path, socket_guard):
    for family, host in ((socket.AF_INET, "127.0.0.1"), (socket.AF_INET6, "::1")):
        with socket.socket(family) as server:
            server.bind((host, 0))
            server.listen()
            with socket.socket(family) as client:
                client.connect(server.getsockname())
    path = str(tmp_path / "guard.sock")
    with socket.socket(socket.AF_UNIX) as server:
        server.bind(path)
        server.listen()
        with socket.socket(socket.AF_UNIX) as client:
            client.connect(path)

    async def loopback():
        server = await asyncio.start_server(lambda r, w: w.close(), "127.0.0.1", 0)
        port = server.sockets[0].getsockname()[1]
        _, writer = await asyncio.open_connection("127.0.0.1", port)
        writer.close()
        server.close()

    asyncio.run(loopback())
    assert socket_guard.take() == []


def test_python_subprocesses_are_guarded_too(socket_guard):
    import subprocess
    import sys

    probe = ("import socket\ns = socket.socket()\ntry:\n    s.connect(('192.0.2.1', 9))\nexcept ConnectionRefusedError as e:\n"
             "    print(type(e).__name__)\ns2 = socket.socket(); s2.bind(('127.0.0.1', 0)); s2.listen()\n"
             "c = socket.socket(); c.connect(s2.getsockname()); print('loopback ok')")
    done = subprocess.run([sys.executable, "-c", probe], capture_output=True, text=True, timeout=60)
    assert done.stdout.splitlines() == ["BlockedConnection", "loopback ok"], done.stderr
    assert socket_guard.take() == [repr(("192.0.2.1", 9))]
