"""Prompt layers: versioning invariants, validation of variables and slots, diffs, token counts."""
from __future__ import annotations

import threading

import pytest
from sqlmodel import select

from core.clones import create_clone
from core.errors import InvalidInput, NotFound
from core.models import PromptVersion
from core.prompts import (
    DEFAULTS, LAYERS, activate_version, active_prompts, active_versions, check_history, diff_texts,
    diff_versions, get_version, history, history_records, render_layers, replace_history, save_version,
    set_clone_variables, token_counts, validate_layer,
)
from core.runtime import Runtime


@pytest.fixture
def db(settings):
    runtime = Runtime(settings)
    yield runtime
    runtime.close()


@pytest.fixture
def clone(db):
    return create_clone(db, "Ada", "A patient guide to the studio.")


def save(db, clone, layer, content, message="change", **kw):
    with db.session() as session:
        return save_version(session, clone.id, layer, content, message, **kw)


def activate(db, clone, layer, version):
    with db.session() as session:
        return activate_version(session, clone.id, layer, version)


def active_rows(db, clone, layer):
    with db.session() as session:
        return session.exec(
            select(PromptVersion).where(PromptVersion.clone_id == clone.id, PromptVersion.layer == layer,
                                        PromptVersion.active == True)  # noqa: E712
        ).all()


def test_new_clone_has_version_one_of_every_layer_active(db, clone):
    with db.session() as session:
        assert active_versions(session, clone.id) == {"system": 1, "rag": 1, "user": 1}
        assert active_prompts(session, clone.id)["rag"].content == DEFAULTS["rag"]


def test_save_creates_the_next_version_with_parent_message_and_author(db, clone):
    row = save(db, clone, "system", "You are {{ clone_name }}, terse.", "Make it terse", author="maria")
    assert (row.version, row.parent_version, row.message, row.author, row.active) == (2, 1, "Make it terse", "maria", False)
    assert row.created_at is not None
    with db.session() as session:
        assert active_versions(session, clone.id)["system"] == 1
        assert [r.version for r in history(session, clone.id, "system")] == [2, 1]


def test_numbers_stay_monotonic_after_rolling_back(db, clone):
    for n in range(2, 5):
        assert save(db, clone, "system", f"Version {n} of {{{{ clone_name }}}}.").version == n
    activate(db, clone, "system", 2)
    row = save(db, clone, "system", "Edited from two.")
    assert (row.version, row.parent_version) == (5, 2)


def test_parent_can_be_any_saved_version(db, clone):
    save(db, clone, "user", "Q: {{ question }}")
    row = save(db, clone, "user", "Question: {{ question }}", parent=1)
    assert row.parent_version == 1
    with pytest.raises(NotFound, match="no version 9"):
        save(db, clone, "user", "Ask: {{ question }}", parent=9)


def test_exactly_one_active_version_per_layer(db, clone):
    save(db, clone, "rag", "Sources:\n{{ sources }}", activate=True)
    save(db, clone, "rag", "Numbered sources:\n{{ sources }}")
    for version in (3, 1, 2, 2):
        activate(db, clone, "rag", version)
        rows = active_rows(db, clone, "rag")
        assert [r.version for r in rows] == [version]
    assert [r.version for r in active_rows(db, clone, "system")] == [1]


def test_rollback_restores_exactly(db, clone):
    with db.session() as session:
        original = active_prompts(session, clone.id)["system"].content
    save(db, clone, "system", "  Something else entirely, {{ clone_name }}.\n\n", activate=True)
    activate(db, clone, "system", 1)
    with db.session() as session:
        assert active_prompts(session, clone.id)["system"].content == original
    activate(db, clone, "system", 2)
    with db.session() as session:
        assert active_prompts(session, clone.id)["system"].content == "  Something else entirely, {{ clone_name }}.\n\n"


def test_activating_a_missing_version_is_refused(db, clone):
    with pytest.raises(NotFound, match="no version 7"):
        activate(db, clone, "system", 7)
    assert [r.version for r in active_rows(db, clone, "system")] == [1]


