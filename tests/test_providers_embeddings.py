"""OpenAI embeddings through the real SDK against a local server, and switching a clone's
embedder (re-index with progress) on real SQLite/PostgreSQL + LanceDB."""
from __future__ import annotations

import numpy as np
import pytest
from sqlmodel import select

from core import keys
from core.errors import AuthFailed, InvalidInput
from core.models import UsageEvent
from core.preferences import set_base_url
from core.providers.remote import embedder_for
from tests.fakes import openai as fake_openai
from tests.fakes.fixtures import fake_server, no_outside_keys, policy, waits  # noqa: F401
from tests.fakes.server import sequence

KEY = "sk-embed-0123456789"
DOC = b"# Volcanoes\n\nA volcano erupts molten lava from the mantle.\n\n# Tea\n\nGreen tea is steamed, black tea is oxidised."


@pytest.fixture
def studio(runtime, no_outside_keys, fake_server):
    """The full runtime with an OpenAI key and the fake's URL saved through Settings."""
    keys.save_key(runtime, "openai", KEY)
    set_base_url(runtime, "openai", f"{fake_server.url}/v1")
    fake_server.route("POST", "/v1/embeddings", fake_openai.embeddings_handler)
    return runtime


def test_embeds_in_the_store_width_with_unit_vectors_and_meters_usage(studio, fake_server, policy):
    embedder = embedder_for(studio, "openai", policy=policy)
    vectors = embedder.embed(["green tea", "black tea", "lava"])
    assert vectors.shape == (3, 384) and vectors.dtype == np.float32
    assert np.allclose(np.linalg.norm(vectors, axis=1), 1.0, atol=1e-5)
    assert float(vectors[0] @ vectors[1]) > float(vectors[0] @ vectors[2])
    [sent] = fake_server.calls("POST", "/v1/embeddings")
    assert sent.json() == {"model": "text-embedding-3-small", "input": ["green tea", "black tea", "lava"],
                           "dimensions": 384, "encoding_format": "float"}
    assert sent.headers["authorization"] == f"Bearer {KEY}"
    with studio.session() as session:
        [event] = session.exec(select(UsageEvent)).all()
    assert (event.provider, event.kind, event.amount) == ("openai", "embed_tokens", 5)
    assert event.cost_usd == pytest.approx(5 * 0.02 / 1_000_000)


def test_embedding_errors_are_plain_and_retried(studio, fake_server, policy, waits):
    fake_server.route("POST", "/v1/embeddings", sequence(fake_openai.error(503, "busy"), fake_openai.embeddings_handler))
    assert embedder_for(studio, "openai", policy=policy).embed(["tea"]).shape == (1, 384)
    assert waits == [0.05]
    fake_server.route("POST", "/v1/embeddings", fake_openai.error(401, "bad key"))
    with pytest.raises(AuthFailed, match="OpenAI rejected the API key"):
        embedder_for(studio, "openai", policy=policy).embed(["tea"])


def _clone_with_document(runtime):
    from core.clones import create_clone
    from core.knowledge.ingest import ingest_now

    clone = create_clone(runtime, "Reindexed")
    document = ingest_now(runtime, clone.id, "notes.md", DOC)
    assert document.status == "ready"
    return clone


def test_switching_the_embedder_reindexes_with_progress(studio, fake_server, monkeypatch):
    from core.clones import get_clone
    from core.knowledge.reindex import reindex_plan, switch_embedder
    from core.knowledge.search import retrieve

    clone = _clone_with_document(studio)
    before = studio.store.clone_rows(clone.id)
    plan = reindex_plan(studio, clone.id, "openai")
    assert plan.needed and plan.chunks == before.num_rows and plan.current == "minilm"

    seen = []
    switched = switch_embedder(studio, clone.id, "openai", progress=lambda done, total: seen.append((done, total)))
    assert switched.embedding_provider == "openai"
    assert seen[-1] == (before.num_rows, before.num_rows)
    after = studio.store.clone_rows(clone.id)
    assert sorted(after["id"].to_pylist()) == sorted(before["id"].to_pylist())  # same chunks, new vectors
    by_id = dict(zip(after["id"].to_pylist(), after["vector"].to_pylist()))
    for chunk_id, text in zip(before["id"].to_pylist(), before["text"].to_pylist()):
        assert np.allclose(by_id[chunk_id], fake_openai.hashed_vector(text, 384), atol=1e-5)

    # retrieval now embeds the question with OpenAI too (environment key, as a CLI would have)
    monkeypatch.setenv("OPENAI_API_KEY", KEY)
    monkeypatch.setenv("OPENAI_BASE_URL", f"{fake_server.url}/v1")
    with studio.session() as session:
        clone = get_clone(session, clone.id)
    sources = retrieve(studio, clone, "volcano lava", hybrid=False).sources
    assert "lava" in sources[0].text

    # the question is embedded on the calling thread beside the text side: a rejected key reaches the caller
    # as its one plain sentence, and the clone's knowledge answers again once the key works
    fake_server.route("POST", "/v1/embeddings", fake_openai.error(401, "bad key"))
    with pytest.raises(AuthFailed, match="OpenAI rejected the API key"):
        retrieve(studio, clone, "where does the lava flow", hybrid=True)
    fake_server.route("POST", "/v1/embeddings", fake_openai.embeddings_handler)
    assert "lava" in retrieve(studio, clone, "where does the lava flow").sources[0].text


def test_switch_back_and_no_op(studio):
    from core.knowledge.reindex import switch_embedder

    clone = _clone_with_document(studio)
    assert switch_embedder(studio, clone.id, "minilm").embedding_provider == "minilm"  # already: nothing to do
    switch_embedder(studio, clone.id, "openai")
    back = switch_embedder(studio, clone.id, "minilm")
    assert back.embedding_provider == "minilm"


def test_a_failed_reindex_leaves_the_clone_as_it_was(studio, fake_server):
    from core.knowledge.reindex import switch_embedder

    clone = _clone_with_document(studio)
    before = studio.store.clone_rows(clone.id)["vector"].to_pylist()
    fake_server.route("POST", "/v1/embeddings", fake_openai.error(401, "bad key"))
    with pytest.raises(AuthFailed):
        switch_embedder(studio, clone.id, "openai")
    with studio.session() as session:
        from core.models import Clone

        assert session.get(Clone, clone.id).embedding_provider == "minilm"
    assert studio.store.clone_rows(clone.id)["vector"].to_pylist() == before


def test_unknown_embedder_is_refused(studio):
    from core.knowledge.reindex import switch_embedder

    clone = _clone_with_document(studio)
    with pytest.raises(InvalidInput):
        switch_embedder(studio, clone.id, "nosuch")
