"""The repeated-query cache in front of the knowledge tool and /ask.

Entries are keyed by owner, clone, kind and the normalised question, and hold the clone's
*fingerprint* at the time they were made: its model and retrieval settings and `updated_at`,
its active prompt versions and the count / newest change / chunk total of its documents, all
read in one indexed SQL statement on every lookup (well under a millisecond). An entry whose
fingerprint differs is dropped and counted as a miss, so an upload, a prompt save or rollback or
a model change invalidates the clone's answers at once, whichever process made the change (a
second studio process, the command line): no process has to remember to bump anything.

Answers live 5 minutes, "nothing found" 2 minutes. In one process the cache is an in-memory
LRU; with REDIS_URL set it is Redis, so several studio processes share entries and counts.
"""
from __future__ import annotations

import hashlib
import json
import logging
import threading
import time
import unicodedata
from collections import Counter, OrderedDict
from typing import Any

from sqlalchemy import and_, bindparam, func, select

from core.config import setting
from core.models import Clone, Document, PromptVersion

log = logging.getLogger(__name__)

ANSWER_TTL_S = 300
NOTHING_TTL_S = 120
MAX_ENTRIES = 10_000
REDIS_PREFIX = "clone-studio:cache:"


def normalise(question: str) -> str:
    """Case, spacing, Unicode width and trailing punctuation do not make a new question."""
    text = unicodedata.normalize("NFKC", str(question or "")).casefold()
    return " ".join(text.split()).rstrip(" ?!.。？！")


def _active(layer: str):
    return (select(PromptVersion.version)
            .where(PromptVersion.clone_id == Clone.id, PromptVersion.layer == layer, PromptVersion.active.is_(True))
            .limit(1).scalar_subquery())


def _documents(column):
    return select(column).where(Document.clone_id == Clone.id).scalar_subquery()


def _statement():
    return (
        select(Clone.updated_at, Clone.llm_provider, Clone.llm_model, Clone.temperature, Clone.max_tokens,
               Clone.embedding_provider, Clone.top_k, Clone.hybrid, Clone.min_score,
               _active("system"), _active("rag"), _active("user"),
               select(func.count(PromptVersion.id)).where(PromptVersion.clone_id == Clone.id).scalar_subquery(),
               _documents(func.count(Document.id)), _documents(func.max(Document.updated_at)),
               _documents(func.sum(Document.chunk_count)))
        .where(and_(Clone.id == bindparam("clone_id"), Clone.owner_id == bindparam("owner_id")))
    )


_FINGERPRINT = _statement()


def fingerprint(runtime, owner_id: str, clone_id: str) -> str | None:
    """The clone's current fingerprint, or None when the owner has no such clone."""
    with runtime.engine.connect() as connection:
        row = connection.execute(_FINGERPRINT, {"clone_id": clone_id, "owner_id": owner_id}).first()
    if row is None:
        return None
    return hashlib.blake2b(repr(tuple(row)).encode(), digest_size=12).hexdigest()


def _key(owner_id: str, clone_id: str, kind: str, question: str) -> str:
    raw = json.dumps([owner_id, clone_id, kind, normalise(question)], ensure_ascii=False)
    return hashlib.sha256(raw.encode("utf-8")).hexdigest()


class MemoryBackend:
    """A bounded LRU with per-entry expiry; thread-safe."""

    name = "memory"

    def __init__(self, max_entries: int = MAX_ENTRIES):
        self.max_entries = max_entries
        self._items: OrderedDict[str, tuple[float, str]] = OrderedDict()
        self._counts: dict[str, Counter] = {}
        self._lock = threading.Lock()

    def get(self, key: str) -> str | None:
        with self._lock:
            item = self._items.get(key)
            if item is None:
                return None
            if item[0] <= time.monotonic():
                del self._items[key]
                return None
            self._items.move_to_end(key)
            return item[1]

    def set(self, key: str, value: str, ttl: float) -> None:
        with self._lock:
            self._items[key] = (time.monotonic() + ttl, value)
            self._items.move_to_end(key)
            while len(self._items) > self.max_entries:
                self._items.popitem(last=False)

    def delete(self, key: str) -> None:
        with self._lock:
            self._items.pop(key, None)

    def count(self, owner_id: str, field: str) -> None:
        with self._lock:
            self._counts.setdefault(owner_id, Counter())[field] += 1

    def counts(self, owner_id: str) -> dict[str, int]:
        with self._lock:
            return dict(self._counts.get(owner_id, {}))

    def close(self) -> None:
        pass


