"""Analytics queries against hand-computed figures (SQLite, and PostgreSQL with DATABASE_URL), the
message_stat bookkeeping and backfill, `python -m core analytics --json`, and the Analytics page."""
from __future__ import annotations

import json
from datetime import datetime, time, timedelta, timezone

import pytest
from alembic import command
from sqlalchemy import select, text

from core import analytics as an
from core.analytics import ALL_OWNERS, Filters
from core.cli import main
from core.conversations import append_message, delete_thread
from core.models import (
    ABResult, ABRun, Clone, Conversation, Document, EvalResult, EvalRun, Message, MessageSource, MessageStat,
    UsageEvent,
)
from core.stats import cohen_kappa, wilson_interval
from tests.studio_app import app, no_exception, open_app, studio_runtime  # noqa: F401  (fixtures)

TODAY = datetime.now(timezone.utc).date()


def at(days_ago: int, minute: int = 0) -> datetime:
    return datetime.combine(TODAY - timedelta(days=days_ago), time(12, minute), timezone.utc)


def cite(document: str, cited: bool, score: float = 0.5, document_id: str = "") -> dict:
    return {"n": 1, "document": document, "document_id": document_id, "page": 1, "heading": "", "chunk_id": "c",
            "text": "A passage. " * 50, "score": score, "cited": cited}


def answer(when, provider, model, versions, timings, tokens=(0, 0), cost=0.0, citations=(), status="complete"):
    return Message(role="assistant", content="An answer [1].", status=status, provider=provider, model=model,
                   prompt_versions=dict(zip(("system", "rag", "user"), versions)), timings=timings,
                   input_tokens=tokens[0], output_tokens=tokens[1], cost_usd=cost, citations=list(citations),
                   created_at=when)


def thread(session, clone, when, turns, owner="local") -> Conversation:
    """A thread with (question, answer) turns, saved the way the chat saves them (append_message)."""
    conversation = Conversation(owner_id=owner, clone_id=clone.id, title="Chat", created_at=when)
    for reply in turns:
        append_message(session, conversation, Message(role="user", content="Why?", created_at=reply.created_at))
        append_message(session, conversation, reply)
    return conversation


@pytest.fixture(scope="module")
def seeded_db(tmp_path_factory):
    """One database for the module's read-only query tests (made once: the tests only read it)."""
    import os

    from core.config import Settings
    from core.runtime import open_runtime
    from tests.conftest import _fresh_database

    home = tmp_path_factory.mktemp("analytics")
    base = os.environ.get("DATABASE_URL", "")
    drop = None
    if base.startswith("postgresql"):
        url, drop = _fresh_database(base)
    else:
        url = f"sqlite:///{home / 'studio.db'}"
    runtime = open_runtime(Settings(home=home, database_url=url, lancedb_uri=str(home / "lancedb"), max_upload_mb=5),
                           seed_demo=False)
    ids = seed(runtime)
    yield runtime, ids
    runtime.close()
    if drop:
        drop()


