"""The template library: built-in files, search and filter, applying, saving a clone as a template."""
from __future__ import annotations

import pytest

from core.clones import create_clone
from core.errors import InvalidInput, NotFound
from core.lifecycle import create_from_template
from core.prompts import LAYERS, active_prompts, active_versions, history, save_version
from core.runtime import Runtime
from core.template_library import (
    categories, delete_user_template, get_template, list_templates, preview, save_as_template, apply_template,
)

REQUIRED = {
    "business-mentor", "empathetic-listener", "cbt-coach", "dbt-skills-coach", "mindfulness-guide",
    "customer-support-agent", "sales-assistant", "technical-support-specialist", "appointment-scheduler",
    "general-assistant", "technical-expert", "creative-writer", "family-memory-keeper",
}
MENTAL_HEALTH = ("empathetic-listener", "cbt-coach", "dbt-skills-coach", "mindfulness-guide")


@pytest.fixture
def db(settings):
    runtime = Runtime(settings)
    yield runtime
    runtime.close()


def test_every_required_persona_is_a_complete_template():
    templates = {t.id: t for t in list_templates()}
    assert REQUIRED <= set(templates)
    for template in templates.values():
        assert template.builtin
        for field in ("name", "icon", "category", "specialty", "description", "best_for"):
            assert getattr(template, field).strip(), (template.id, field)
        assert template.tags and template.variables is not None and template.settings
        assert set(template.prompts) == set(LAYERS)
        rendered = preview(template, "Robin")
        assert "Robin" in rendered["system"] and "{{" not in "".join(rendered.values())


@pytest.mark.parametrize("template_id", MENTAL_HEALTH)
def test_mental_health_personas_point_to_professional_and_crisis_help(template_id):
    template = get_template(template_id)
    system = preview(template, "Sam")["system"]
    assert "not a substitute for professional care" in " ".join(system.split())
    assert template.variables["crisis_line"] in system and "988" in system
    assert "Not a substitute for professional care" in template.description


def test_a_blank_template_variable_keeps_its_default():
    template = get_template("cbt-coach")
    system = preview(template, "Sam", variables={"crisis_line": "  ", "focus_area": "exam nerves"})["system"]
    assert template.variables["crisis_line"] in system and "exam nerves" in system


def test_search_and_category_filter():
    assert {t.id for t in list_templates(category="Wellbeing")} == set(MENTAL_HEALTH)
    assert [t.id for t in list_templates(query="troubleshooting runbooks")] == ["technical-support-specialist"]
    assert "family-memory-keeper" in {t.id for t in list_templates(query="GRANDPARENT")}
    assert list_templates(query="no such persona anywhere") == []
    assert {"Wellbeing", "Business", "Customer service", "Personal"} <= set(categories())


def test_unknown_template_is_not_found():
    with pytest.raises(NotFound, match="templates list"):
        get_template("nope")


def test_preview_uses_the_chosen_variables():
    rendered = preview(get_template("customer-support-agent"), "Max", variables={"company_name": "Globex"})
    assert "customer support agent for Globex" in rendered["system"]
    with pytest.raises(InvalidInput, match="cannot be a variable name"):
        preview(get_template("customer-support-agent"), "Max", variables={"Bad Name": "x"})


def test_apply_template_adds_active_versions_variables_and_settings(db):
    clone = create_clone(db, "Kim", variables={"company_name": "Initech"})
    applied = apply_template(db, clone.id, "customer-support-agent", {"support_hours": "always"})
    template = get_template("customer-support-agent")
    with db.session() as session:
        active = active_prompts(session, clone.id)
        for layer in LAYERS:
            assert active[layer].version == 2
            assert active[layer].content == template.prompts[layer]
            assert active[layer].message == "Applied template Customer Support Agent"
            assert active[layer].parent_version == 1
    assert applied.variables["company_name"] == "Initech"  # the clone's own value wins over the default
    assert applied.variables["support_hours"] == "always"
    assert applied.variables["support_email"] == template.variables["support_email"]
    assert (applied.template_id, applied.category, applied.temperature) == ("customer-support-agent", "Customer service", 0.2)
    assert set(template.tags) <= set(applied.tags)

    apply_template(db, clone.id, "customer-support-agent")  # same text: no new versions
    with db.session() as session:
        assert active_versions(session, clone.id) == {"system": 2, "rag": 2, "user": 2}


def test_apply_then_roll_back_restores_the_old_prompts(db):
    clone = create_clone(db, "Lee")
    with db.session() as session:
        before = {layer: row.content for layer, row in active_prompts(session, clone.id).items()}
    apply_template(db, clone.id, "creative-writer")
    with db.session() as session:
        from core.prompts import activate_version

        for layer in LAYERS:
            activate_version(session, clone.id, layer, 1)
        assert {layer: row.content for layer, row in active_prompts(session, clone.id).items()} == before


def test_create_from_template(db):
    clone = create_from_template(db, "Nana Rose", "family-memory-keeper", variables={"person_name": "Rose"})
    assert (clone.created_from, clone.template_id, clone.avatar, clone.category) == (
        "template", "family-memory-keeper", "🕯️", "Personal")
    assert clone.variables["person_name"] == "Rose" and clone.variables["relationship"] == "grandmother"
    with db.session() as session:
        active = active_prompts(session, clone.id)
        assert all(row.version == 1 for row in active.values())
        assert active["system"].content == get_template("family-memory-keeper").prompts["system"]
        assert active["rag"].message == "Created from template Family Memory Keeper"
    with pytest.raises(InvalidInput, match="already have a clone called"):
        create_from_template(db, "nana rose", "general-assistant")


def test_save_a_clone_as_a_user_template_and_reuse_it(db):
    source = create_from_template(db, "Helper", "general-assistant", variables={"tone": "playful"})
    with db.session() as session:
        save_version(session, source.id, "system", "You are {{ clone_name }}, {{ tone }} and brief.", "brief",
                     activate=True)
    template = save_as_template(db, source.id, "My brief helper", description="Short answers.")
    assert template.id.startswith("user-") and not template.builtin
    with db.session() as session:
        listed = list_templates(session, query="brief helper")
        assert [t.id for t in listed] == [template.id]
        assert get_template(template.id, session).prompts["system"] == "You are {{ clone_name }}, {{ tone }} and brief."
    with pytest.raises(InvalidInput, match="already have a template"):
        save_as_template(db, source.id, "my BRIEF helper")

    target = create_clone(db, "Second")
    applied = apply_template(db, target.id, template.id)
    assert applied.variables == {"tone": "playful"} and applied.template_id == template.id
    with db.session() as session:
        assert history(session, target.id, "system")[0].message == "Applied template My brief helper"

    delete_user_template(db, template.id)
    with db.session() as session:
        with pytest.raises(NotFound):
            get_template(template.id, session)
    with pytest.raises(InvalidInput, match="Built-in"):
        delete_user_template(db, "general-assistant")


def test_apply_refuses_bad_variable_names_and_changes_nothing(db):
    clone = create_clone(db, "Pat")
    with pytest.raises(InvalidInput, match="cannot be a variable name"):
        apply_template(db, clone.id, "business-mentor", {"9lives": "x"})
    with db.session() as session:
        assert active_versions(session, clone.id) == {"system": 1, "rag": 1, "user": 1}