class RedisBackend:
    """The same operations on Redis (SET with EX, HINCRBY for the counts), shared by every process."""

    name = "redis"

    def __init__(self, url: str):
        import redis

        self.client = redis.Redis.from_url(url, socket_connect_timeout=2, socket_timeout=2, decode_responses=True)

    def get(self, key: str) -> str | None:
        return self.client.get(REDIS_PREFIX + key)

    def set(self, key: str, value: str, ttl: float) -> None:
        self.client.set(REDIS_PREFIX + key, value, ex=max(1, int(ttl)))

    def delete(self, key: str) -> None:
        self.client.delete(REDIS_PREFIX + key)

    def count(self, owner_id: str, field: str) -> None:
        self.client.hincrby(f"{REDIS_PREFIX}stats:{owner_id}", field, 1)

    def counts(self, owner_id: str) -> dict[str, int]:
        return {k: int(v) for k, v in self.client.hgetall(f"{REDIS_PREFIX}stats:{owner_id}").items()}

    def close(self) -> None:
        self.client.close()


class AnswerCache:
    def __init__(self, backend):
        self.backend = backend

    def lookup(self, runtime, owner_id: str, clone_id: str, kind: str, question: str) -> tuple[str | None, Any]:
        """(fingerprint, cached value or None); fingerprint None means the owner has no such clone."""
        current = fingerprint(runtime, owner_id, clone_id)
        if current is None:
            return None, None
        key = _key(owner_id, clone_id, kind, question)
        try:
            raw = self.backend.get(key)
        except Exception:  # a cache that is down is a miss, never a failed request
            log.warning("The answer cache could not be read; answering without it.", exc_info=True)
            return current, None
        entry = json.loads(raw) if raw else None
        if entry is not None and entry.get("fingerprint") != current:
            self._safely(self.backend.delete, key)
            self._safely(self.backend.count, owner_id, "invalidated")
            entry = None
        self._safely(self.backend.count, owner_id, "hits" if entry is not None else "misses")
        return current, (entry["value"] if entry is not None else None)

    def store(self, owner_id: str, clone_id: str, kind: str, question: str, fingerprint_: str, value: Any,
              found: bool) -> None:
        entry = json.dumps({"fingerprint": fingerprint_, "value": value}, ensure_ascii=False, default=str)
        self._safely(self.backend.set, _key(owner_id, clone_id, kind, question), entry,
                     ANSWER_TTL_S if found else NOTHING_TTL_S)

    def stats(self, owner_id: str) -> dict[str, int]:
        counts = self._safely(self.backend.counts, owner_id) or {}
        return {"hits": counts.get("hits", 0), "misses": counts.get("misses", 0),
                "invalidated": counts.get("invalidated", 0), "backend": self.backend.name}

    @staticmethod
    def _safely(fn, *args):
        try:
            return fn(*args)
        except Exception:
            log.warning("The answer cache is unavailable (%s); carrying on without it.", fn.__name__, exc_info=True)
            return None

    def close(self) -> None:
        self.backend.close()


_cache: AnswerCache | None = None
_cache_lock = threading.Lock()


def get_cache() -> AnswerCache:
    """The process's cache: Redis when REDIS_URL is set, else in memory."""
    global _cache
    with _cache_lock:
        if _cache is None:
            url = setting("REDIS_URL")
            _cache = AnswerCache(RedisBackend(url) if url else MemoryBackend())
        return _cache


def reset_cache() -> None:
    """Forget the process's cache (start-up, tests); the next `get_cache` reads REDIS_URL again."""
    global _cache
    with _cache_lock:
        if _cache is not None:
            _cache.close()
        _cache = None
