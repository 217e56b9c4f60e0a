"""Shared fixtures: a fresh data directory per test, on SQLite or (with DATABASE_URL) PostgreSQL."""
from __future__ import annotations

import os
import uuid
from pathlib import Path

import pytest
from sqlalchemy import create_engine, text
from sqlalchemy.engine import make_url

from core.config import Settings
from tests.socket_guard import SocketGuard

DATA = Path(__file__).parent / "data"
GUARDED_PYTHON = Path(__file__).parent / "guarded_python"
BASE_DATABASE_URL = os.environ.get("DATABASE_URL", "")  # before any test points it at its own database


@pytest.fixture(scope="session")
def socket_guard(tmp_path_factory):
    """For the whole session: any connection to a non-loopback address is refused and recorded,
    in this process and in the Python subprocesses tests start (through PYTHONPATH)."""
    log = tmp_path_factory.mktemp("socket-guard") / "blocked.log"
    guard = SocketGuard(log_file=str(log))
    guard.install()
    saved = {name: os.environ.get(name) for name in ("PYTHONPATH", "CLONE_STUDIO_SOCKET_GUARD_LOG")}
    os.environ["PYTHONPATH"] = os.pathsep.join(filter(None, [str(GUARDED_PYTHON), saved["PYTHONPATH"]]))
    os.environ["CLONE_STUDIO_SOCKET_GUARD_LOG"] = str(log)
    yield guard
    guard.uninstall()
    for name, value in saved.items():
        if value is None:
            os.environ.pop(name, None)
        else:
            os.environ[name] = value


@pytest.fixture(autouse=True)
def _no_connections_leave_the_machine(socket_guard):
    """Fails the test that tried to connect off this machine, even if the code swallowed the error."""
    socket_guard.take()
    yield
    if blocked := socket_guard.take():
        pytest.fail(f"this test tried to connect to non-loopback addresses: {', '.join(sorted(set(blocked)))}")


def _fresh_database(base_url: str) -> tuple[str, callable]:
    """A new, empty PostgreSQL database per test; returns its URL and a drop function."""
    url = make_url(base_url)
    name = f"cs_test_{uuid.uuid4().hex[:12]}"
    admin = create_engine(url, isolation_level="AUTOCOMMIT")
    with admin.connect() as connection:
        connection.execute(text(f'CREATE DATABASE "{name}"'))

    def drop() -> None:
        with admin.connect() as connection:
            connection.execute(text(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)'))
        admin.dispose()

    return url.set(database=name).render_as_string(hide_password=False), drop


@pytest.fixture
def settings(tmp_path, monkeypatch) -> Settings:
    home = tmp_path / "home"
    monkeypatch.setenv("CLONE_STUDIO_HOME", str(home))
    base_url = os.environ.get("DATABASE_URL", "")
    drop = None
    if base_url.startswith("postgresql"):
        database_url, drop = _fresh_database(base_url)
        monkeypatch.setenv("DATABASE_URL", database_url)
    else:
        database_url = f"sqlite:///{home / 'studio.db'}"
    yield Settings(home=home, database_url=database_url, lancedb_uri=str(home / "lancedb"), max_upload_mb=5)
    if drop:
        drop()


@pytest.fixture(scope="session")
def pg_template():
    """On PostgreSQL, one database migrated to head for the whole session, which `runtime` copies
    (CREATE DATABASE ... TEMPLATE) instead of migrating each test's database again: 40 tests took
    26 s instead of 67 s. (On SQLite, migrating a fresh file costs about what copying one does.)"""
    from core.db import make_engine, migrate

    url, drop = _fresh_database(BASE_DATABASE_URL)
    engine = make_engine(url)
    migrate(engine)
    engine.dispose()  # a template must have no open connections
    yield make_url(url).database
    drop()


def _copy_of_template(database_url: str, template: str) -> None:
    """Replace the test's (empty) PostgreSQL database with a copy of the migrated template."""
    name = make_url(database_url).database
    admin = create_engine(make_url(BASE_DATABASE_URL), isolation_level="AUTOCOMMIT")
    with admin.connect() as connection:
        connection.execute(text(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)'))
        connection.execute(text(f'CREATE DATABASE "{name}" TEMPLATE "{template}"'))
    admin.dispose()


@pytest.fixture
def runtime(settings, request):
    """A runtime with an empty studio (no demo clone). Tests that only take `settings` get an
    empty database (migration tests); this one starts from a migrated copy."""
    from core.runtime import open_runtime

    if settings.database_url.startswith("postgresql"):
        _copy_of_template(settings.database_url, request.getfixturevalue("pg_template"))
    rt = open_runtime(settings, seed_demo=False)
    yield rt
    rt.close()
