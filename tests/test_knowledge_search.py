import threading

import numpy as np
import pytest

from core.clones import create_clone
from core.knowledge import ingest
from core.knowledge.chunk import Chunk
from core.knowledge.ingest import add_file, delete_document, ingest_now
from core.knowledge.search import retrieve

DOCS = {
    "refunds.md": "# Refunds\n\nWhen you return an item, we pay the money back to your card within 14 days of receiving the parcel.",
    "warranty.md": "# Warranty\n\nThe warranty covers manufacturing defects for two years from the date of purchase.",
    "shipping.md": "# Shipping\n\nOrders leave our warehouse every weekday afternoon and arrive in two to four days.",
    "errors.txt": "Error QX-7731 appears when the flux regulator is misaligned; restart the device to clear it.",
    "garden.md": "# Garden\n\nTomatoes need full sun, regular watering and a stake to climb as they grow.",
    "kitchen.md": "# Kitchen\n\nBake the bread at 220 degrees for forty minutes until the crust sounds hollow.",
}


@pytest.fixture
def clone(runtime):
    clone = create_clone(runtime, "Helper", top_k=3)
    for name, text in DOCS.items():
        assert ingest_now(runtime, clone.id, name, text.encode()).status == "ready"
    return clone


def test_exact_keyword_is_found(runtime, clone):
    result = retrieve(runtime, clone, "QX-7731")
    assert result.sources[0].document == "errors.txt"
    assert "QX-7731" in result.sources[0].text


def test_paraphrase_is_found(runtime, clone):
    result = retrieve(runtime, clone, "How long until I am reimbursed for something I sent back?")
    assert result.sources[0].document == "refunds.md"
    assert result.sources[0].score > 0.3


def test_sources_are_numbered_scored_and_limited(runtime, clone):
    result = retrieve(runtime, clone, "how many days does delivery take")
    assert [s.n for s in result.sources] == [1, 2, 3]
    assert all(0.0 <= s.score <= 1.0 for s in result.sources)
    assert result.sources[0].document == "shipping.md" and result.sources[0].heading == "Shipping"
    assert result.sources[0].page is None and result.sources[0].chunk_id and result.sources[0].document_id
    assert set(result.timings_ms) == {"prepare", "embed", "vector", "fulltext", "fuse", "rerank", "passages", "total"}
    assert len(retrieve(runtime, clone, "delivery", k=5).sources) == 5


def test_more_passages_than_the_rerank_usually_sees_can_be_asked_for(runtime):
    clone = create_clone(runtime, "Almanac", top_k=3)
    sections = "\n\n".join(f"# Day {n}\n\nOn day {n} the market sells {n} baskets of apples." for n in range(1, 31))
    assert ingest_now(runtime, clone.id, "almanac.md", sections.encode()).status == "ready"
    sources = retrieve(runtime, clone, "baskets of apples", k=25, hybrid=False).sources
    assert len(sources) == 25 and len({s.chunk_id for s in sources}) == 25


def test_vector_only_ranks_by_similarity(runtime, clone):
    sources = retrieve(runtime, clone, "growing vegetables", k=6, hybrid=False, use_rerank=False).sources
    scores = [s.score for s in sources]
    assert scores == sorted(scores, reverse=True) and len(scores) == 6
    assert [s.vector_rank for s in sources] == [1, 2, 3, 4, 5, 6] and {s.text_rank for s in sources} == {None}
    assert retrieve(runtime, clone, "growing vegetables", hybrid=False).timings_ms["fulltext"] == 0.0


def test_minimum_score_drops_weak_passages(runtime, clone):
    clone.min_score = 0.99
    assert retrieve(runtime, clone, "tomatoes").sources == []


def test_empty_query_returns_nothing(runtime, clone):
    assert retrieve(runtime, clone, "   ").sources == []


def test_search_syntax_in_a_question_is_just_text(runtime, clone):
    for query in ['what\'s "C++" (AND) OR -x?', "title:foo AND bar*", "~!@#$%^&*()", "a" * 300]:
        retrieve(runtime, clone, query)


