"""Ranking signals on small real texts: contextual headers, BM25, document signals, rerank,
the chunk-format upgrade, and the offline answerer's gate."""
from __future__ import annotations

import numpy as np
import pytest

from core.clones import create_clone
from core.knowledge.bm25 import BM25, tokens
from core.knowledge.chunk import chunk_pages
from core.knowledge.extract import Page
from core.knowledge.ingest import ingest_now, list_documents, stored_file
from core.knowledge.profile import FORMAT, context_header, document_profile
from core.knowledge.rerank import Candidate, rerank
from core.knowledge.search import passages, retrieve, stitch, widen
from core.knowledge.store import chunk_id
from core.knowledge.signals import DocumentSignal, heading_match, identity
from core.knowledge.upgrade import upgrade_clone
from core.providers.base import Source
from core.providers.offline_llm import CLOSEST, NOT_FOUND, is_refusal, respond
from tests.documents import TERMINATION

# Two versions of one (made-up but ordinary) product manual: same wording, different numbers.
V1 = ("Kettle Manual\nVersion 1\n\nCleaning\n========\n\nDescale the kettle every 4 weeks with white vinegar.\n\n"
      "Warranty\n========\n\nThe warranty lasts 12 months from the date of purchase.\n")
V2 = ("Kettle Manual\nVersion 2\n\nCleaning\n========\n\nDescale the kettle every 8 weeks with citric acid.\n\n"
      "Warranty\n========\n\nThe warranty lasts 24 months from the date of purchase.\n")
RFC = "RFC: 9999\nTitle: A Tiny Protocol\nStatus: Obsoleted\nObsoleted-By: 10000\n\nThe protocol sends one byte.\n"


def test_tokens_stem_drop_stop_words_and_keep_versions():
    assert tokens("The Kettles were descaled in version 3.14 of PEP 0722") == ["kettl", "descal", "version", "3.14",
                                                                                 "pep", "722"]


def test_symbols_are_indexed_by_their_names():
    assert tokens("Why $ and braces? 73% of ## lines cost €5") == ["dollar", "brace", "73", "percent", "hash", "hash",
                                                                  "line", "cost", "euro", "5"]
    index = BM25(["Why ``$`` and braces?", "Why braces?"])
    assert index.top(index.scores(tokens("why a dollar sign")), 2).tolist() == [0]


def test_bm25_prefers_the_rare_term_and_scores_zero_without_a_match():
    index = BM25(["the kettle boils water", "the kettle descales", "a toaster browns bread", ""])
    scores = index.scores("descale the kettle")
    assert scores[1] > scores[0] > 0 and scores[2] == scores[3] == 0
    assert index.top(scores, 5).tolist() == [1, 0]
    assert index.scores("nothing matches here").sum() == 0


def test_document_title_comes_from_the_documents_own_header():
    assert document_profile(RFC, "rfc9999.txt").title == "A Tiny Protocol (rfc9999)"
    assert document_profile(RFC, "rfc9999.txt").fields["Status"] == "Obsoleted"
    assert document_profile("# Field Guide\n\nOwls.", "guide.md").title == "Field Guide"  # the name adds nothing
    assert document_profile("# Field Guide\n\nOwls.", "owls-2024.md").title == "Field Guide (owls-2024)"
    assert document_profile(V2, "kettle-v2.txt").title == "Kettle Manual Version 2 (kettle-v2)"
    assert context_header("Kettle Manual", "Warranty") == "Kettle Manual — Warranty"
    assert context_header("Kettle Manual", "") == "Kettle Manual"


def test_plain_text_headings_start_sections():
    text = ("Intro line.\n\nCleaning\n========\n\nDescale often.\n\n  3. Conveying Copies.\n\nYou may copy it.\n\n"
            "TERMS AND CONDITIONS\n\nAll of them.\n\nWhy not use a distinct form of comment for the dependency block?\n"
            "----------------------------------------------------------------\n\nA previous version used two.")
    chunks = chunk_pages([Page(None, text)], "text")
    assert [c.heading for c in chunks] == ["", "Cleaning", "3. Conveying Copies", "TERMS AND CONDITIONS",
                                           "Why not use a distinct form of comment for the dependency block?"]
    assert "Descale often." in chunks[1].text


def test_a_query_naming_a_version_or_status_matches_that_document():
    signal = DocumentSignal({
        "v1": identity("kettle-v1.txt", {"title": "Kettle Manual Version 1"}),
        "v2": identity("kettle-v2.txt", {"title": "Kettle Manual Version 2"}),
        "rfc": identity("rfc9999.txt", document_profile(RFC, "rfc9999.txt").as_params()),
    })
    match = signal.match(tokens("how often do I descale in version 2?"))
    assert match["v2"] > match["v1"]
    assert signal.match(tokens("the obsoleted protocol"))["rfc"] == 1.0
    assert signal.match(tokens("kettle manual"))["v1"] == signal.match(tokens("kettle manual"))["v2"]


