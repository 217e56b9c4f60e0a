"""Clone lifecycle on a real database and a real chunk store."""
from __future__ import annotations

import pytest
from sqlmodel import select

from core.chat import answer
from core.clones import clone_cards, create_clone, delete_clone, find_clone, list_clones, slugify, update_clone
from core.conversations import create_thread
from core.errors import InvalidInput, NotFound
from core.knowledge.ingest import ingest_now, stored_file
from core.models import Conversation, Document, Message, PromptVersion
from core.prompts import active_prompts


def test_create_makes_version_one_of_every_layer_with_the_form_system_prompt(runtime):
    clone = create_clone(runtime, "  Marta   the Baker ", "Bakes bread.", "🥖", "You are Marta.")
    assert (clone.name, clone.slug, clone.avatar, clone.description) == ("Marta the Baker", "marta-the-baker", "🥖",
                                                                        "Bakes bread.")
    with runtime.session() as session:
        prompts = active_prompts(session, clone.id)
    assert {layer: p.version for layer, p in prompts.items()} == {"system": 1, "rag": 1, "user": 1}
    assert prompts["system"].content == "You are Marta."
    assert "{{ sources }}" in prompts["rag"].content


def test_names_are_unique_per_owner_ignoring_case(runtime):
    create_clone(runtime, "Ada")
    with pytest.raises(InvalidInput, match="already have a clone called"):
        create_clone(runtime, "ADA")
    other = create_clone(runtime, "ada", owner_id="someone-else")
    assert other.slug == "ada"


def test_slugs_stay_unique_when_names_differ_only_in_punctuation(runtime):
    first = create_clone(runtime, "Dr. Who")
    second = create_clone(runtime, "Dr Who")
    assert (first.slug, second.slug) == ("dr-who", "dr-who-2")
    assert slugify("Zoë's Café!") == "zoe-s-cafe"
    assert slugify("🤖") == "clone"


def test_bad_names_and_settings_are_refused_with_a_sentence(runtime):
    with pytest.raises(InvalidInput, match="needs a name"):
        create_clone(runtime, "   ")
    with pytest.raises(InvalidInput, match="too long"):
        create_clone(runtime, "x" * 200)
    with pytest.raises(InvalidInput, match="no setting called"):
        create_clone(runtime, "Ok", colour="red")
    with pytest.raises(InvalidInput, match="between 1 and 50"):
        create_clone(runtime, "Ok", top_k=0)


def test_find_by_id_slug_or_name(runtime):
    clone = create_clone(runtime, "Heron Guide")
    with runtime.session() as session:
        for ref in (clone.id, "heron-guide", "heron guide", "  HERON   GUIDE "):
            assert find_clone(session, ref).id == clone.id
        with pytest.raises(NotFound, match="no clone called 'Nobody'; check the name"):
            find_clone(session, "Nobody")
        with pytest.raises(NotFound, match="did you mean 'Heron Guide'"):
            find_clone(session, "heron")


def test_list_puts_favourites_first_then_by_name(runtime):
    create_clone(runtime, "bravo")
    create_clone(runtime, "Alpha")
    charlie = create_clone(runtime, "Charlie")
    update_clone(runtime, charlie.id, favorite=True)
    with runtime.session() as session:
        assert [c.name for c in list_clones(session)] == ["Charlie", "Alpha", "bravo"]


def test_update_renames_refreshes_slug_and_keeps_names_unique(runtime):
    clone = create_clone(runtime, "Old Name")
    create_clone(runtime, "Taken")
    updated = update_clone(runtime, clone.id, name="New Name", description="Fresh", top_k=3, hybrid=False)
    assert (updated.name, updated.slug, updated.description, updated.top_k, updated.hybrid) == (
        "New Name", "new-name", "Fresh", 3, False)
    assert updated.updated_at >= clone.updated_at
    with pytest.raises(InvalidInput, match="already have a clone called"):
        update_clone(runtime, clone.id, name="taken")
    with pytest.raises(NotFound):
        update_clone(runtime, "missing", name="x")


def test_cards_count_documents_and_chats_and_show_last_use(runtime):
    busy = create_clone(runtime, "Busy")
    idle = create_clone(runtime, "Idle")
    ingest_now(runtime, busy.id, "hours.md", b"# Hours\n\nThe bakery opens at seven in the morning.")
    ingest_now(runtime, busy.id, "menu.txt", b"Rye bread and cardamom buns are baked every day.")
    answer(runtime, busy.id, "When does the bakery open?")
    with runtime.session() as session:
        create_thread(session, busy.id)
        cards = {card.clone.name: card for card in clone_cards(session)}
    assert (cards["Busy"].documents, cards["Busy"].chats) == (2, 2)
    assert cards["Busy"].last_used is not None
    assert (cards["Idle"].documents, cards["Idle"].chats, cards["Idle"].last_used) == (0, 0, None)
    assert idle.id == cards["Idle"].clone.id


def test_delete_removes_documents_chunks_files_threads_and_messages(runtime):
    doomed = create_clone(runtime, "Doomed")
    kept = create_clone(runtime, "Kept")
    document = ingest_now(runtime, doomed.id, "facts.md", b"# Facts\n\nThe lighthouse is painted red and white.")
    ingest_now(runtime, kept.id, "facts.md", b"# Facts\n\nThe lighthouse keeper is called Ines.")
    path = stored_file(runtime, document)
    result = answer(runtime, doomed.id, "What colour is the lighthouse?")
    assert path.exists() and result["citations"] and runtime.store.count(clone_id=doomed.id) > 0

    delete_clone(runtime, doomed.id)

    with runtime.session() as session:
        assert session.exec(select(Document).where(Document.clone_id == doomed.id)).all() == []
        assert session.exec(select(Conversation).where(Conversation.clone_id == doomed.id)).all() == []
        assert session.exec(select(Message).where(Message.conversation_id == result["thread_id"])).all() == []
        assert session.exec(select(PromptVersion).where(PromptVersion.clone_id == doomed.id)).all() == []
        assert [c.name for c in list_clones(session)] == ["Kept"]
    assert not path.exists()
    assert runtime.store.count(clone_id=doomed.id) == 0 and runtime.store.count(clone_id=kept.id) > 0
    survivor = answer(runtime, kept.id, "Who is the lighthouse keeper?")
    assert "Ines" in survivor["answer"]
    with pytest.raises(NotFound):
        delete_clone(runtime, doomed.id)
