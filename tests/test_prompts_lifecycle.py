"""Clone lifecycle: duplicate (prompts with history, settings, question sets), names, favourites, filters."""
from __future__ import annotations

import pytest

from core.clones import create_clone
from core.errors import InvalidInput, NotFound
from core.lifecycle import (
    clean_tags, clone_categories, duplicate_clone, filter_clones, set_classification, set_favorite, unique_name,
)
from core.prompts import active_versions, history_records, save_version
from core.question_sets import (
    create_question_set, delete_question_set, list_question_sets, parse_questions, update_question_set,
)
from core.runtime import Runtime


@pytest.fixture
def db(settings):
    runtime = Runtime(settings)
    yield runtime
    runtime.close()


def test_unique_name_adds_the_first_free_suffix(db):
    with db.session() as session:
        assert unique_name(session, "Ada") == "Ada"
    create_clone(db, "Ada")
    with db.session() as session:
        assert unique_name(session, "ada") == "ada (2)"
    create_clone(db, "Ada (2)")
    with db.session() as session:
        assert unique_name(session, "Ada") == "Ada (3)"
        assert unique_name(session, "Ada (2)") == "Ada (3)"
        assert len(unique_name(session, "x" * 200)) == 80


def test_duplicate_copies_prompt_history_settings_and_question_sets(db):
    source = create_clone(db, "Ada", "A guide.", "🦉", temperature=0.9, top_k=7, hybrid=False, tags=["guide"],
                          variables={"company_name": "Acme"}, category="Support", specialty="Onboarding")
    with db.session() as session:
        save_version(session, source.id, "system", "You are {{ clone_name }} at {{ company_name }}.", "company",
                     author="maria", activate=True)
        save_version(session, source.id, "system", "Draft for {{ company_name }}.", "draft")
        create_question_set(session, source.id, "Smoke", ["What is this?", "Who are you?"])
    set_favorite(db, source.id, True)

    copy = duplicate_clone(db, source.id)
    assert copy.id != source.id and copy.name == "Ada (2)" and copy.created_from == "duplicate"
    assert (copy.description, copy.avatar, copy.temperature, copy.top_k, copy.hybrid) == ("A guide.", "🦉", 0.9, 7, False)
    assert (copy.variables, copy.tags, copy.category, copy.specialty) == ({"company_name": "Acme"}, ["guide"], "Support", "Onboarding")
    assert copy.favorite is False
    with db.session() as session:
        assert history_records(session, copy.id) == history_records(session, source.id)
        assert active_versions(session, copy.id) == {"system": 2, "rag": 1, "user": 1}
        assert [(s.name, s.questions) for s in list_question_sets(session, copy.id)] == [("Smoke", ["What is this?", "Who are you?"])]
        # the copy versions on its own from here
        row = save_version(session, copy.id, "system", "Only in the copy, {{ clone_name }}.", "mine")
        assert row.version == 4
        assert len(history_records(session, source.id)) == 5


def test_duplicate_with_a_chosen_name(db):
    source = create_clone(db, "Ada")
    assert duplicate_clone(db, source.id, "Grace").name == "Grace"
    with pytest.raises(InvalidInput, match="already have a clone"):
        duplicate_clone(db, source.id, "grace")
    with pytest.raises(NotFound):
        duplicate_clone(db, "missing-id")


def test_classification_favourites_and_gallery_filters(db):
    ada = create_clone(db, "Ada", "Knows the studio.")
    bob = create_clone(db, "Bob", "Sells shoes.")
    set_classification(db, ada.id, specialty=" Product  help ", category="Support", tags="Guide, studio ,guide,")
    set_classification(db, bob.id, category="Sales", tags=["retail"])
    set_favorite(db, bob.id, True)
    with db.session() as session:
        assert [c.name for c in filter_clones(session)] == ["Bob", "Ada"]  # favourites first
        assert [c.name for c in filter_clones(session, query="studio")] == ["Ada"]
        assert [c.name for c in filter_clones(session, query="product")] == ["Ada"]
        assert [c.name for c in filter_clones(session, category="Sales")] == ["Bob"]
        assert [c.name for c in filter_clones(session, favorites_only=True)] == ["Bob"]
        assert [c.name for c in filter_clones(session, tag="GUIDE")] == ["Ada"]
        assert clone_categories(session) == ["Sales", "Support"]
        assert filter_clones(session, query="ada", category="Sales") == []
    assert clean_tags("a, B ,a,,") == ["a", "b"]


def test_question_sets(db):
    clone = create_clone(db, "Ada")
    assert parse_questions("What?\n\n  Why?  \nWhat?\n") == ["What?", "Why?"]
    with db.session() as session:
        smoke = create_question_set(session, clone.id, "Smoke", parse_questions("One?\nTwo?"))
        with pytest.raises(InvalidInput, match="already has a test suite"):
            create_question_set(session, clone.id, "smoke", ["x"])
        with pytest.raises(InvalidInput, match="at least one question"):
            create_question_set(session, clone.id, "Empty", ["  ", ""])
        with pytest.raises(InvalidInput, match="name"):
            create_question_set(session, clone.id, " ", ["x"])
        updated = update_question_set(session, smoke.id, name="Regression", questions=["Three?"])
        assert (updated.name, updated.questions) == ("Regression", ["Three?"])
        delete_question_set(session, smoke.id)
        assert list_question_sets(session, clone.id) == []
        with pytest.raises(NotFound):
            delete_question_set(session, smoke.id)