def test_concurrent_saves_get_distinct_numbers(db, clone):
    errors = []

    def worker(n):
        try:
            for i in range(3):
                save(db, clone, "system", f"Thread {n} edit {i}, {{{{ clone_name }}}}.")
        except Exception as error:  # collected and asserted below
            errors.append(error)

    threads = [threading.Thread(target=worker, args=(n,)) for n in range(4)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    assert not errors
    with db.session() as session:
        assert sorted(r.version for r in history(session, clone.id, "system")) == list(range(1, 14))


def test_rag_layer_without_sources_is_refused(db, clone):
    with pytest.raises(InvalidInput, match=r"RAG layer must contain the \{\{ sources \}\}"):
        save(db, clone, "rag", "Use the documents to answer.")
    with pytest.raises(InvalidInput, match=r"\{\{ question \}\}"):
        save(db, clone, "user", "Please answer briefly.")


def test_misspelt_variable_is_named_with_a_suggestion(db, clone):
    with pytest.raises(InvalidInput) as caught:
        save(db, clone, "system", "You are {{ clone_nmae }}.")
    assert "'clone_nmae'" in str(caught.value) and "Did you mean 'clone_name'?" in str(caught.value)
    with pytest.raises(InvalidInput, match="'company_name'"):
        save(db, clone, "system", "You work for {{ company_name }}.")
    with db.session() as session:
        assert [r.version for r in history(session, clone.id, "system")] == [1]


def test_slots_belong_to_their_layer(db, clone):
    with pytest.raises(InvalidInput, match="only the RAG layer"):
        save(db, clone, "system", "Sources: {{ sources }}")


def test_custom_variables_are_allowed_and_guarded(db, clone):
    with db.session() as session:
        set_clone_variables(session, clone.id, {"company_name": "Acme"})
    row = save(db, clone, "system", "You work for {{ company_name }}.", activate=True)
    assert row.version == 2
    with db.session() as session:
        with pytest.raises(InvalidInput, match="still uses 'company_name'"):
            set_clone_variables(session, clone.id, {})
        with pytest.raises(InvalidInput, match="cannot be a variable name"):
            set_clone_variables(session, clone.id, {"Company Name": "x"})
        with pytest.raises(InvalidInput, match="built-in"):
            set_clone_variables(session, clone.id, {"company_name": "Acme", "today": "x"})


def test_syntax_errors_and_sandbox_escapes_are_refused(db, clone):
    with pytest.raises(InvalidInput, match="line 2"):
        save(db, clone, "system", "Hello\n{% if %}")
    with pytest.raises(InvalidInput):
        save(db, clone, "system", "{{ clone_name.__class__.__mro__[1].__subclasses__() }}")


def test_empty_text_empty_message_and_unchanged_text_are_refused(db, clone):
    with pytest.raises(InvalidInput, match="empty"):
        save(db, clone, "system", "   ")
    with pytest.raises(InvalidInput, match="message"):
        save(db, clone, "system", "New text.", message="  ")
    with pytest.raises(InvalidInput, match="same as version 1"):
        save(db, clone, "user", DEFAULTS["user"])
    with pytest.raises(InvalidInput, match="no prompt layer called 'tone'"):
        save(db, clone, "tone", "x")


def test_validate_renders_a_sample(db, clone):
    rendered = validate_layer(clone, "rag", "From {{ clone_name }}:\n{{ sources }}")
    assert rendered.startswith("From Ada:\n[1]")


def test_render_layers_fills_slots(db, clone):
    layers = render_layers(clone, DEFAULTS, sources="[1] doc.pdf\nText", question="Why?")
    assert "Ada" in layers["system"] and "[1] doc.pdf" in layers["rag"] and layers["user"] == "Why?"


def test_diff_of_two_versions(db, clone):
    save(db, clone, "system", "You are {{ clone_name }}.\nBe brief.\nCite sources.")
    save(db, clone, "system", "You are {{ clone_name }}.\nBe thorough.\nCite sources.\nEnd with a question.")
    with db.session() as session:
        diff = diff_versions(session, clone.id, "system", 2, 3)
    assert diff.unified.splitlines()[:2] == ["--- system v2", "+++ system v3"]
    assert "-Be brief." in diff.unified and "+Be thorough." in diff.unified and "+End with a question." in diff.unified
    kinds = [(row.kind, row.left, row.right) for row in diff.rows]
    assert kinds == [
        ("equal", "You are {{ clone_name }}.", "You are {{ clone_name }}."),
        ("changed", "Be brief.", "Be thorough."),
        ("equal", "Cite sources.", "Cite sources."),
        ("added", "", "End with a question."),
    ]
    assert (diff.added, diff.removed, diff.identical) == (2, 1, False)
    assert [(r.left_no, r.right_no) for r in diff.rows] == [(1, 1), (2, 2), (3, 3), (None, 4)]


def test_diff_of_removed_lines_and_identical_texts():
    diff = diff_texts("a\nb\nc", "a\nc")
    assert [(r.kind, r.left_no, r.right_no) for r in diff.rows] == [("equal", 1, 1), ("removed", 2, None), ("equal", 3, 2)]
    assert diff_texts("same", "same").identical and diff_texts("same", "same").unified == ""


def test_token_counts_per_layer():
    counts = token_counts({"system": "You are a helpful guide.", "user": "", "rag": "word " * 50})
    assert counts["user"] == 0 and 0 < counts["system"] < counts["rag"]


def test_history_round_trip_keeps_every_version(db, clone):
    save(db, clone, "system", "Second, {{ clone_name }}.", "two", author="maria")
    save(db, clone, "system", "Third, {{ clone_name }}.", "three", activate=True)
    copy = create_clone(db, "Ada copy")
    with db.session() as session:
        records = history_records(session, clone.id)
        target = session.get(type(copy), copy.id)
        replace_history(session, target, records)
        session.commit()
        copied = history_records(session, copy.id)
        assert copied == records
        assert active_versions(session, copy.id) == {"system": 3, "rag": 1, "user": 1}
        assert get_version(session, copy.id, "system", 2).author == "maria"


@pytest.mark.parametrize("damage", ["two_active", "no_active", "repeat", "layer"])
def test_damaged_histories_are_refused(damage):
    records = [{"layer": layer, "version": 1, "content": "x", "active": True} for layer in LAYERS]
    if damage == "two_active":
        records.append({"layer": "system", "version": 2, "content": "y", "active": True})
    elif damage == "no_active":
        records[0]["active"] = False
    elif damage == "repeat":
        records.append({"layer": "rag", "version": 1, "content": "y", "active": False})
    else:
        records.append({"layer": "tone", "version": 1, "content": "y", "active": True})
    with pytest.raises(InvalidInput, match="damaged"):
        check_history(records)
