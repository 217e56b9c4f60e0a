"""The chunk store: ONE LanceDB table for every clone, filtered by clone_id.

Indexes: BITMAP on clone_id (filter), BTREE on document_id (deletes), full text on text.
One connection and one table handle per store (the runtime keeps one store per process);
writes are serialised in-process and each document is written once. Reads see other
processes' writes at once (read consistency interval 0). Vector search happens in memory
per clone (core.knowledge.matrix): exact, and faster than LanceDB's flat scan.
"""
from __future__ import annotations

import logging
import threading
import time
from datetime import timedelta
from typing import Callable, Hashable, Sequence

import lancedb
import numpy as np
import pyarrow as pa
import pyarrow.compute as pc
from lancedb.index import FTS, Bitmap, BTree, IvfHnswSq

from core.config import setting
from core.knowledge import DIM
from core.knowledge.matrix import CloneMatrix, MatrixCache

log = logging.getLogger(__name__)

TABLE = "chunks"
NPROBES = 32  # IVF partitions searched, and candidates re-scored on full vectors per result:
REFINE_FACTOR = 4  # together they keep recall@10 of the ANN path near exact
META = ["id", "document_id", "chunk_index", "text", "page", "heading"]
SCHEMA = pa.schema([
    ("id", pa.string()),
    ("clone_id", pa.string()),
    ("document_id", pa.string()),
    ("chunk_index", pa.int32()),
    ("text", pa.string()),
    ("page", pa.int32()),
    ("heading", pa.string()),
    ("vector", pa.list_(pa.float32(), DIM)),
])
_INDEXES = {"clone_id": Bitmap(), "document_id": BTree(), "text": FTS()}


def _literal(value: str) -> str:
    return "'" + str(value).replace("'", "''") + "'"


def chunk_id(document_id: str, index: int) -> str:
    return f"{document_id}:{index:05d}"


def vectors_of(table: pa.Table) -> np.ndarray:
    column = table["vector"].combine_chunks()
    return column.flatten().to_numpy(zero_copy_only=False).reshape(-1, DIM).astype(np.float32, copy=False)


