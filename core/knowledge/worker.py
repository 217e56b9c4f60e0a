"""The background ingestion worker: a small thread pool, so uploads never block the UI.

PDF parsing inside a job runs in its own child process (core.knowledge.extract). On
shutdown, queued documents are let go and a running one stops between embedding batches;
both stay in processing and the next start-up resumes them.
"""
from __future__ import annotations

import logging
import threading
import time
from concurrent.futures import Future, ThreadPoolExecutor

from core.knowledge.ingest import process_document, release_claim

log = logging.getLogger(__name__)

WORKERS = 2


class IngestWorker:
    def __init__(self, runtime, workers: int = WORKERS):
        self._runtime = runtime
        self._pool = ThreadPoolExecutor(max_workers=workers, thread_name_prefix="ingest")
        self._stop = threading.Event()
        self._idle = threading.Condition()
        self._jobs: dict[str, Future] = {}

    def submit(self, document_id: str) -> None:
        """Queue a document (already claimed by this process); a repeat while queued is ignored."""
        with self._idle:
            if self._stop.is_set():
                release_claim(self._runtime, document_id)
                return
            if document_id not in self._jobs:
                self._jobs[document_id] = self._pool.submit(self._run, document_id)

    def _run(self, document_id: str) -> None:
        try:
            process_document(self._runtime, document_id, stop=self._stop)
        except Exception:
            log.exception("The ingestion worker could not process document %s", document_id)
        finally:
            with self._idle:
                self._jobs.pop(document_id, None)
                self._idle.notify_all()

    def pending(self) -> int:
        with self._idle:
            return len(self._jobs)

    def wait_idle(self, timeout: float) -> bool:
        """True once every submitted document is done; False if `timeout` seconds pass first."""
        deadline = time.monotonic() + timeout
        with self._idle:
            while self._jobs:
                remaining = deadline - time.monotonic()
                if remaining <= 0:
                    return False
                self._idle.wait(remaining)
        return True

    def shutdown(self) -> None:
        self._stop.set()
        self._pool.shutdown(wait=True, cancel_futures=True)
        with self._idle:
            cancelled = [doc_id for doc_id, future in self._jobs.items() if future.cancelled()]
            for doc_id in cancelled:
                self._jobs.pop(doc_id)
            self._idle.notify_all()
        for doc_id in cancelled:
            release_claim(self._runtime, doc_id)
