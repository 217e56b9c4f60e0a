"""The composition root: settings, database, chunk store and ingestion worker for one process."""
from __future__ import annotations

from functools import cached_property

from sqlmodel import Session

from core.config import LOCAL_OWNER, Settings, load_settings
from core.db import make_engine, migrate, session
from core.owners import OwnerRuntime


class Runtime:
    """Thread-safe shared objects; the UI caches one per process, the CLI makes its own.

    It acts for the local owner; `scoped(owner_id)` gives the same objects acting for another."""

    owner_id = LOCAL_OWNER

    def __init__(self, settings: Settings):
        self.settings = settings
        settings.home.mkdir(parents=True, exist_ok=True)
        settings.files_dir.mkdir(parents=True, exist_ok=True)
        self.engine = make_engine(settings.database_url)
        migrate(self.engine)
        self.resumed_documents: list[str] = []  # ids start-up recovery queued on this process's worker

    def session(self) -> Session:
        return session(self.engine)

    def scoped(self, owner_id: str) -> OwnerRuntime:
        """This runtime acting for `owner_id`: its sessions and core calls see only that owner's rows."""
        return OwnerRuntime(self, owner_id)

    @property
    def base(self) -> "Runtime":
        return self

    @cached_property
    def store(self):
        from core.knowledge.store import ChunkStore

        return ChunkStore(self.settings.lancedb_uri)

    @cached_property
    def worker(self):
        from core.knowledge.worker import IngestWorker

        return IngestWorker(self)

    def close(self) -> None:
        if "worker" in self.__dict__:
            self.worker.shutdown()
        self.engine.dispose()


def open_runtime(settings: Settings | None = None, seed_demo: bool = True) -> Runtime:
    """Open the studio's data; resume or fail ingestion a crash interrupted; seed the demo clone."""
    from core.knowledge.ingest import recover_interrupted

    runtime = Runtime(settings or load_settings())
    runtime.resumed_documents = recover_interrupted(runtime)
    if seed_demo:
        from core.demo import ensure_demo_clone

        ensure_demo_clone(runtime)
    return runtime