class ChunkStore:
    def __init__(self, uri: str, cache_bytes: int | None = None):
        self.uri = uri
        self._table = None
        self._open_lock = threading.Lock()
        self._write_lock = threading.Lock()
        budget = cache_bytes or int(setting("CLONE_STUDIO_VECTOR_CACHE_MB", "1024")) * 1024 * 1024
        self.matrices = MatrixCache(budget)
        self.vector_index_min_rows = int(setting("CLONE_STUDIO_VECTOR_INDEX_MIN_ROWS", "500000"))

    @property
    def table(self):
        if self._table is None:
            with self._open_lock:
                if self._table is None:
                    db = lancedb.connect(self.uri, read_consistency_interval=timedelta(0))
                    table = db.create_table(TABLE, schema=SCHEMA, exist_ok=True)
                    self._ensure_indexes(table)
                    self._table = table
        return self._table

    @staticmethod
    def _ensure_indexes(table, attempts: int = 6) -> None:
        """Create the missing indexes. Two processes opening a fresh store at once (the studio and
        the command line) race to create them: the loser's commit conflicts, so it looks again and
        creates only what is still missing. The race can also make one process's table creation an
        overwrite of the other's empty table, which drops the indexes made so far ("incompatible
        transaction"): looking again finds them missing and creates them."""
        for attempt in range(attempts):
            present = {column for index in table.list_indices() for column in index.columns}
            try:
                for column, config in _INDEXES.items():
                    if column not in present:
                        table.create_index(column, config=config)
                return
            except RuntimeError as error:
                retryable = any(sign in str(error).lower() for sign in ("commit conflict", "incompatible transaction"))
                if not retryable or attempt == attempts - 1:
                    raise
                time.sleep(0.05 * (attempt + 1))

    # ------------------------------------------------------------------ writes

    def add_document(self, clone_id: str, document_id: str, chunks: Sequence, vectors: np.ndarray) -> int:
        """All chunks of one document in one write; returns the number written."""
        if len(chunks) != len(vectors) or (len(vectors) and vectors.shape[1] != DIM):
            raise ValueError(f"expected {len(chunks)} vectors of {DIM} dimensions, got {vectors.shape}")
        if not chunks:
            return 0
        flat = pa.array(np.ascontiguousarray(vectors, dtype=np.float32).ravel(), pa.float32())
        data = pa.table({
            "id": [chunk_id(document_id, c.index) for c in chunks],
            "clone_id": [clone_id] * len(chunks),
            "document_id": [document_id] * len(chunks),
            "chunk_index": pa.array([c.index for c in chunks], pa.int32()),
            "text": [c.text for c in chunks],
            "page": pa.array([c.page for c in chunks], pa.int32()),
            "heading": [c.heading for c in chunks],
            "vector": pa.FixedSizeListArray.from_arrays(flat, DIM),
        }, schema=SCHEMA)
        with self._write_lock:
            self.table.add(data)
        return len(chunks)

    def delete_document(self, document_id: str) -> None:
        with self._write_lock:
            self.table.delete(f"document_id = {_literal(document_id)}")

    def delete_clone(self, clone_id: str) -> None:
        with self._write_lock:
            self.table.delete(f"clone_id = {_literal(clone_id)}")
        self.matrices.drop(clone_id)

    def optimize(self) -> None:
        """Fold new rows into the indexes (full text stays fast), compact, drop old versions, and
        build the vector index once the table is large enough for it to pay."""
        with self._write_lock:
            self.table.optimize(cleanup_older_than=timedelta(minutes=10))
        self.ensure_vector_index()

    def ensure_vector_index(self) -> bool:
        """An ANN index (IVF + HNSW, scalar-quantised) once the table holds `vector_index_min_rows`.

        Below that, every clone fits the in-memory exact search (faster, recall 1.0); the index
        serves clones too large for the cache, which otherwise scan LanceDB flat. New rows are
        folded into it by `optimize`. Returns whether the index exists.
        """
        if any("vector" in index.columns for index in self.table.list_indices()):
            return True
        if self.table.count_rows() < self.vector_index_min_rows:
            return False
        self.table.create_index("vector", config=IvfHnswSq(distance_type="cosine"))
        return True

    # ------------------------------------------------------------------ reads

    def count(self, clone_id: str | None = None, document_id: str | None = None) -> int:
        filters = [f"{name} = {_literal(value)}" for name, value in (("clone_id", clone_id), ("document_id", document_id)) if value]
        return self.table.count_rows(" AND ".join(filters) or None)

    def document_ids(self) -> set[str]:
        """Every document id that has chunks (one column scanned)."""
        rows = self.table.search().select(["document_id"]).limit(None).to_arrow()
        return set(pc.unique(rows["document_id"]).to_pylist())

    def document_chunks(self, document_id: str) -> pa.Table:
        rows = self.table.search().where(f"document_id = {_literal(document_id)}").select(META).limit(None).to_arrow()
        return rows.sort_by("chunk_index")

    def chunks(self, clone_id: str, ids: list[str]) -> pa.Table:
        """The clone's chunks of the given ids (any order), without their vectors."""
        if not ids:
            return pa.table({name: [] for name in META})
        where = f"clone_id = {_literal(clone_id)} AND id IN ({', '.join(_literal(i) for i in ids)})"
        return self.table.search().where(where).select(META).limit(None).to_arrow()

    def fulltext(self, clone_id: str, query: str, limit: int, ids_only: bool = False) -> pa.Table:
        """Best BM25 matches inside the clone, best first: ids and `_score`, plus the other
        columns and the vectors (to score them) unless `ids_only`."""
        return (
            self.table.search(query, query_type="fts", fts_columns="text")
            .where(f"clone_id = {_literal(clone_id)}", prefilter=True)
            .select(["id", "_score"] if ids_only else [*META, "vector", "_score"])
            .limit(limit)
            .to_arrow()
        )

    def nearest(self, clone_id: str, vector: np.ndarray, limit: int) -> pa.Table:
        """LanceDB's own vector search inside the clone (for clones too large to cache): through the
        ANN index when there is one, re-ranked on the full vectors, else a flat scan."""
        return (
            self.table.search(vector, vector_column_name="vector")
            .distance_type("cosine")
            .nprobes(NPROBES)
            .refine_factor(REFINE_FACTOR)
            .where(f"clone_id = {_literal(clone_id)}", prefilter=True)
            .select([*META, "vector", "_distance"])
            .limit(limit)
            .to_arrow()
        )

    def clone_rows(self, clone_id: str) -> pa.Table:
        return self.table.search().where(f"clone_id = {_literal(clone_id)}").select([*META, "vector"]).limit(None).to_arrow()

    def matrix(self, clone_id: str, fingerprint: Hashable, files: Callable[[], dict[str, str]]) -> CloneMatrix:
        """The clone's in-memory matrix for this fingerprint, loaded on a miss; only chunks of the
        documents `files()` returns (ready document id -> file name) are kept."""

        def load() -> CloneMatrix:
            started = time.perf_counter()
            names = files()
            rows = self.clone_rows(clone_id)
            rows = rows.filter(pc.is_in(rows["document_id"], value_set=pa.array(list(names), pa.string())))
            meta = rows.select(META).combine_chunks()  # one chunk per column: take() stays O(k)
            return CloneMatrix(fingerprint, names, vectors_of(rows), meta, (time.perf_counter() - started) * 1000)

        return self.matrices.get(clone_id, fingerprint, load)