def test_results_stay_inside_the_clone(runtime, clone):
    other = create_clone(runtime, "Other")
    ingest_now(runtime, other.id, "secret.md", b"Error QX-7731 is also described in this other clone's manual.")
    documents = set(DOCS)
    for query in ("QX-7731", "other clone manual"):
        assert {s.document for s in retrieve(runtime, clone, query, k=6).sources} <= documents
    assert retrieve(runtime, other, "QX-7731").sources[0].document == "secret.md"


def test_only_ready_documents_are_searched(runtime, clone):
    document = ingest._register(runtime, clone.id, "draft.md", "markdown", b"Zebra migration draft.")
    runtime.store.add_document(clone.id, document.id, [Chunk(0, "Zebra migration draft.", None, "")],
                               np.eye(1, 384, dtype=np.float32))
    assert all(s.document != "draft.md" for s in retrieve(runtime, clone, "zebra migration", k=6).sources)


def test_new_and_deleted_documents_show_up_at_once(runtime, clone):
    retrieve(runtime, clone, "penguins")  # warm the clone's cache
    added = ingest_now(runtime, clone.id, "penguins.md", b"Emperor penguins huddle together to survive the winter.")
    assert retrieve(runtime, clone, "penguins in the cold").sources[0].document == "penguins.md"
    delete_document(runtime, added.id)
    assert all(s.document != "penguins.md" for s in retrieve(runtime, clone, "penguins in the cold", k=6).sources)


def test_full_text_index_is_kept_current_after_ingestion(runtime, clone):
    table = runtime.store.table
    stats = {index.name: table.index_stats(index.name) for index in table.list_indices()}
    assert {index.index_type for index in table.list_indices()} == {"Bitmap", "BTree", "FTS"}
    assert all(s.num_unindexed_rows == 0 for s in stats.values())


def test_searching_while_documents_are_ingested(runtime, clone):
    errors = []

    def search():
        try:
            for _ in range(15):
                assert retrieve(runtime, clone, "refund of my money").sources
        except Exception as error:  # collected and asserted below
            errors.append(error)

    threads = [threading.Thread(target=search) for _ in range(3)]
    for thread in threads:
        thread.start()
    for i in range(4):
        add_file(runtime, clone.id, f"extra{i}.md", f"Extra note {i} about refunds and money.".encode())
    for thread in threads:
        thread.join()
    assert runtime.worker.wait_idle(120)
    assert errors == []
    assert any(s.document.startswith("extra") for s in retrieve(runtime, clone, "extra note about refunds", k=6).sources)


def test_a_clone_without_knowledge_finds_nothing(runtime):
    empty = create_clone(runtime, "Empty")
    result = retrieve(runtime, empty, "anything at all")
    assert result.sources == [] and result.timings_ms["total"] > 0


def test_vector_cache_is_bounded_and_keyed_by_fingerprint():
    import pyarrow as pa

    from core.knowledge.matrix import CloneMatrix, MatrixCache

    loads = []

    def loader(name, fingerprint, rows=100):
        def load():
            loads.append(name)
            return CloneMatrix(fingerprint, {}, np.ones((rows, 384), dtype=np.float32), pa.table({"id": [""] * rows}))
        return load

    cache = MatrixCache(budget_bytes=384 * 4 * 150)
    cache.get("a", "v1", loader("a1", "v1"))
    cache.get("a", "v1", loader("a1 again", "v1"))  # cached
    cache.get("b", "v1", loader("b1", "v1"))  # over budget: a is evicted, b (newest) kept
    cache.get("b", "v1", loader("b1 again", "v1"))
    cache.get("a", "v1", loader("a1 reload", "v1"))
    cache.get("a", "v2", loader("a2", "v2"))  # the clone changed
    assert loads == ["a1", "b1", "a1 reload", "a2"]
    rows, scores = cache.get("a", "v2", loader("unused", "v2")).top(np.ones(384, dtype=np.float32) / np.sqrt(384), 5)
    assert len(rows) == 5 and np.allclose(scores, np.sqrt(384))