def test_heading_signal():
    idf = lambda term: 1.0  # noqa: E731
    assert heading_match(tokens("how long is the warranty"), "Warranty", idf) == 0.5
    assert heading_match(tokens("how long is the warranty"), "", idf) == 0.0


def test_the_proximity_window_prefers_the_query_terms_close_together():
    filler = " ".join(f"word{i}" for i in range(40))
    index = BM25([f"warranty {filler} months", f"{filler} the warranty lasts months", "header words\nwarranty months"],
                 header_tokens=[0, 0, 2])
    ids = np.asarray([index.vocabulary["warranti"], index.vocabulary["month"]], dtype=np.int32)
    weights = index.idf[ids]
    shares = index.best_windows(np.arange(3), ids, weights)
    assert shares[0] == pytest.approx(0.5, abs=0.01)  # 42 tokens apart: one per window
    assert shares[1] == pytest.approx(1.0) and shares[2] == pytest.approx(1.0)  # the header is skipped in row 2
    missing = index.best_windows(np.array([1]), ids, weights, missing=np.array([float(weights.sum())]))
    assert missing[0] == pytest.approx(0.5)  # a query term no chunk has counts as unmatched
    only_months = index.best_windows(np.array([0]), ids, np.array([[0.0, 1.0]]))  # per-row weights
    assert only_months[0] == pytest.approx(1.0)


def test_query_terms_resolve_to_the_spelling_and_parts_the_documents_use():
    index = BM25(["The license of the GPL version 3 covers the colors", "manylinux2014 wheels"])
    assert index.resolve(tokens("GPLv3 licence colour")) == ["gpl", "3", "licens", "color"]
    assert index.resolve(tokens("manylinux2014 licenses")) == ["manylinux2014", "licens"]
    assert index.resolve(tokens("zebra")) == ["zebra"]  # unknown, kept: it still counts as unmatched
    assert index.scores(index.resolve(tokens("licence"))).tolist()[0] > 0


def test_neighbouring_chunks_of_one_section_are_one_passage():
    def chunk(i, heading="Terms", page=None, doc="d"):
        return Candidate({"id": f"{doc}{i}", "document_id": doc, "chunk_index": i, "page": page, "heading": heading,
                          "text": f"text {i}"}, cosine=0.5)
    ranked = [chunk(4), chunk(5), chunk(9), chunk(3), chunk(6, "Other"), chunk(2), chunk(1, doc="e")]
    groups = passages(ranked, 3)
    assert [[c.row["chunk_index"] for c in g] for g in groups] == [[4, 5, 3], [9], [6]]  # at most 3 chunks each
    assert stitch(["One two three four.", "three four. Five six."]) == "One two three four. Five six."
    assert stitch(["Alpha.", "Beta."]) == "Alpha.\n\nBeta."
    assert stitch(["It rains on the cats", "sun and wind"]) == "It rains on the cats\n\nsun and wind"  # no word glued


def test_the_best_passage_takes_in_its_sections_chunks_on_either_side():
    def row(i, heading="Terms", page=None):
        return {"id": chunk_id("d", i), "document_id": "d", "chunk_index": i, "page": page, "heading": heading, "text": f"text {i}"}

    stored = {r["id"]: r for r in [row(1, "Intro"), row(2), row(3), row(4), row(5), row(6, page=2)]}

    def chunks(ids):
        return [stored[i] for i in ids if i in stored]

    best = [Candidate(row(3), 0.5)]
    widen(best, {chunk_id("d", 3)}, chunks)
    assert sorted(c.row["chunk_index"] for c in best) == [2, 3, 4]  # one each side, as many as a passage holds
    best = [Candidate(row(2), 0.5)]
    widen(best, {chunk_id("d", 2), chunk_id("d", 3)}, chunks)  # chunk 3 is another passage already; chunk 1 is another section
    assert [c.row["chunk_index"] for c in best] == [2]
    best = [Candidate(row(5), 0.5)]
    widen(best, {chunk_id("d", 5)}, chunks)  # chunk 6 is on the next page
    assert [c.row["chunk_index"] for c in best] == [5, 4]


@pytest.mark.parametrize("cached", [True, False], ids=["in memory", "in LanceDB"])
def test_the_best_passage_holds_the_answer_in_the_chunk_beside_the_one_that_matched(runtime, cached):
    clone = create_clone(runtime, "Terms", top_k=1)
    assert ingest_now(runtime, clone.id, "terms.txt", TERMINATION.encode()).status == "ready"
    if not cached:
        runtime.store.matrices.budget_bytes = 1024  # too large for the cache: LanceDB serves the search
    (top,) = retrieve(runtime, clone, "I broke the terms and lost my licence. How do I get my licence back?").sources
    assert "ends your licence at once" in top.text  # the chunk that matched the question best
    assert "reinstated provisionally" in top.text  # and the one above it, which answers it
    assert "warehouse" not in top.text and top.heading == "Termination"


