"""Isolation in core: two owners interleave random operations; neither ever sees or changes the other's rows."""
from __future__ import annotations

import random

import pytest

from core import ab, auth, keys, preferences, prompts, question_sets, spend
from core.chat import answer
from core.clones import create_clone, delete_clone, find_clone, get_clone, list_clones, update_clone
from core.conversations import delete_thread, get_thread, list_threads, rename_thread, thread_messages
from core.errors import NotFound
from core.knowledge.ingest import delete_document, ingest_now, list_documents
from core.knowledge.search import retrieve
from core.models import ABRun, Clone, Conversation, Document, EvalRun, Message, PromptVersion, TestSuite
from sqlmodel import select

ISSUER = "http://127.0.0.1:9/issuer"
WORDS = {"alice": ["heron", "lantern", "quarry", "saffron"], "bob": ["petrel", "anvil", "glacier", "juniper"]}


@pytest.fixture
def owners(runtime):
    alice = auth.owner_for(runtime, ISSUER, "alice-sub", "Alice", "alice@example.com")
    bob = auth.owner_for(runtime, ISSUER, "bob-sub", "Bob", "bob@example.com")
    return {"alice": runtime.scoped(alice), "bob": runtime.scoped(bob)}


def test_users_are_identified_by_issuer_and_subject_never_email(runtime):
    first = auth.sign_in(runtime, ISSUER, "same-sub", "A", "shared@example.com")
    again = auth.sign_in(runtime, ISSUER, "same-sub", "A renamed", "new@example.com")
    other_issuer = auth.sign_in(runtime, "http://127.0.0.1:9/other", "same-sub", "B", "shared@example.com")
    same_email = auth.sign_in(runtime, ISSUER, "another-sub", "C", "shared@example.com")
    assert first.id == again.id and again.name == "A renamed" and again.email == "new@example.com"
    assert len({first.id, other_issuer.id, same_email.id}) == 3
    assert again.first_seen == first.first_seen


def test_an_owner_cannot_open_or_change_anothers_rows(owners, runtime):
    alice, bob = owners["alice"], owners["bob"]
    clone = create_clone(alice, "Private")
    document = ingest_now(alice, clone.id, "notes.md", b"# Notes\n\nThe vault code is heron nine.\n")
    result = answer(alice, clone.id, "What is the vault code?")
    with bob.session() as session:
        with pytest.raises(NotFound):
            get_clone(session, clone.id)
        with pytest.raises(NotFound):
            find_clone(session, "Private")
        with pytest.raises(NotFound):
            get_thread(session, result["thread_id"])
        assert list_threads(session, clone.id) == []
        assert thread_messages(session, result["thread_id"]) == []
        assert prompts.history(session, clone.id, "system") == []
        with pytest.raises(NotFound):
            prompts.save_version(session, clone.id, "system", "Hijacked", "mine now")
    assert list_documents(bob, clone.id) == []
    with pytest.raises(NotFound):
        retrieve(bob, clone, "vault code")
    with pytest.raises(NotFound):
        update_clone(bob, clone.id, name="Stolen")
    with pytest.raises(NotFound):
        delete_clone(bob, clone.id)
    with pytest.raises(NotFound):
        answer(bob, clone.id, "What is the vault code?")
    delete_document(bob, document.id)  # silently nothing: not theirs
    with alice.session() as session:
        assert get_clone(session, clone.id).name == "Private"
    assert [d.id for d in list_documents(alice, clone.id)] == [document.id]
    assert retrieve(alice, clone, "vault code").sources


def test_keys_preferences_and_budgets_are_per_owner(owners):
    alice, bob = owners["alice"], owners["bob"]
    keys.save_key(alice, "openai", "sk-alice-0123456789")
    preferences.set_default(alice, "llm", "anthropic", "claude")
    spend.set_cap(alice, alice.owner_id, "0.5")
    assert keys.stored_key(bob, "openai") is None and keys.stored_key(alice, "openai") == "sk-alice-0123456789"
    assert preferences.defaults(bob)["llm"]["provider"] == "offline"
    assert spend.daily_cap(bob)[0] is None and spend.daily_cap(alice)[0] == 0.5


def _leaks(owners) -> list[str]:
    """Everything each owner can list or reach, checked against who owns it."""
    found = []
    for name, rt in owners.items():
        me = rt.owner_id
        with rt.session() as session:
            clones = list_clones(session)
            found += [f"{name} lists clone {c.id}" for c in clones if c.owner_id != me]
            for clone in session.exec(select(Clone)).all():
                threads = list_threads(session, clone.id)
                found += [f"{name} lists thread {t.id}" for t in threads if t.owner_id != me]
                versions = prompts.all_versions(session, clone.id)
                found += [f"{name} sees prompt {v.id}" for v in versions if v.owner_id != me]
                sets = question_sets.list_question_sets(session, clone.id)
                found += [f"{name} sees set {s.id}" for s in sets if s.owner_id != me]
                runs = ab.list_runs(session, clone.id)
                found += [f"{name} sees run {r.id}" for r in runs if r.owner_id != me]
                documents = list_documents(rt, clone.id)
                found += [f"{name} sees document {d.id}" for d in documents if d.owner_id != me]
                if clone.owner_id != me:
                    try:
                        get_clone(session, clone.id)
                        found.append(f"{name} opened clone {clone.id}")
                    except NotFound:
                        pass
                    try:
                        retrieve(rt, clone, " ".join(sum(WORDS.values(), [])))
                        found.append(f"{name} searched clone {clone.id}")
                    except NotFound:
                        pass
            for thread in session.exec(select(Conversation)).all():
                if thread.owner_id != me:
                    try:
                        get_thread(session, thread.id)
                        found.append(f"{name} opened thread {thread.id}")
                    except NotFound:
                        pass
                    found += [f"{name} read message {m.id}" for m in thread_messages(session, thread.id)]
            for clone in clones:
                hits = retrieve(rt, clone, " ".join(sum(WORDS.values(), []))).sources
                other = [w for n, ws in WORDS.items() if n != name for w in ws]
                found += [f"{name} retrieved {h.chunk_id}" for h in hits if any(w in h.text for w in other)]
    return found


