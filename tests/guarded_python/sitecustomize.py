"""Loaded by every Python subprocess the tests start (tests/conftest.py puts this folder on
PYTHONPATH): the same socket guard as in the test process; blocked attempts are appended to
the file named by CLONE_STUDIO_SOCKET_GUARD_LOG, which the test's guard reads back."""
import importlib.util
import os
from pathlib import Path

_log = os.environ.get("CLONE_STUDIO_SOCKET_GUARD_LOG")
if _log:
    _spec = importlib.util.spec_from_file_location("_clone_studio_socket_guard",
                                                   Path(__file__).resolve().parent.parent / "socket_guard.py")
    _module = importlib.util.module_from_spec(_spec)
    _spec.loader.exec_module(_module)
    _module.SocketGuard(log_file=_log).install()