def test_rerank_lets_the_named_document_beat_a_slightly_closer_sibling():
    closer = Candidate({"id": "a"}, cosine=0.62, text_score=1.0, fused=0.03)
    named = Candidate({"id": "b"}, cosine=0.60, text_score=1.0, fused=0.03, document=1.0)
    assert [c.row["id"] for c in rerank([closer, named])] == ["b", "a"]
    assert [c.row["id"] for c in rerank([Candidate({"id": "x"}, 0.2), Candidate({"id": "y"}, 0.5)])] == ["y", "x"]


@pytest.fixture
def kettles(runtime):
    clone = create_clone(runtime, "Kettles", top_k=3)
    for name, text in (("kettle-v1.txt", V1), ("kettle-v2.txt", V2)):
        assert ingest_now(runtime, clone.id, name, text.encode()).status == "ready"
    return clone


def test_near_duplicates_are_told_apart_by_the_version_the_question_names(runtime, kettles):
    for version, weeks in (("1", "4 weeks"), ("2", "8 weeks")):
        top = retrieve(runtime, kettles, f"In version {version} of the kettle manual, how often should I descale?").sources[0]
        assert weeks in top.text and top.heading == "Cleaning"
        assert top.title == f"Kettle Manual Version {version} (kettle-v{version})"
        assert top.vector_rank and top.text_rank and top.fused > 0 and top.rerank > 0


def test_old_chunk_stores_are_upgraded_in_place(runtime, kettles):
    documents = list_documents(runtime, kettles.id)
    stale = documents[0]
    with runtime.session() as session:  # as a store from before contextual headers looks
        row = session.get(type(stale), stale.id)
        row.chunk_params = {"target_tokens": 200}
        session.add(row)
        session.commit()
    before = runtime.store.count(document_id=stale.id)
    assert upgrade_clone(runtime, kettles.id) == 1
    after = [d for d in list_documents(runtime, kettles.id) if d.id == stale.id][0]
    assert after.chunk_params["format"] == FORMAT and after.chunk_params["title"].startswith("Kettle Manual")
    assert runtime.store.count(document_id=stale.id) == after.chunk_count == before
    assert upgrade_clone(runtime, kettles.id) == 0  # nothing stale any more


def test_upgrade_without_the_stored_original_reembeds_the_stored_chunks(runtime, kettles):
    document = list_documents(runtime, kettles.id)[0]
    with runtime.session() as session:
        row = session.get(type(document), document.id)
        row.chunk_params = {}
        session.add(row)
        session.commit()
    stored_file(runtime, document).unlink()
    texts = sorted(runtime.store.document_chunks(document.id)["text"].to_pylist())
    assert upgrade_clone(runtime, kettles.id) == 1
    assert sorted(runtime.store.document_chunks(document.id)["text"].to_pylist()) == texts  # nothing lost
    assert retrieve(runtime, kettles, "descale with citric acid").sources


# ---------------------------------------------------------------- the answerer's gate

WARRANTY = Source(n=1, document="kettle-v2.txt", page=None, heading="Warranty", score=0.55,
                  text="The warranty lasts 24 months from the date of purchase.")
CLEANING = Source(n=2, document="kettle-v2.txt", page=None, heading="Cleaning", score=0.30,
                  text="Descale the kettle every 8 weeks with citric acid.")


def test_a_passage_that_answers_is_quoted_and_cited():
    reply = respond("How long does the warranty last?", [WARRANTY, CLEANING])
    assert reply.kind == "answer" and reply.cited == {1}
    assert reply.text == "The warranty lasts 24 months from the date of purchase [1]."
    assert not is_refusal(reply.text)


def test_candidates_below_the_bar_are_shown_as_the_closest_passages():
    reply = respond("Can I return a kettle I bought online?", [WARRANTY, CLEANING], threshold=0.99)
    assert reply.kind == "closest" and reply.text.startswith(CLOSEST) and is_refusal(reply.text)
    assert "is this what you mean" in reply.text.lower() and "[1]" in reply.text and reply.cited


def test_nothing_related_says_so_without_citing():
    assert respond("What is the capital of Mongolia?", []).text == NOT_FOUND
    unrelated = Source(n=1, document="x.txt", page=None, score=0.05, text="Zebras graze on savanna grass.")
    reply = respond("Which port does the database listen on?", [unrelated])
    assert reply.kind == "nothing" and reply.text == NOT_FOUND and not reply.cited


