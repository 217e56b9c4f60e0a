"""The service API through Starlette's TestClient on the real st.App (pages + /api + /healthz)."""
from __future__ import annotations

import json
import subprocess
import sys

import pytest

from core.api.limits import MAX_QUESTION_CHARS
from tests.api_app import api_app  # noqa: F401  (module fixture)
from tests.studio_app import ROOT

BAKE = "When does the first bake start?"
ASK_KEYS = {"answer", "thread_id", "provider", "model", "citations", "timings_ms", "prompt_versions", "status", "error"}


@pytest.fixture(scope="module")
def demo(api_app):
    from core.clones import list_clones

    with api_app.runtime.session() as session:
        clone = list_clones(session, "local")[0]
    return clone


@pytest.fixture(scope="module")
def bob(api_app):
    """A second owner with a clone of their own that knows one fact."""
    from core.clones import create_clone
    from core.knowledge.ingest import ingest_now

    runtime = api_app.runtime.scoped("bob")
    clone = create_clone(runtime, "Bob's Lighthouse Keeper")
    ingest_now(runtime, clone.id, "lighthouse.md",
               b"# Lighthouse\n\nThe lamp of the Skerry lighthouse is lit every evening at dusk by the keeper.\n")
    return clone


def tool(api_app, headers, query, clone_id):
    return api_app.client.post("/api/tools/knowledge", headers=headers, json={"query": query, "clone_id": clone_id})


def test_healthz_says_ok_without_a_token_and_without_data(api_app):
    response = api_app.client.get("/healthz")
    assert response.status_code == 200
    assert response.json() == {"status": "ok"}


def test_the_pages_are_still_served_by_the_same_app(api_app):
    assert api_app.client.get("/_stcore/health").text == "ok"
    assert "text/html" in api_app.client.get("/").headers["content-type"]


@pytest.mark.parametrize("headers", [{}, {"Authorization": "Bearer cs_not-a-real-token"}, {"Authorization": "Basic abc"},
                                     {"X-Service-Token": "cs_wrong"}])
def test_401_without_a_token_or_with_a_bad_one(api_app, demo, headers):
    for response in (api_app.client.get("/api/clones", headers=headers),
                     tool(api_app, headers, BAKE, demo.id),
                     api_app.client.get("/api/metrics", headers=headers)):
        assert response.status_code == 401
        assert response.headers["WWW-Authenticate"] == "Bearer"
        assert "token" in response.json()["error"]


def test_a_revoked_token_stops_working_at_once(api_app):
    from core.api.tokens import revoke_token

    headers = api_app.token("soon revoked")
    assert api_app.client.get("/api/clones", headers=headers).status_code == 200
    revoke_token(api_app.runtime, "soon revoked")
    assert api_app.client.get("/api/clones", headers=headers).status_code == 401


def test_unknown_api_paths_are_json_404_and_wrong_methods_json_405(api_app):
    for method, path in (("GET", "/api/nope"), ("POST", "/api/clones/x/unknown"), ("DELETE", "/api"), ("GET", "/api/")):
        response = api_app.client.request(method, path)
        assert response.status_code == 404, path
        assert response.headers["content-type"] == "application/json"
        assert list(response.json()) == ["error"]
    response = api_app.client.get("/api/tools/knowledge")
    assert response.status_code == 405 and response.headers["Allow"] == "POST"
    assert response.json() == {"error": "Use POST for this endpoint."}


def test_each_token_sees_only_its_owners_clones(api_app, demo, bob):
    local, bobs = api_app.token("local lister"), api_app.token("bob lister", "bob")
    mine = api_app.client.get("/api/clones", headers=local).json()["clones"]
    theirs = api_app.client.get("/api/clones", headers=bobs).json()["clones"]
    assert [c["id"] for c in mine] == [demo.id]
    assert [c["id"] for c in theirs] == [bob.id] and theirs[0]["documents"] == 1
    # another owner's clone is exactly as unknown as a clone that does not exist, on every endpoint
    for headers, clone_id in ((local, bob.id), (bobs, demo.id), (local, "no-such-clone")):
        for path, body in ((f"/api/clones/{clone_id}/ask", {"question": "Who lights the lamp?"}),
                           (f"/api/clones/{clone_id}/search", {"query": "lamp"})):
            response = api_app.client.post(path, headers=headers, json=body)
            assert response.status_code == 404, (path, response.text)
            assert "no clone with that id" in response.json()["error"]
        assert tool(api_app, headers, "Who lights the lamp?", clone_id).status_code == 404
    found = tool(api_app, bobs, "Who lights the lamp?", bob.id).json()
    assert "keeper" in found["content"] and found["citations"][0]["document"] == "lighthouse.md"