def test_a_large_scan_split_over_the_cores_ranks_exactly_as_one_product():
    import pyarrow as pa

    from core.knowledge import matrix

    rng = np.random.default_rng(7)
    rows = 2 * matrix.SPLIT_ROWS + 13  # blocks of unequal length
    vectors = rng.standard_normal((rows, 384)).astype(np.float32)
    query = rng.standard_normal(384).astype(np.float32)
    exact = vectors.astype(np.float64) @ query
    assert np.allclose(matrix.scan(vectors, query), exact, atol=1e-3)
    assert np.allclose(matrix.scan(vectors[:100], query), exact[:100], atol=1e-3)
    with pytest.raises(ValueError):  # a block that fails is raised to the caller, which does not wait for it
        matrix.scan(vectors, query[:5])
    found, scores = matrix.CloneMatrix("v1", {}, vectors, pa.table({"id": [str(i) for i in range(rows)]})).top(query, 10)
    assert found.tolist() == np.argsort(-exact)[:10].tolist()


def test_scans_running_at_once_each_get_every_block_of_their_own_matrix():
    """Blocks are shared between the caller and idle pool threads: scans started together from several
    threads (as when several people ask at once) still each return their own matrix's exact products."""
    from concurrent.futures import ThreadPoolExecutor

    from core.knowledge import matrix

    rng = np.random.default_rng(11)
    rows = 3 * matrix.BLOCK_ROWS + 7
    cases = [(rng.standard_normal((rows, 384)).astype(np.float32), rng.standard_normal(384).astype(np.float32))
             for _ in range(4)]
    with ThreadPoolExecutor(4) as callers:
        for _ in range(5):
            results = list(callers.map(lambda case: matrix.scan(*case), cases))
            for (vectors, query), scores in zip(cases, results):
                assert np.allclose(scores, vectors.astype(np.float64) @ query, atol=1e-3)


def test_numpy_blas_runs_on_one_thread_once_the_search_is_loaded():
    from threadpoolctl import threadpool_info

    import core.knowledge.matrix  # noqa: F401

    assert [lib["num_threads"] for lib in threadpool_info() if lib["user_api"] == "blas"] == [1]


def test_a_clone_too_large_for_the_cache_is_searched_in_lancedb(runtime, clone):
    cached = retrieve(runtime, clone, "when is my money returned", k=4)
    runtime.store.matrices.budget_bytes = 1024  # smaller than this clone's vectors
    direct = retrieve(runtime, clone, "when is my money returned", k=4)
    assert [(s.chunk_id, round(s.score, 4)) for s in direct.sources] == [(s.chunk_id, round(s.score, 4)) for s in cached.sources]


def test_past_the_row_threshold_a_vector_index_serves_clones_too_large_to_cache(runtime, clone):
    other = create_clone(runtime, "Other")
    rng = np.random.default_rng(3)
    vectors = rng.standard_normal((600, 384)).astype(np.float32)
    vectors /= np.linalg.norm(vectors, axis=1, keepdims=True)
    chunks = [Chunk(index=i, text=f"filler passage {i}", page=None, heading="") for i in range(600)]
    runtime.store.add_document(other.id, "bulk", chunks, vectors)
    cached = retrieve(runtime, clone, "when is my money returned", k=4)

    runtime.store.vector_index_min_rows = 10_000
    runtime.store.optimize()
    assert not any("vector" in index.columns for index in runtime.store.table.list_indices())
    runtime.store.vector_index_min_rows = 500
    runtime.store.optimize()
    assert any("vector" in index.columns for index in runtime.store.table.list_indices())

    runtime.store.matrices.budget_bytes = 1024  # the clone no longer fits: LanceDB answers, through the index
    indexed = retrieve(runtime, clone, "when is my money returned", k=4)
    assert [s.chunk_id for s in indexed.sources] == [s.chunk_id for s in cached.sources]
    assert {s.document_id for s in indexed.sources} <= {d.id for d in ingest.list_documents(runtime, clone.id)}


def test_a_new_question_is_embedded_beside_the_full_text_leg_with_the_same_result(runtime, clone):
    from core.knowledge import search

    search._recent.clear()
    first = retrieve(runtime, clone, "how long until my refund arrives", k=3)  # embedded beside the text side
    again = retrieve(runtime, clone, "how long until my refund arrives", k=3)  # remembered vector
    assert first.timings_ms["embed"] > 0 and again.timings_ms["embed"] == 0
    assert [(s.chunk_id, s.rerank) for s in first.sources] == [(s.chunk_id, s.rerank) for s in again.sources]
    assert first.sources[0].document == "refunds.md"
