"""Migration 0002: question sets become test suites without loss, on SQLite and PostgreSQL."""
from __future__ import annotations

from datetime import datetime, timezone

import sqlalchemy as sa
from alembic import command

from core.db import alembic_config, make_engine, session as open_session
from core.models import ABRun, TestCase, TestSuite
from core.question_sets import list_question_sets
from core.quality.suites import suite_cases

CREATED = datetime(2026, 11, 30, 9, 0, tzinfo=timezone.utc)


def _seed_0001(engine) -> None:
    meta = sa.MetaData()
    meta.reflect(engine)
    clone, qs, ab_run = meta.tables["clone"], meta.tables["question_set"], meta.tables["ab_run"]
    row = {c.name: None for c in clone.columns}
    row.update(id="c1", owner_id="local", name="Keeper", slug="keeper", description="", avatar="🤖", specialty="",
               category="", tags=[], favorite=False, created_from="scratch", variables={}, llm_provider="offline",
               llm_model="extractive", temperature=0.3, max_tokens=700, embedding_provider="minilm",
               tts_provider="offline", tts_voice="", voice_settings={}, stt_provider="offline", language="en",
               top_k=5, hybrid=True, min_score=0.0, created_at=CREATED, updated_at=CREATED)
    with engine.begin() as connection:
        connection.execute(clone.insert().values(**row))
        connection.execute(qs.insert(), [
            dict(id="qs1", owner_id="local", clone_id="c1", name="Facts",
                 questions=["When does the bakery open?", "Who founded it?", "Ünïcode — ok?"], created_at=CREATED),
            dict(id="qs2", owner_id="local", clone_id="c1", name="Empty one", questions=[], created_at=CREATED),
        ])
        connection.execute(ab_run.insert().values(id="ab1", owner_id="local", clone_id="c1", question_set_id="qs1",
                                                  variant_a={}, variant_b={}, status="complete", created_at=CREATED))


def test_question_sets_become_suites_and_come_back(settings):
    settings.home.mkdir(parents=True, exist_ok=True)
    engine = make_engine(settings.database_url)
    config = alembic_config(engine)
    command.upgrade(config, "0001")
    _seed_0001(engine)
    command.upgrade(config, "head")

    with open_session(engine) as session:
        facts = session.get(TestSuite, "qs1")
        assert (facts.name, facts.clone_id, facts.owner_id) == ("Facts", "c1", "local")
        cases = suite_cases(session, "qs1")
        assert [c.question for c in cases] == ["When does the bakery open?", "Who founded it?", "Ünïcode — ok?"]
        assert [c.position for c in cases] == [0, 1, 2]
        assert all(c.status == "active" and c.must_contain == [] and not c.should_refuse for c in cases)
        assert suite_cases(session, "qs2") == []
        run = session.get(ABRun, "ab1")
        assert session.get(TestSuite, run.question_set_id).name == "Facts"  # the A/B run points at its suite
        assert run.judge == ""
        assert sorted((s.name, s.questions) for s in list_question_sets(session, "c1")) == [
            ("Empty one", []), ("Facts", ["When does the bakery open?", "Who founded it?", "Ünïcode — ok?"])]
        session.add(TestCase(suite_id="qs1", question="A draft only", status="draft", position=3))
        session.commit()

    command.downgrade(config, "0001")
    with engine.connect() as connection:
        rows = connection.execute(sa.text("SELECT id, name, questions FROM question_set ORDER BY id")).all()
    engine.dispose()
    assert [(r[0], r[1]) for r in rows] == [("qs1", "Facts"), ("qs2", "Empty one")]
    questions = rows[0][2] if isinstance(rows[0][2], list) else __import__("json").loads(rows[0][2])
    assert questions == ["When does the bakery open?", "Who founded it?", "Ünïcode — ok?"]
