"""Exact vector search over one clone's chunks held in memory, cached until the clone changes.

A clone's vectors are read from LanceDB once (through the scalar index on clone_id) and kept
as one float32 matrix; a query is one matrix-vector product, in blocks shared between the cores
for a large clone (exact, so recall is 1.0). The
cache is keyed by a fingerprint of the clone's ready documents and bounded in bytes (LRU).
"""
from __future__ import annotations

import itertools
import os
import threading
from collections import OrderedDict
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field
from typing import Callable, Hashable

import numpy as np
import pyarrow as pa
from threadpoolctl import threadpool_limits

# numpy's BLAS on one thread, for the whole process: the studio answers several people at once, and
# OpenBLAS's pool, woken beside onnxruntime's threads on a busy machine, made a 10k scan ~8x slower.
# One BLAS thread still scans ~1.3x faster than numpy's own einsum loop (bench/retrieval.py).
threadpool_limits(1, user_api="blas")
# A scan of SPLIT_ROWS or more is cut into blocks that the calling thread and the pool's threads take in
# turn: a pool thread that finds its core busy simply takes no block, and the caller, which never waits for
# a block nobody has started, scans the rest itself (a fixed half per thread waits for the busy core). The
# scan is bound by memory bandwidth, which two cores draw more of than one (figures in README).
SPLIT_ROWS = 5_000
BLOCK_ROWS = 2_500
_CORES = max(1, min(4, os.cpu_count() or 1))
_scan_pool = ThreadPoolExecutor(max_workers=max(1, _CORES - 1), thread_name_prefix="vector-scan")


def scan(vectors: np.ndarray, query: np.ndarray) -> np.ndarray:
    """Every row's dot product with `query`: one BLAS call, or blocks shared with idle cores."""
    if _CORES < 2 or len(vectors) < SPLIT_ROWS:
        return vectors @ query
    scores = np.empty(len(vectors), dtype=np.float32)
    blocks = [slice(a, a + BLOCK_ROWS) for a in range(0, len(vectors), BLOCK_ROWS)]
    claims, finished, failed = itertools.count(), threading.Semaphore(0), []

    def take_blocks() -> None:
        while (i := next(claims)) < len(blocks):  # next() on a count is atomic under the GIL
            try:
                np.matmul(vectors[blocks[i]], query, out=scores[blocks[i]])
            except Exception as error:  # the caller raises it: it never waits for a block that failed
                failed.append(error)
            finally:
                finished.release()

    for _ in range(_CORES - 1):
        _scan_pool.submit(take_blocks)
    take_blocks()
    for _ in blocks:  # the caller's own blocks are done; a block another thread took is under way
        finished.acquire()
    if failed:
        raise failed[0]
    return scores


@dataclass
class CloneMatrix:
    fingerprint: Hashable
    files: dict[str, str]  # ready document id -> file name
    vectors: np.ndarray  # (n, dim) float32, unit length
    meta: pa.Table  # id, document_id, chunk_index, text, page, heading; same row order
    loaded_ms: float = 0.0
    positions: dict[str, int] = field(default_factory=dict)  # chunk id -> row
    text_index: object = None  # BM25 and document signals over these rows (core.knowledge.search)
    index_building: bool = False

    def __post_init__(self) -> None:
        if not self.positions and self.meta.num_rows:
            self.positions = {chunk_id: row for row, chunk_id in enumerate(self.meta["id"].to_pylist())}

    @property
    def nbytes(self) -> int:
        return self.vectors.nbytes + self.meta.nbytes + 100 * len(self.positions)

    def brief_records(self, rows) -> list[dict]:
        """The rows' metadata without their text (what ranking needs), from columns kept as Python
        lists after the first call: no Arrow conversion per query. `texts` fetches the text."""
        columns = self.__dict__.get("_columns")
        if columns is None:
            names = [n for n in self.meta.column_names if n != "text"]
            columns = self.__dict__["_columns"] = {n: self.meta[n].to_pylist() for n in names}
        return [{name: values[row] for name, values in columns.items()} for row in rows]

    def texts(self, rows) -> list[str]:
        """The rows' texts, one scalar each: ~1 µs a row, where `take` costs ~0.4 ms a call on a
        table of many record batches."""
        column = self.meta["text"]
        return [column[int(row)].as_py() for row in rows]

    def rows_of(self, chunk_ids: list[str]) -> np.ndarray:
        """Rows of the given chunks, in order; chunks not in this matrix are skipped."""
        return np.array([self.positions[i] for i in chunk_ids if i in self.positions], dtype=np.int64)

    def top(self, query: np.ndarray, n: int) -> tuple[np.ndarray, np.ndarray]:
        """Row positions of the `n` most similar chunks, best first, and their cosine similarity."""
        if not len(self.vectors) or n <= 0:
            return np.empty(0, dtype=np.int64), np.empty(0, dtype=np.float32)
        scores = scan(self.vectors, query)
        if n < len(scores):
            rows = np.argpartition(-scores, n - 1)[:n]
        else:
            rows = np.arange(len(scores))
        rows = rows[np.argsort(-scores[rows], kind="stable")]
        return rows, scores[rows]


@dataclass
class MatrixCache:
    budget_bytes: int
    _entries: OrderedDict = field(default_factory=OrderedDict)
    _lock: threading.Lock = field(default_factory=threading.Lock)
    _loading: dict = field(default_factory=dict)

    def _fresh(self, clone_id: str, fingerprint: Hashable) -> CloneMatrix | None:
        with self._lock:
            entry = self._entries.get(clone_id)
            if entry is not None and entry.fingerprint == fingerprint:
                self._entries.move_to_end(clone_id)
                return entry
        return None

    def get(self, clone_id: str, fingerprint: Hashable, load: Callable[[], CloneMatrix]) -> CloneMatrix:
        entry = self._fresh(clone_id, fingerprint)
        if entry is not None:
            return entry
        with self._lock:
            loading = self._loading.setdefault(clone_id, threading.Lock())
        with loading:
            entry = self._fresh(clone_id, fingerprint)
            if entry is None:
                entry = load()
                self._put(clone_id, entry)
        return entry

    def _put(self, clone_id: str, entry: CloneMatrix) -> None:
        with self._lock:
            self._entries[clone_id] = entry
            self._entries.move_to_end(clone_id)
            total = sum(e.nbytes for e in self._entries.values())
            while total > self.budget_bytes and len(self._entries) > 1:
                _, evicted = self._entries.popitem(last=False)
                total -= evicted.nbytes

    def drop(self, clone_id: str | None = None) -> None:
        with self._lock:
            if clone_id is None:
                self._entries.clear()
            else:
                self._entries.pop(clone_id, None)