def test_the_gate_is_a_threshold_on_confidence():
    low = respond("How long does the warranty last?", [WARRANTY], threshold=1.1)
    high = respond("How long does the warranty last?", [WARRANTY], threshold=0.0)
    assert low.kind == "closest" and high.kind == "answer" and 0 < low.confidence == high.confidence < 1.1


def test_a_large_clone_searches_lancedb_full_text_while_its_index_builds(runtime, kettles, monkeypatch):
    from core.knowledge import search

    monkeypatch.setattr(search, "SYNC_INDEX_ROWS", 0)  # every clone counts as large here
    runtime.store.matrices.drop()
    first = retrieve(runtime, kettles, "descale with citric acid").sources
    assert "citric acid" in first[0].text and first[0].text_rank == 1  # LanceDB's BM25 ranked it
    for _ in range(100):
        entry = runtime.store.matrices._entries[kettles.id]
        if entry.text_index is not None:
            break
        import time

        time.sleep(0.05)
    assert entry.text_index is not None and entry.text_index.bm25 is not None
    assert "citric acid" in retrieve(runtime, kettles, "descale with citric acid").sources[0].text


def _reranked(source: Source, rerank: float, named: float = 0.0) -> Source:
    from dataclasses import replace

    return replace(source, rerank=rerank, named=named)


def test_reranked_passages_are_gated_on_the_best_passages_rerank_score():
    sure = respond("How long does the warranty last?", [_reranked(WARRANTY, 1.2), _reranked(CLEANING, 0.8)])
    assert sure.kind == "answer" and sure.confidence == 1.2 and sure.cited == {1}
    unsure = respond("How long does the warranty last?", [_reranked(WARRANTY, 0.5), _reranked(CLEANING, 0.45)])
    assert unsure.kind == "closest" and is_refusal(unsure.text)


def test_naming_a_document_does_not_make_its_passage_an_answer():
    """The gate leaves out the part of the rerank score that only says which document the question
    names, so a clone of one document (where that part is always 0) answers as readily as any."""
    alone = respond("How long does the warranty last?", [_reranked(WARRANTY, 0.7)])
    assert alone.kind == "answer" and alone.confidence == 0.7
    named = respond("How long does the warranty last?", [_reranked(WARRANTY, 0.7, named=0.25)])
    assert named.kind == "closest" and named.confidence == pytest.approx(0.45)


def test_a_near_tie_quotes_both_passages_and_a_clear_winner_one():
    other = Source(n=2, document="kettle-v1.txt", page=None, heading="Warranty", score=0.5,
                   text="The warranty lasts 12 months from the date of purchase.")
    tied = respond("How long does the warranty last?", [_reranked(WARRANTY, 1.20), _reranked(other, 1.19)])
    assert tied.cited == {1, 2} and "24 months" in tied.text and "12 months" in tied.text
    clear = respond("How long does the warranty last?", [_reranked(WARRANTY, 1.20), _reranked(other, 1.0)])
    assert clear.cited == {1} and "12 months" not in clear.text


def test_a_question_asking_for_a_date_or_a_price_needs_one_in_the_passages():
    asked = [_reranked(WARRANTY, 1.3)]
    assert respond("When was the warranty introduced?", asked).kind == "closest"  # no date anywhere
    assert respond("How much does the warranty cost?", asked).kind == "closest"  # no amount anywhere
    dated = Source(n=1, document="kettle-v2.txt", page=None, heading="Warranty", score=0.55, rerank=1.3,
                   text="The warranty was introduced in March 2021. It costs 15 euros a year.")
    assert respond("When was the warranty introduced?", [dated]).kind == "answer"
    assert respond("How much does the warranty cost?", [dated]).kind == "answer"


def test_a_question_asking_for_a_size_needs_one_in_the_passages():
    limits = Source(n=1, document="kettle-v2.txt", page=None, heading="Firmware", score=0.6, rerank=1.3,
                    text="Firmware updates for the kettle are uploaded through the companion app.")
    assert respond("What is the largest firmware file the kettle accepts?", [limits]).kind == "closest"
    sized = Source(n=1, document="kettle-v2.txt", page=None, heading="Firmware", score=0.6, rerank=1.3,
                   text="Firmware files for the kettle may be at most 4 MB.")
    assert respond("What is the largest firmware file the kettle accepts?", [sized]).kind == "answer"


def test_a_question_naming_a_version_no_passage_mentions_is_refused():
    released = Source(n=1, document="kettle-v2.txt", page=None, heading="History", score=0.6, rerank=1.3,
                      title="Kettle Manual Version 2", text="Kettle 2.0 was released on 1 March 2021.")
    assert respond("On what date was kettle 3.1 released?", [released]).kind == "closest"
    assert respond("On what date was kettle 2.0 released?", [released]).kind == "answer"