def seed(runtime) -> dict:
    """Two local clones and another owner's clone; the expected figures are worked out in each test."""
    with runtime.session() as session:
        ada, bo = Clone(name="Ada", slug="ada"), Clone(name="Bo", slug="bo")
        cy = Clone(name="Cy", slug="cy", owner_id="other")
        session.add_all([ada, bo, cy])
        session.commit()
        docs = [Document(clone_id=ada.id, filename=name, kind="pdf", sha256=name, status="ready")
                for name in ("guide.pdf", "faq.md", "unused.txt")]
        docs += [Document(clone_id=bo.id, filename="b.pdf", kind="pdf", sha256="b", status="ready"),
                 Document(clone_id=bo.id, filename="failed.pdf", kind="pdf", sha256="f", status="failed"),
                 Document(clone_id=cy.id, filename="c.pdf", kind="pdf", sha256="c", status="ready", owner_id="other")]
        session.add_all(docs)
        session.commit()
        guide = docs[0].id
        thread(session, ada, at(2), [
            answer(at(2, 1), "offline", "extractive", (1, 1, 1), {"retrieval": 10, "first_token": 50, "total": 100},
                   (100, 20), 0.0, [cite("guide.pdf", True, 0.9, guide), cite("guide.pdf", False, 0.7, guide),
                                    cite("faq.md", False, 0.4)]),
            answer(at(2, 2), "openai", "gpt-4o-mini", (2, 1, 1), {"retrieval": 20, "first_token": 120, "total": 300},
                   (200, 40), 0.002, [cite("faq.md", True, 0.8)]),
        ])
        thread(session, ada, at(1), [
            answer(at(1, 1), "openai", "gpt-4o-mini", (2, 1, 1),
                   {"retrieval": 30, "first_token": 130, "total": 500, "stt": 200, "first_audio": 400, "speech": 900},
                   (300, 60), 0.003),
        ])
        thread(session, bo, at(0), [
            answer(at(0, 1), "anthropic", "claude-haiku-4-5", (1, 1, 1), {"retrieval": 40, "first_token": None, "total": 60},
                   status="error", citations=[cite("b.pdf", False)]),
            answer(at(0, 2), "anthropic", "claude-haiku-4-5", (1, 1, 1), {"retrieval": 50, "first_token": 250, "total": 700},
                   (400, 80), 0.01, [cite("b.pdf", False)]),
        ])
        thread(session, cy, at(0), [
            answer(at(0, 3), "offline", "extractive", (1, 1, 1), {"retrieval": 1, "first_token": 2, "total": 3},
                   citations=[cite("c.pdf", True)]),
        ], owner="other")
        session.add(UsageEvent(clone_id=ada.id, provider="elevenlabs", kind="tts_chars", amount=500, cost_usd=0.05,
                               created_at=at(1)))
        seed_quality(session, ada)
        session.commit()
        return {"ada": ada.id, "bo": bo.id, "cy": cy.id}


def seed_quality(session, ada) -> None:
    """Suite runs: s1 passes 8 of 10; s2 passes 5 of 10 and 24 of 30. A/B votes: person aabbt, judge abbbt."""
    for versions, passed, cases, scores in (((1, 1, 1), 8, 10, {"grounded": 0.8, "must_contain": 0.6}),
                                            ((2, 1, 1), 5, 10, {"grounded": 0.4}),
                                            ((2, 1, 1), 24, 30, {"grounded": 0.8})):
        run = EvalRun(clone_id=ada.id, suite_name="Smoke", status="complete", created_at=at(1), scores=scores,
                      prompt_versions=dict(zip(("system", "rag", "user"), versions)), provider="offline",
                      model="extractive", case_count=cases)
        session.add(run)
        session.flush()
        session.add_all(EvalResult(run_id=run.id, position=i, question="Q?", passed=i < passed, cost_usd=0.001,
                                   latency_ms=100.0) for i in range(cases))
    ab = ABRun(clone_id=ada.id, status="complete", created_at=at(1))
    session.add(ab)
    session.flush()
    for i, (human, judge) in enumerate(zip("aabbt", "abbbt")):
        human, judge = {"t": "tie"}.get(human, human), {"t": "tie"}.get(judge, judge)
        session.add(ABResult(run_id=ab.id, position=i, question="Q?", winner=human, judge_vote=judge,
                             judge_detail={"first": judge, "swapped": judge}))
    session.add(ABResult(run_id=ab.id, position=5, question="Q?", winner="a", judge_vote=None,
                         judge_detail={"first": "a", "swapped": "b"}))  # contested: no judge vote


def figures(seeded_db, name, **filters):
    runtime, _ = seeded_db
    with runtime.session() as session:
        return an.QUERIES[name](session, Filters(**{"days": 7, **filters}))


# ---------------------------------------------------------------- statistics


