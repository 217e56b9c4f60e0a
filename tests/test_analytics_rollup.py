"""The daily rollups (analytics_daily, analytics_source_daily) stay equal to message_stat /
message_source summed afresh through inserts, edits, deletes (cascades included) and the
migration's backfill; the latency helpers give numpy's exact percentiles (SQLite, and PostgreSQL
with DATABASE_URL)."""
from __future__ import annotations

from collections import defaultdict
from datetime import datetime, time, timedelta, timezone

import numpy as np
import pytest
from alembic import command
from sqlalchemy import delete, select, text

from core import analytics as an
from core.clones import delete_clone
from core.conversations import append_message, delete_thread
from core.db import alembic_config
from core.models import AnalyticsDaily, AnalyticsSourceDaily, Clone, Conversation, Message, MessageSource, MessageStat

TODAY = datetime.now(timezone.utc).date()
DAILY = ["messages", "questions", "answers", "voice_turns", "threads", "errors", "answered", "nothing_retrieved",
         "none_cited", "input_tokens", "output_tokens", "cost_usd"]
SOURCE = ["rows", "retrieved", "cited", "answers", "cited_any"]


def at(days_ago: int, minute: int = 0) -> datetime:
    return datetime.combine(TODAY - timedelta(days=days_ago), time(9, minute), timezone.utc)


def cite(document: str, cited: bool, document_id: str = "") -> dict:
    return {"n": 1, "document": document, "document_id": document_id, "score": 0.5, "cited": cited, "text": "x"}


def reply(when, provider="openai", model="gpt-4o-mini", versions=(1, 1, 1), status="complete", citations=(),
          timings=None, cost=0.001) -> Message:
    return Message(role="assistant", content="An answer.", status=status, provider=provider, model=model,
                   prompt_versions=dict(zip(("system", "rag", "user"), versions)) if versions else {},
                   timings=timings or {"retrieval": 10, "first_token": 40, "total": 90}, input_tokens=100,
                   output_tokens=20, cost_usd=cost, citations=list(citations), created_at=when)


def chat(session, clone, turns, owner="local") -> Conversation:
    thread = Conversation(owner_id=owner, clone_id=clone.id, title="Chat", created_at=turns[0].created_at)
    for answer in turns:
        append_message(session, thread, Message(role="user", content="Why?", created_at=answer.created_at))
        append_message(session, thread, answer)
    return thread


def _day(value) -> str:
    return str(value)[:10]


def expected_daily(session) -> dict:
    """analytics_daily worked out from message_stat in Python."""
    sums: dict = defaultdict(lambda: dict.fromkeys(DAILY, 0))
    for s in session.execute(select(MessageStat)).scalars():
        key = (s.owner_id, _day(s.day), s.clone_id, s.provider or "", s.model or "", s.v_system or 0, s.v_rag or 0,
               s.v_user or 0)
        answer, ok = s.role == "assistant", s.status != "error"
        row = sums[key]
        for name, value in {"messages": 1, "questions": s.role == "user", "answers": answer,
                            "voice_turns": answer and s.voice, "threads": s.opens_thread,
                            "errors": answer and not ok, "answered": answer and ok,
                            "nothing_retrieved": answer and ok and s.sources == 0,
                            "none_cited": answer and ok and s.sources > 0 and s.cited == 0,
                            "input_tokens": s.input_tokens, "output_tokens": s.output_tokens,
                            "cost_usd": s.cost_usd}.items():
            row[name] += value
    return {key: {n: round(float(v), 9) for n, v in row.items()} for key, row in sums.items()}


def stored_daily(session) -> dict:
    return {(r.owner_id, _day(r.day), r.clone_id, r.provider, r.model, r.v_system, r.v_rag, r.v_user):
            {n: round(float(getattr(r, n)), 9) for n in DAILY}
            for r in session.execute(select(AnalyticsDaily)).scalars()}


def expected_sources(session) -> dict:
    sums: dict = defaultdict(lambda: dict.fromkeys(SOURCE, 0))
    for s in session.execute(select(MessageSource)).scalars():
        key = (s.owner_id, _day(s.day), s.clone_id, s.provider or "", s.model or "", s.v_system or 0, s.v_rag or 0,
               s.v_user or 0, s.document_id, s.document)
        ok, row = s.status != "error", sums[key]
        row["rows"] += 1
        row["retrieved"] += s.retrieved if ok else 0
        row["cited"] += s.cited if ok else 0
        row["answers"] += ok and s.cited > 0
        row["cited_any"] += s.cited > 0
    return {key: dict(row) for key, row in sums.items()}


def stored_sources(session) -> dict:
    return {(r.owner_id, _day(r.day), r.clone_id, r.provider, r.model, r.v_system, r.v_rag, r.v_user, r.document_id,
             r.document): {n: getattr(r, n) for n in SOURCE}
            for r in session.execute(select(AnalyticsSourceDaily)).scalars()}


def assert_in_step(session) -> None:
    session.expire_all()
    assert stored_daily(session) == expected_daily(session)
    assert stored_sources(session) == expected_sources(session)


