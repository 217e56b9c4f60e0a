"""The repeated-query cache and the rate limit, in memory and on a real Redis server (Debian's
redis-server on 127.0.0.1, started here), including two "processes" sharing one Redis."""
from __future__ import annotations

import os
import shutil
import subprocess
import time

import pytest

from core.api.cache import AnswerCache, MemoryBackend, RedisBackend, fingerprint, normalise
from core.api.errors import ApiError
from core.api.limits import RateLimiter
from tests.browser import free_port


@pytest.fixture(scope="module")
def redis_url(tmp_path_factory):
    binary = shutil.which("redis-server")
    if binary is None:
        if os.environ.get("CI"):
            pytest.fail("redis-server is not installed (apt-get install redis-server).")
        pytest.skip("redis-server is not installed (apt-get install redis-server).")
    port = free_port()
    workdir = tmp_path_factory.mktemp("redis")
    process = subprocess.Popen([binary, "--port", str(port), "--bind", "127.0.0.1", "--save", "", "--appendonly", "no",
                                "--dir", str(workdir)], stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    import redis

    client = redis.Redis(port=port, host="127.0.0.1")
    for _ in range(100):
        try:
            client.ping()
            break
        except redis.ConnectionError:
            time.sleep(0.05)
    yield f"redis://127.0.0.1:{port}/0"
    client.close()
    process.terminate()
    process.wait(timeout=10)


@pytest.fixture
def clone(runtime):
    from core.clones import create_clone

    return create_clone(runtime, "Cache Test")


def test_normalised_questions_share_an_entry():
    assert normalise("  What time  is IT? ") == normalise("what time is it") == "what time is it"
    assert normalise("Ｗｈａｔ") == "what"
    assert normalise("what time is it now") != normalise("what time is it")


def test_fingerprint_changes_with_prompts_model_and_knowledge_and_is_owner_bound(runtime, clone):
    from core.clones import update_clone
    from core.knowledge.ingest import delete_document, ingest_now
    from core.prompts import activate_version, save_version

    seen = [fingerprint(runtime, "local", clone.id)]
    assert fingerprint(runtime, "someone-else", clone.id) is None
    with runtime.session() as session:
        save_version(session, clone.id, "system", "You are terse.", "shorter", activate=True)
    seen.append(fingerprint(runtime, "local", clone.id))
    with runtime.session() as session:
        activate_version(session, clone.id, "system", 1)  # a rollback
    seen.append(fingerprint(runtime, "local", clone.id))
    update_clone(runtime, clone.id, llm_model="another-model")
    seen.append(fingerprint(runtime, "local", clone.id))
    document = ingest_now(runtime, clone.id, "a.md", b"# A\n\nAlpha is the first letter.\n")
    seen.append(fingerprint(runtime, "local", clone.id))
    delete_document(runtime, document.id)
    seen.append(fingerprint(runtime, "local", clone.id))
    assert all(before != after for before, after in zip(seen, seen[1:]))
    assert len(set(seen[:5])) == 5
    assert seen[5] == seen[3]  # the same knowledge as before the upload: answers from then are valid again


def test_entries_expire_and_the_memory_cache_stays_bounded():
    backend = MemoryBackend(max_entries=3)
    backend.set("a", "1", ttl=0.05)
    assert backend.get("a") == "1"
    time.sleep(0.08)
    assert backend.get("a") is None
    for key in "bcde":
        backend.set(key, key, ttl=60)
    assert backend.get("b") is None and backend.get("e") == "e"


def _exercise(cache_a: AnswerCache, cache_b: AnswerCache, runtime, clone) -> None:
    current, value = cache_a.lookup(runtime, "local", clone.id, "knowledge", "Where?")
    assert value is None
    cache_a.store("local", clone.id, "knowledge", "Where?", current, {"content": "Here."}, found=True)
    assert cache_b.lookup(runtime, "local", clone.id, "knowledge", "where")[1] == {"content": "Here."}
    assert cache_b.lookup(runtime, "bob", clone.id, "knowledge", "where") == (None, None)  # not bob's clone
    from core.clones import update_clone

    update_clone(runtime, clone.id, top_k=3)
    assert cache_b.lookup(runtime, "local", clone.id, "knowledge", "where")[1] is None
    assert cache_a.lookup(runtime, "local", clone.id, "knowledge", "where")[1] is None


def test_memory_cache_hits_misses_and_invalidation(runtime, clone):
    cache = AnswerCache(MemoryBackend())
    _exercise(cache, cache, runtime, clone)
    assert cache.stats("local") == {"hits": 1, "misses": 3, "invalidated": 1, "backend": "memory"}
    assert cache.stats("bob")["hits"] == 0


def test_two_processes_share_entries_and_counts_through_redis(runtime, clone, redis_url):
    first, second = AnswerCache(RedisBackend(redis_url)), AnswerCache(RedisBackend(redis_url))
    first.backend.client.flushdb()
    _exercise(first, second, runtime, clone)
    assert first.stats("local") == second.stats("local") == {"hits": 1, "misses": 3, "invalidated": 1, "backend": "redis"}
    key = next(iter(first.backend.client.scan_iter("clone-studio:cache:*", count=100)))
    assert key.startswith("clone-studio:cache:")


def test_nothing_found_lives_shorter_than_an_answer(redis_url, runtime, clone):
    cache = AnswerCache(RedisBackend(redis_url))
    current, _ = cache.lookup(runtime, "local", clone.id, "knowledge", "found")
    cache.store("local", clone.id, "knowledge", "found", current, {"content": "x"}, found=True)
    cache.store("local", clone.id, "knowledge", "missing", current, {"content": "none"}, found=False)
    ttls = sorted(cache.backend.client.ttl(k) for k in cache.backend.client.scan_iter("clone-studio:cache:[0-9a-f]*"))
    assert 100 < ttls[0] <= 120 and 280 < ttls[-1] <= 300


def test_an_unreachable_redis_is_a_miss_not_a_failure(runtime, clone):
    cache = AnswerCache(RedisBackend(f"redis://127.0.0.1:{free_port()}/0"))
    current, value = cache.lookup(runtime, "local", clone.id, "knowledge", "q")
    assert current is not None and value is None
    cache.store("local", clone.id, "knowledge", "q", current, {"content": "x"}, found=True)  # does not raise


def test_the_rate_limit_is_shared_by_processes_on_redis(redis_url):
    first, second = RateLimiter("3/minute", redis_url), RateLimiter("3/minute", redis_url)
    first.storage.reset()
    first.check("tok")
    second.check("tok")
    first.check("tok")
    with pytest.raises(ApiError) as refused:
        second.check("tok")
    assert refused.value.status == 429 and 1 <= int(refused.value.headers["Retry-After"]) <= 60
    second.check("another token")