def test_metrics_count_only_the_tokens_owner(api_app, bob):
    counts = api_app.client.get("/api/metrics", headers=api_app.token("bob metrics", "bob")).json()
    assert {k: counts[k] for k in ("users", "clones", "documents", "chunks")} == {"users": 1, "clones": 1, "documents": 1, "chunks": 1}
    assert counts["cache"]["backend"] == "memory"
    local = api_app.client.get("/api/metrics", headers=api_app.token("local metrics")).json()
    assert local["clones"] == 1 and local["documents"] == 3


def test_61st_request_in_a_minute_gets_429_with_retry_after(api_app):
    headers, other = api_app.token("busy"), api_app.token("calm")
    statuses = [api_app.client.get("/api/clones", headers=headers).status_code for _ in range(61)]
    assert statuses[:60] == [200] * 60 and statuses[60] == 429
    response = api_app.client.get("/api/clones", headers=headers)
    assert response.status_code == 429
    assert 1 <= int(response.headers["Retry-After"]) <= 60
    assert "60 requests per minute" in response.json()["error"]
    assert api_app.client.get("/api/clones", headers=other).status_code == 200  # the limit is per token


def test_both_tool_call_shapes_answer_with_spoken_content_and_citations(api_app, demo):
    headers = api_app.token("voice agent")
    plain = tool(api_app, headers, BAKE, demo.id)
    advisor = api_app.client.post("/api/tools/knowledge", headers={"X-Service-Token": headers["Authorization"][7:]}, json={
        "function_name": "query_persona_knowledge", "parameters": {"query": BAKE, "persona_id": demo.id}})
    for response in (plain, advisor):
        assert response.status_code == 200
        body = response.json()
        assert "4:30" in body["content"] and len(body["content"]) <= 500 and body["content"].endswith(".")
        assert "[1]" not in body["content"]
        assert set(body["citations"][0]) == {"document", "page", "text", "score"}
        assert body["citations"][0]["document"] == "juniper-street-bakery-handbook.md"


@pytest.mark.parametrize("body, status, words", [
    ({"function_name": "delete_everything", "parameters": {"query": "x", "persona_id": "y"}}, 400, "Unknown function"),
    ({"function_name": "query_persona_knowledge", "parameters": "x"}, 400, "parameters"),
    ({"query": "", "clone_id": "x"}, 400, "non-empty"),
    ({"query": "x" * (MAX_QUESTION_CHARS + 1), "clone_id": "x"}, 400, "too long"),
    ({"query": "hello"}, 400, "clone_id"),
    ({"query": "hello", "clone_id": "nobody-has-this"}, 404, "no clone"),
])
def test_tool_call_mistakes_get_one_sentence(api_app, body, status, words):
    response = api_app.client.post("/api/tools/knowledge", headers=api_app.token(f"mistakes {status} {words}"), json=body)
    assert response.status_code == status
    assert words in response.json()["error"]


def test_bodies_that_are_not_json_objects_or_too_large_are_refused(api_app, demo):
    headers = api_app.token("bad bodies")
    assert api_app.client.post("/api/tools/knowledge", headers=headers, content=b"not json").status_code == 400
    assert api_app.client.post("/api/tools/knowledge", headers=headers, json=[1, 2]).status_code == 400
    huge = api_app.client.post("/api/tools/knowledge", headers=headers, content=b"{" + b" " * 70_000 + b"}")
    assert huge.status_code == 413 and "too large" in huge.json()["error"]