@pytest.fixture
def studio(runtime):
    with runtime.session() as session:
        ada, bo = Clone(name="Ada", slug="ada"), Clone(name="Bo", slug="bo")
        other = Clone(name="Cy", slug="cy", owner_id="other")
        session.add_all([ada, bo, other])
        session.commit()
        threads = [
            chat(session, ada, [reply(at(1, 1), citations=[cite("guide.pdf", True, "d1"), cite("guide.pdf", False, "d1"),
                                                           cite("faq.md", False)]),
                                reply(at(1, 2), provider="anthropic", model="claude-haiku-4-5", citations=[cite("faq.md", False)]),
                                reply(at(1, 3), status="error", citations=[cite("guide.pdf", True, "d1")])]),
            chat(session, ada, [reply(at(0, 1), versions=None, timings={"retrieval": 5, "first_token": 9, "total": 20,
                                                                        "stt": 100, "first_audio": 30, "speech": 400})]),
            chat(session, bo, [reply(at(3), provider="offline", model="extractive", cost=0.0)]),
            chat(session, other, [reply(at(0), citations=[cite("c.pdf", True)])], owner="other"),
        ]
        assert_in_step(session)
        yield runtime, session, {"ada": ada, "bo": bo, "other": other}, threads


def test_every_saved_message_is_counted_once(studio):
    runtime, session, clones, _ = studio
    rows = stored_daily(session)
    assert sum(r["messages"] for r in rows.values()) == session.execute(text("SELECT count(*) FROM message")).scalar() == 12
    draft = [key for key in rows if key[2] == clones["ada"].id and key[5:] == (0, 0, 0) and key[3] == "openai"]
    assert len(draft) == 1 and rows[draft[0]]["voice_turns"] == 1  # an unsaved draft's answer: versions kept as 0


def test_an_edited_answer_moves_its_share(studio):
    runtime, session, clones, threads = studio
    answer = session.execute(select(Message).where(Message.conversation_id == threads[0].id,
                                                   Message.role == "assistant", Message.status == "error")).scalar_one()
    answer.status, answer.model, answer.citations = "complete", "gpt-4.1", [cite("guide.pdf", False, "d1")]
    answer.cost_usd = 0.25
    session.commit()
    assert_in_step(session)
    figures = an.daily_totals(session, an.Filters(days=7, model="gpt-4.1"))
    assert figures["answers"].sum() == 1 and figures["errors"].sum() == 0 and figures["cost_usd"].sum() == pytest.approx(0.25)


def test_deleting_a_thread_or_a_clone_takes_its_rows_away(studio):
    runtime, session, clones, threads = studio
    delete_thread(session, threads[0].id)
    assert_in_step(session)
    assert not [key for key in stored_sources(session) if key[8] == "d1"]  # no empty rows left behind
    session.execute(delete(Message).where(Message.conversation_id == threads[1].id))  # a bulk delete, no ORM events
    session.commit()
    assert_in_step(session)
    delete_clone(runtime, clones["bo"].id)
    assert_in_step(session)
    assert {key[2] for key in stored_daily(session)} == {clones["other"].id}


def test_the_migration_backfills_existing_messages(studio):
    runtime, session, *_ = studio
    before = stored_daily(session), stored_sources(session)
    session.close()
    config = alembic_config(runtime.engine)
    command.downgrade(config, "0003")
    command.upgrade(config, "head")
    with runtime.session() as fresh:
        assert (stored_daily(fresh), stored_sources(fresh)) == before
        assert_in_step(fresh)


def test_owners_see_only_their_rollup_rows(studio):
    runtime, session, clones, _ = studio
    mine = an.filter_options(session, an.Filters(days=30))
    theirs = an.filter_options(session, an.Filters(days=30), owner_id="other")
    assert mine["models"] == ["claude-haiku-4-5", "extractive", "gpt-4o-mini"] and theirs["models"] == ["gpt-4o-mini"]
    assert mine["versions"] == ["s*/r*/u*", "s1/r1/u1"]
    documents = an.cited_documents(session, an.Filters(days=30), owner_id="other")
    assert list(documents["document"]) == ["c.pdf"]
    everyone = an.usage_by_owner(session, an.Filters(days=30)).set_index("owner_id")
    assert everyone.loc["local", "answers"] == 5 and everyone.loc["other", "answers"] == 1


def test_group_quantiles_match_numpy():
    rng = np.random.default_rng(3)
    codes = rng.integers(0, 5, 2000)
    values = rng.lognormal(5, 1, 2000)
    values[rng.random(2000) < 0.1] = np.nan
    counts, out = an.group_quantiles(codes, values, (0.5, 0.9, 0.95, 0.99), 6)
    for group in range(5):
        mine = values[(codes == group) & ~np.isnan(values)]
        assert counts[group] == len(mine)
        assert out[group] == pytest.approx(np.percentile(mine, [50, 90, 95, 99]), rel=1e-12)
    assert counts[5] == 0 and np.isnan(out[5]).all()


def test_timings_read_again_when_a_message_lands_between_the_two_reads(studio, monkeypatch):
    runtime, session, clones, _ = studio
    expected = an.answer_timings(session, an.Filters(days=30))
    real, calls = an._numbers, []

    def racing(result):
        values = real(result)
        calls.append(len(values))
        return values[:-1]  # as if the sizes were read before one more answer was written

    monkeypatch.setattr(an, "_numbers", racing)
    fallback = an.answer_timings(session, an.Filters(days=30))
    assert len(calls) == 3  # three tries, then every column of every answer in one read
    key = ["day", "group", "total"]
    assert (fallback.sort_values(key).reset_index(drop=True)
            .equals(expected.sort_values(key).reset_index(drop=True)))