def test_wilson_interval_and_kappa_match_hand_computation():
    low, high = wilson_interval(8, 10)  # p = .8: (p + z²/2n ± z·sqrt(p(1-p)/n + z²/4n²)) / (1 + z²/n)
    assert (round(low, 4), round(high, 4)) == (0.4902, 0.9433)
    assert wilson_interval(0, 5)[0] == 0.0 and round(wilson_interval(0, 5)[1], 4) == 0.4345
    # po = 4/5, pe = (2·1 + 2·3 + 1·1)/25 = 9/25 -> kappa = (0.8 - 0.36) / 0.64
    assert cohen_kappa(list("aabbt"), list("abbbt")) == pytest.approx(0.6875)
    assert cohen_kappa(list("aaa"), list("aaa")) is None and cohen_kappa([], []) is None


# ---------------------------------------------------------------- use, latency, cost


def test_usage_per_day_counts_every_day_of_the_period(seeded_db):
    usage = figures(seeded_db, "usage_per_day")
    assert len(usage) == 7 and usage["day"].iloc[-1].date() == TODAY
    by_day = {row.day.date(): (row.questions, row.answers, row.voice_turns, row.threads, row.errors)
              for row in usage.itertuples()}
    assert by_day[TODAY - timedelta(days=2)] == (2, 2, 0, 1, 0)
    assert by_day[TODAY - timedelta(days=1)] == (1, 1, 1, 1, 0)
    assert by_day[TODAY] == (2, 2, 0, 1, 1)  # the other owner's thread is not counted
    assert by_day[TODAY - timedelta(days=5)] == (0, 0, 0, 0, 0)


def test_latency_percentiles(seeded_db):
    summary = figures(seeded_db, "latency_summary").set_index("stage")
    # answers that did not fail: totals 100, 300, 500, 700 -> p50 400, p95 500 + 0.85 * 200
    assert summary.loc["total", "answers"] == 4
    assert summary.loc["total", "p50"] == 400 and summary.loc["total", "p95"] == pytest.approx(670)
    assert summary.loc["retrieval", "p50"] == 25 and summary.loc["first_token", "p50"] == 125
    assert summary.loc["stt", "answers"] == 1 and summary.loc["first_audio", "p50"] == 400
    per_day = figures(seeded_db, "latency_per_day")
    total = per_day[per_day["stage"] == "total"].set_index("day")
    assert list(total["p50"]) == [200, 500, 700] and total["p95"].iloc[0] == pytest.approx(290)


def test_latency_breakdown_by_clone_then_by_version(seeded_db):
    _, ids = seeded_db
    rows = figures(seeded_db, "latency_breakdown").set_index("group")
    # Ada: retrieval 10/20/30, waiting 40/100/100, streaming 50/180/370 -> medians 20, 100, 180
    assert rows.loc["Ada"].tolist() == [3, 20, 100, 180] and rows.loc["Bo"].tolist() == [1, 50, 200, 450]
    rows = figures(seeded_db, "latency_breakdown", clone_id=ids["ada"]).set_index("group")
    assert rows.loc["s2/r1/u1"].tolist() == [2, 25, 100, 275] and rows.loc["s1/r1/u1", "answers"] == 1


def test_cost_per_day_and_by_model(seeded_db):
    by_model = figures(seeded_db, "cost_by_model").set_index("model")
    mini = by_model.loc["gpt-4o-mini"]
    assert (mini["answers"], mini["input_tokens"], mini["output_tokens"]) == (2, 500, 100)
    assert mini["cost_usd"] == pytest.approx(0.005) and mini["cost_per_answer"] == pytest.approx(0.0025)
    assert mini["tokens_per_answer"] == 300 and by_model.loc["claude-haiku-4-5", "answers"] == 2
    per_day = figures(seeded_db, "cost_per_day")
    assert per_day["cost_usd"].sum() == pytest.approx(0.005 + 0.01 + 0.05)  # answers + the TTS usage event
    speech = per_day[per_day["provider"] == "elevenlabs"]
    assert speech["model"].tolist() == ["tts_chars"] and speech["answers"].tolist() == [0]
    assert "elevenlabs" not in set(figures(seeded_db, "cost_per_day", model="gpt-4o-mini")["provider"])