def test_repeated_query_is_cached_until_an_upload_changes_the_clone(api_app, bob):
    from core.api.cache import get_cache
    from core.knowledge.ingest import ingest_now

    headers = api_app.token("cache watcher", "bob")
    before = get_cache().stats("bob")
    first = tool(api_app, headers, "Where is the fog horn kept?", bob.id).json()
    again = tool(api_app, headers, "  where is the FOG horn kept ", bob.id).json()
    assert first["cached"] is False and again["cached"] is True  # "nothing found" is cached too
    assert first["citations"] == [] and again["content"] == first["content"]
    ingest_now(api_app.runtime.scoped("bob"), bob.id, "horn.md", b"# Fog horn\n\nThe fog horn is kept in the boathouse by the pier.\n")
    after = tool(api_app, headers, "Where is the fog horn kept?", bob.id).json()
    assert after["cached"] is False and "boathouse" in after["content"]
    assert tool(api_app, headers, "Where is the fog horn kept?", bob.id).json()["cached"] is True
    stats = get_cache().stats("bob")
    assert stats["hits"] - before["hits"] == 2 and stats["misses"] - before["misses"] == 2
    assert stats["invalidated"] - before["invalidated"] == 1


def test_a_change_made_by_another_process_drops_the_cached_answer(api_app, demo, tmp_path):
    headers = api_app.token("cli watcher")
    question = "Who plans the baking schedule?"
    assert tool(api_app, headers, question, demo.id).json()["cached"] is False
    assert tool(api_app, headers, question, demo.id).json()["cached"] is True
    note = tmp_path / "schedule.md"
    note.write_text("# Schedule owner\n\nFrom December the baking schedule is planned by Ingrid Sol.\n")
    done = subprocess.run([sys.executable, "-m", "core", "ingest", "--clone", demo.id, str(note)], cwd=ROOT,
                          env=api_app.env, capture_output=True, text=True, timeout=240)
    assert done.returncode == 0, done.stderr
    refreshed = tool(api_app, headers, question, demo.id).json()
    assert refreshed["cached"] is False
    assert any(c["document"] == "schedule.md" for c in refreshed["citations"])


def test_ask_returns_the_ask_json_shape_and_repeats_come_from_the_cache(api_app, demo):
    headers = api_app.token("asker")
    first = api_app.client.post(f"/api/clones/{demo.id}/ask", headers=headers, json={"question": BAKE})
    assert first.status_code == 200
    body = first.json()
    assert set(body) == ASK_KEYS | {"cached"} and body["cached"] is False
    assert body["status"] == "complete" and "4:30" in body["answer"] and body["citations"][0]["cited"]
    again = api_app.client.post(f"/api/clones/{demo.id}/ask", headers=headers, json={"question": BAKE.upper()}).json()
    assert again["cached"] is True and again["answer"] == body["answer"]
    follow_up = api_app.client.post(f"/api/clones/{demo.id}/ask", headers=headers,
                                    json={"question": "And the cardamom buns?", "thread_id": body["thread_id"]}).json()
    assert follow_up["thread_id"] == body["thread_id"] and follow_up["cached"] is False


def test_ask_streams_server_sent_events(api_app, demo):
    response = api_app.client.post(f"/api/clones/{demo.id}/ask", headers=api_app.token("streamer"),
                                   json={"question": BAKE, "stream": True})
    assert response.status_code == 200 and response.headers["content-type"].startswith("text/event-stream")
    events = [(block.split("\n")[0].removeprefix("event: "), json.loads(block.split("\n")[1].removeprefix("data: ")))
              for block in response.text.strip().split("\n\n")]
    names = [name for name, _ in events]
    assert names[0] == "retrieved" and names[-1] == "done" and names.count("token") > 3
    streamed = "".join(data["text"] for name, data in events if name == "token")
    done = events[-1][1]
    assert set(done) == ASK_KEYS and done["answer"] == streamed and done["thread_id"] == events[0][1]["thread_id"]


def test_search_returns_ranked_passages_of_the_clone(api_app, demo):
    headers = api_app.token("searcher")
    response = api_app.client.post(f"/api/clones/{demo.id}/search", headers=headers, json={"query": "parking", "k": 2})
    assert response.status_code == 200
    results = response.json()["results"]
    assert len(results) == 2 and results[0]["document"] == "heron-ridge-trail-guide.md"
    bad = api_app.client.post(f"/api/clones/{demo.id}/search", headers=headers, json={"query": "parking", "k": 0})
    assert bad.status_code == 400 and "k" in bad.json()["error"]
