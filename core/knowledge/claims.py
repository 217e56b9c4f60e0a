"""Who is processing a document: an exclusive lock on a claim file next to the stored bytes.

The process working on a document holds `flock` on `<document>.claim` until it finishes; the
kernel drops the lock when that process dies. So start-up recovery (in any process, e.g. the
CLI while the studio runs) can tell live work (lock held: leave it) from work a crash
abandoned (lock free: take it over), atomically and without guessing from pids.
"""
from __future__ import annotations

import fcntl
import json
import os
import threading
from pathlib import Path

_held: dict[str, int] = {}
_lock = threading.Lock()


def claim_path(stored: Path) -> Path:
    return stored.with_name(stored.name + ".claim")


def claim(stored: Path) -> bool:
    """Hold the document's claim in this process; False when live work holds it (here or elsewhere)."""
    path = str(claim_path(stored))
    with _lock:
        if path in _held:
            return False
        fd = os.open(path, os.O_RDWR | os.O_CREAT, 0o644)
        try:
            fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
        except BlockingIOError:
            os.close(fd)
            return False
        os.ftruncate(fd, 0)
        os.write(fd, json.dumps({"pid": os.getpid()}).encode())
        _held[path] = fd
        return True


def held(stored: Path) -> bool:
    with _lock:
        return str(claim_path(stored)) in _held


def release(stored: Path) -> None:
    path = str(claim_path(stored))
    with _lock:
        fd = _held.pop(path, None)
        if fd is None:
            return
        Path(path).unlink(missing_ok=True)
        os.close(fd)