# ---------------------------------------------------------------- retrieval health


def test_retrieval_health(seeded_db):
    per_day = figures(seeded_db, "retrieval_per_day")
    assert per_day[["answers", "nothing_retrieved", "none_cited"]].values.tolist() == [[2, 0, 0], [1, 1, 0], [1, 0, 1]]
    assert per_day["no_source_share"].tolist() == [0.0, 1.0, 1.0]
    summary = an.retrieval_summary(per_day)
    assert summary == {"answers": 4, "nothing_retrieved": 1, "none_cited": 1, "no_source_share": 0.5}


def test_cited_and_never_cited_documents(seeded_db):
    cited = figures(seeded_db, "cited_documents")
    assert cited[["clone", "document", "cited", "answers", "retrieved"]].values.tolist() == [
        ["Ada", "faq.md", 1, 1, 2], ["Ada", "guide.pdf", 1, 1, 2], ["Bo", "b.pdf", 0, 0, 1]]
    assert cited["cite_rate"].tolist() == [0.5, 0.5, 0.0]
    uncited = figures(seeded_db, "uncited_documents")
    assert uncited[["clone", "document"]].values.tolist() == [["Ada", "unused.txt"], ["Bo", "b.pdf"]]


# ---------------------------------------------------------------- filters and owners


def test_filters_pick_answers(seeded_db):
    _, ids = seeded_db
    usage = figures(seeded_db, "usage_per_day", provider="openai")
    assert usage["answers"].sum() == 2 and usage["questions"].isna().all()
    assert figures(seeded_db, "cost_by_model", version="s2/r1/u1")["model"].tolist() == ["gpt-4o-mini"]
    assert figures(seeded_db, "usage_per_day", clone_id=ids["bo"])["answers"].sum() == 2
    assert figures(seeded_db, "usage_per_day", days=1)["answers"].tolist() == [2]
    with pytest.raises(Exception, match="s2/r1/u1"):
        Filters(version="v2")


def test_owner_one_many_or_all(seeded_db):
    runtime, _ = seeded_db
    with runtime.session() as session:
        answers = {label: an.usage_per_day(session, Filters(days=7), owner)["answers"].sum()
                   for label, owner in (("local", "local"), ("other", ["other"]), ("all", ALL_OWNERS),
                                        ("both", ["local", "other"]), ("nobody", []))}
        options = an.filter_options(session, Filters(days=7))
    assert answers == {"local": 5, "other": 1, "all": 6, "both": 6, "nobody": 0}
    assert options == {"versions": ["s1/r1/u1", "s2/r1/u1"], "providers": ["anthropic", "offline", "openai"],
                       "models": ["claude-haiku-4-5", "extractive", "gpt-4o-mini"]}


# ---------------------------------------------------------------- quality and judge trust


def test_version_quality_with_wilson_intervals(seeded_db):
    quality = figures(seeded_db, "version_quality").set_index("version")
    assert quality.loc["s1/r1/u1", ["runs", "cases", "passed"]].tolist() == [1, 10, 8]
    assert quality.loc["s2/r1/u1", ["runs", "cases", "passed"]].tolist() == [2, 40, 29]
    assert quality.loc["s1/r1/u1", "ci_low"] == pytest.approx(0.4902, abs=1e-4)
    assert quality.loc["s2/r1/u1", "pass_rate"] == pytest.approx(29 / 40)
    assert quality.loc["s2/r1/u1", "cost_per_case"] == pytest.approx(0.001)
    scores = figures(seeded_db, "criterion_scores").set_index(["version", "criterion"])["score"]
    assert scores[("s2/r1/u1", "grounded")] == pytest.approx((0.4 * 10 + 0.8 * 30) / 40)  # weighted by cases
    assert scores[("s1/r1/u1", "must_contain")] == pytest.approx(0.6)