def _consistent(runtime) -> list[str]:
    """Every row hanging off a clone carries that clone's owner."""
    problems = []
    with runtime.session() as session:
        owner = {c.id: c.owner_id for c in session.exec(select(Clone)).all()}
        for model in (Document, Conversation, PromptVersion, TestSuite, EvalRun, ABRun):
            for row in session.exec(select(model)).all():
                if owner.get(row.clone_id) != row.owner_id:
                    problems.append(f"{model.__name__} {row.id}")
        threads = {t.id: t.owner_id for t in session.exec(select(Conversation)).all()}
        problems += [f"Message {m.id}" for m in session.exec(select(Message)).all()
                     if threads.get(m.conversation_id) != m.owner_id]
    return problems


def test_interleaved_random_operations_by_two_owners_leak_nothing(owners, runtime):
    rng = random.Random(20261202)
    made: dict[str, dict[str, list]] = {name: {"clones": [], "threads": [], "documents": []} for name in owners}

    def op_create(name, rt):
        clone = create_clone(rt, f"{name} clone {rng.randrange(10**6)}")
        made[name]["clones"].append(clone)

    def op_document(name, rt):
        if made[name]["clones"]:
            clone = rng.choice(made[name]["clones"])
            word = rng.choice(WORDS[name])
            text = f"# {word.title()}\n\nThe password of {name} is {word} {rng.randrange(1000)}.\n"
            made[name]["documents"].append(ingest_now(rt, clone.id, f"{word}-{rng.randrange(10**6)}.md", text.encode()))

    def op_ask(name, rt):
        if made[name]["clones"]:
            clone = rng.choice(made[name]["clones"])
            made[name]["threads"].append(answer(rt, clone.id, f"What is the password of {name}?")["thread_id"])

    def op_prompt(name, rt):
        if made[name]["clones"]:
            with rt.session() as session:
                prompts.save_version(session, rng.choice(made[name]["clones"]).id, "system",
                                     f"You are {name}'s helper {rng.randrange(10**6)}.", "tweak", activate=True)

    def op_question_set(name, rt):
        if made[name]["clones"]:
            with rt.session() as session:
                question_sets.create_question_set(session, rng.choice(made[name]["clones"]).id,
                                                  f"set {rng.randrange(10**6)}", ["What is the password?"])

    def op_rename_or_delete_thread(name, rt):
        if made[name]["threads"]:
            thread_id = rng.choice(made[name]["threads"])
            with rt.session() as session:
                if rng.random() < 0.5:
                    rename_thread(session, thread_id, f"renamed {rng.randrange(100)}")
                else:
                    delete_thread(session, thread_id)
                    made[name]["threads"].remove(thread_id)

    def op_delete_document(name, rt):
        if made[name]["documents"]:
            document = made[name]["documents"].pop(rng.randrange(len(made[name]["documents"])))
            delete_document(rt, document.id)

    def op_attack(name, rt):
        """Reach for the other owner's newest things by id: every attempt must fail or do nothing."""
        other = next(n for n in owners if n != name)
        if made[other]["clones"]:
            target = made[other]["clones"][-1]
            with pytest.raises(NotFound):
                update_clone(rt, target.id, name="taken over")
            with pytest.raises(NotFound):
                answer(rt, target.id, "What is the password?")
        if made[other]["threads"]:
            with rt.session() as session, pytest.raises(NotFound):
                rename_thread(session, made[other]["threads"][-1], "taken over")
        if made[other]["documents"]:
            delete_document(rt, made[other]["documents"][-1].id)  # must be a no-op

    operations = [op_create, op_document, op_document, op_ask, op_ask, op_prompt, op_question_set,
                  op_rename_or_delete_thread, op_delete_document, op_attack, op_attack]
    for name in owners:
        op_create(name, owners[name])
    for step in range(60):
        name = rng.choice(list(owners))
        rng.choice(operations)(name, owners[name])
        if step % 10 == 9:
            assert _leaks(owners) == []
    assert _leaks(owners) == []
    assert _consistent(runtime) == []
    for name, rt in owners.items():  # the attacks changed nothing
        with rt.session() as session:
            assert all("taken over" not in c.name for c in list_clones(session))
        assert {d.id for c in made[name]["clones"] for d in list_documents(rt, c.id)} == {d.id for d in made[name]["documents"]}