def test_judge_against_people(seeded_db):
    confusion = figures(seeded_db, "judge_confusion").set_index(["human", "judge"])["count"]
    assert confusion.sum() == 5 and confusion[("a", "b")] == 1 and confusion[("b", "b")] == 2
    trust = figures(seeded_db, "judge_trust")
    assert trust["n"] == 5 and trust["kappa"] == pytest.approx(0.6875) and trust["agreement"] == pytest.approx(0.8)
    assert trust["judged"] == 6 and trust["swap_consistency"] == pytest.approx(5 / 6)


# ---------------------------------------------------------------- the stat rows follow their message


def test_stats_follow_updates_and_deletes(runtime):
    with runtime.session() as session:
        clone = Clone(name="Eve", slug="eve")
        session.add(clone)
        session.commit()
        reply = answer(at(0), "offline", "extractive", (1, 1, 1), {"retrieval": 5, "total": 50},
                       citations=[cite("x.pdf", True), cite("x.pdf", True), cite("y.pdf", False)])
        conversation = thread(session, clone, at(0), [reply])
        stat = session.get(MessageStat, reply.id)
        assert (stat.sources, stat.cited, stat.voice, stat.total_ms) == (3, 2, False, 50)
        sources = session.exec(select(MessageSource).where(MessageSource.message_id == reply.id)).all()
        assert sorted((s[0].document, s[0].retrieved, s[0].cited) for s in sources) == [("x.pdf", 2, 2), ("y.pdf", 1, 0)]
        opens = session.execute(select(MessageStat.role, MessageStat.opens_thread)
                                .where(MessageStat.conversation_id == conversation.id)).all()
        assert sorted(opens) == [("assistant", False), ("user", True)]

        reply.timings = {**reply.timings, "first_audio": 300}  # a voice answer's audio timing arrives later
        session.add(reply)
        session.commit()
        session.expire_all()
        assert session.get(MessageStat, reply.id).voice is True
        reply_id = reply.id
        delete_thread(session, conversation.id)
        session.expire_all()
        assert session.get(MessageStat, reply_id) is None
        left = session.connection().execute(text("SELECT count(*) FROM message_source")).scalar()
        assert left == 0


def test_migration_fills_stats_for_earlier_messages(settings):
    from core.db import alembic_config, make_engine

    settings.home.mkdir(parents=True, exist_ok=True)
    engine = make_engine(settings.database_url)
    config = alembic_config(engine)
    command.upgrade(config, "0001")
    with engine.begin() as connection:
        connection.execute(text("INSERT INTO clone (id, owner_id, name, slug, description, avatar, specialty, category, "
                                "tags, favorite, created_from, variables, llm_provider, llm_model, temperature, max_tokens, "
                                "embedding_provider, tts_provider, tts_voice, voice_settings, stt_provider, language, "
                                "top_k, hybrid, min_score, created_at, updated_at) VALUES ('c1', 'local', 'Old', 'old', "
                                "'', '', '', '', '[]', false, 'scratch', '{}', 'offline', 'extractive', 0.3, 700, "
                                "'minilm', 'offline', '', '{}', 'offline', 'en', 5, true, 0, :now, :now)"),
                           {"now": at(0)})
        connection.execute(text("INSERT INTO conversation (id, owner_id, clone_id, title, created_at, updated_at) "
                                "VALUES ('t1', 'local', 'c1', 'Chat', :now, :now)"), {"now": at(0)})
        for i, (role, citations, timings) in enumerate((
                ("user", [], {}),
                ("assistant", [cite("old.pdf", True)], {"retrieval": 7, "total": 70, "first_audio": 30}))):
            connection.execute(text(
                "INSERT INTO message (id, owner_id, conversation_id, role, content, status, provider, model, citations, "
                "prompt_versions, input_tokens, output_tokens, cost_usd, timings, created_at) VALUES (:id, 'local', 't1', "
                ":role, 'x', 'complete', 'offline', 'extractive', :citations, :versions, 1, 2, 0.5, :timings, :at)"),
                {"id": f"m{i}", "role": role, "citations": json.dumps(citations), "timings": json.dumps(timings),
                 "versions": json.dumps({"system": 3, "rag": 1, "user": 1}), "at": at(0, i)})
    command.upgrade(config, "head")
    with engine.connect() as connection:
        rows = connection.execute(text("SELECT role, opens_thread, v_system, total_ms, voice, sources, cited, clone_id "
                                       "FROM message_stat ORDER BY role DESC")).all()
        docs = connection.execute(text("SELECT document, retrieved, cited FROM message_source")).all()
    engine.dispose()
    normal = [(r[0], bool(r[1]), r[2], r[3], bool(r[4]), *r[5:]) for r in rows]
    assert normal == [("user", True, 3, None, False, 0, 0, "c1"), ("assistant", False, 3, 70.0, True, 1, 1, "c1")]
    assert [tuple(d) for d in docs] == [("old.pdf", 1, 1)]


# ---------------------------------------------------------------- command line and page


def test_cli_json_prints_the_page_figures(runtime, capsys):
    with runtime.session() as session:
        clone = Clone(name="Ada", slug="ada")
        session.add(clone)
        session.commit()
        thread(session, clone, at(0), [answer(at(0), "offline", "extractive", (1, 1, 1),
                                              {"retrieval": 5, "first_token": 9, "total": 50})])
    assert main(["analytics", "--clone", "Ada", "--days", "7", "--json"]) == 0
    data = json.loads(capsys.readouterr().out)
    assert set(an.QUERIES) | {"retrieval_summary", "filters", "clone"} == set(data)
    assert data["clone"] == "Ada" and data["filters"]["days"] == 7
    assert len(data["usage_per_day"]) == 7 and data["usage_per_day"][-1] == {
        "day": TODAY.isoformat(), "questions": 1, "answers": 1, "voice_turns": 0, "threads": 1, "errors": 0}
    assert data["latency_summary"][-1]["stage"] == "total" and data["latency_summary"][-1]["p50"] == 50
    assert data["judge_trust"]["kappa"] is None and data["version_quality"] == []
    assert main(["analytics", "--clone", "Nobody"]) == 1
    assert main(["analytics", "--version", "v9"]) == 1
    assert "s2/r1/u1" in capsys.readouterr().err
    assert main(["analytics"]) == 0 and "All clones" in capsys.readouterr().out


CHARTS = 12


def test_page_empty_states(app):
    at_ = open_app("app_pages/analytics.py")
    no_exception(at_)
    assert not at_.get("plotly_chart")
    infos = [i.value for i in at_.info]
    assert len(infos) == CHARTS  # the demo clone's documents are the "never cited" table
    assert any("Chat page" in i for i in infos) and any("Quality page" in i for i in infos)


def test_page_draws_every_chart_with_data(app, studio_runtime):
    seed(studio_runtime)
    at_ = open_app("app_pages/analytics.py")
    no_exception(at_)
    assert len(at_.get("plotly_chart")) == CHARTS and not at_.info  # every chart, no empty state left
    assert len(at_.get("download_button")) == CHARTS + 1  # a CSV beside every chart, and the never-cited table
    assert {m.label for m in at_.metric} >= {"Answers", "Spent", "Answers with no relevant source", "Cohen's kappa"}
    at_.selectbox(key="analytics.provider").select("openai").run()
    no_exception(at_)
    assert [m.value for m in at_.metric if m.label == "Answers"] == ["2"]
