"""The Chat page through AppTest: a cited, streamed answer; threads; the URL carries clone and thread."""
from __future__ import annotations

import re

from core.clones import create_clone, get_clone, update_clone
from core.conversations import list_threads, thread_messages
from core.knowledge.ingest import ingest_now
from studio.state import PAGE_CHAT
from tests.documents import TERMINATION
from tests.fakes.fixtures import no_outside_keys  # noqa: F401
from tests.studio_app import app, button, no_exception, studio_runtime, texts  # noqa: F401

NOTES = (
    "# Lighthouse log\n\nThe Skerry Point lighthouse keeper winds the clockwork every four hours. "
    "The lamp uses a first-order Fresnel lens made in 1874.\n\n"
    "# Supplies\n\nParaffin is delivered by boat on the first Monday of each month.\n"
)


def chat_page(app, runtime):
    clone = create_clone(runtime, "Keeper", "Keeps the lighthouse log.")
    ingest_now(runtime, clone.id, "lighthouse.md", NOTES.encode())
    return clone, app(PAGE_CHAT, query={"clone": clone.id})


def ask(at, question):
    at.chat_input[0].set_value(question).run()
    no_exception(at)
    return at


def test_an_answer_shows_citations_inspector_and_details(app, studio_runtime):
    clone, at = chat_page(app, studio_runtime)
    assert "Ask me anything" in texts(at)
    ask(at, "When is paraffin delivered?")

    (thread,) = threads(studio_runtime, clone.id)
    assert at.query_params["thread"] == thread.id and at.query_params["clone"] == clone.id
    assert thread.title == "When is paraffin delivered?"
    user, answer = thread_messages_of(studio_runtime, thread.id)
    assert answer.role == "assistant" and answer.status == "complete"
    page = texts(at)
    assert "first Monday" in page  # the answer, rendered
    assert "lighthouse.md" in page  # a citation card
    assert "system v1 · RAG v1 · user v1" in page  # behind "details"
    assert re.search(r"^offline · \d+ ms$", page, re.MULTILINE)  # the human line
    assert "$0.0000" not in page and "prompts s1" not in page
    assert any(e.label.startswith("Inspector") for e in at.expander)
    (inspector,) = at.dataframe
    assert inspector.value["Cited"].any()
    assert "Offline mode" in page


def test_threads_persist_and_the_url_reopens_them(app, studio_runtime):
    clone, at = chat_page(app, studio_runtime)
    ask(at, "What lens does the lamp use?")
    thread_id = at.query_params["thread"]

    reloaded = app(PAGE_CHAT, query={"clone": clone.id, "thread": thread_id})
    no_exception(reloaded)
    assert "What lens does the lamp use?" in texts(reloaded)
    assert "Fresnel" in texts(reloaded)
    assert reloaded.query_params["thread"] == thread_id

    button(reloaded, "New chat").click().run()
    assert "thread" not in reloaded.query_params
    ask(reloaded, "How often is the clockwork wound?")
    assert len(threads(studio_runtime, clone.id)) == 2
    reloaded.button(key=f"thread-{thread_id}").click().run()
    assert reloaded.query_params["thread"] == thread_id


def test_rename_and_delete_a_thread(app, studio_runtime):
    clone, at = chat_page(app, studio_runtime)
    ask(at, "What lens does the lamp use?")
    [t for t in at.text_input if t.label == "Title"][0].input("Lens facts")
    button(at, "Rename").click().run()
    no_exception(at)
    (thread,) = threads(studio_runtime, clone.id)
    assert thread.title == "Lens facts"

    button(at, "Delete chat").click().run()
    assert "cannot be undone" in texts(at)
    [b for b in at.button if b.label == "Delete chat"][-1].click().run()
    no_exception(at)
    assert threads(studio_runtime, clone.id) == []
    assert "thread" not in at.query_params
    assert "Ask me anything" in texts(at)


def test_a_thread_of_another_clone_in_the_url_is_ignored(app, studio_runtime):
    clone, at = chat_page(app, studio_runtime)
    ask(at, "What lens does the lamp use?")
    other = create_clone(studio_runtime, "Stranger")
    at = app(PAGE_CHAT, query={"clone": other.id, "thread": at.query_params["thread"]})
    no_exception(at)
    assert "thread" not in at.query_params
    assert "Fresnel" not in texts(at)


def test_the_demo_clone_answers_its_first_question_with_a_citation(app):
    from core.demo import FIRST_QUESTION

    at = app(PAGE_CHAT)
    ask(at, FIRST_QUESTION)
    (inspector,) = at.dataframe
    assert inspector.value["Cited"].any()


def threads(runtime, clone_id):
    with runtime.session() as session:
        return list_threads(session, clone_id)


def thread_messages_of(runtime, thread_id):
    with runtime.session() as session:
        return thread_messages(session, thread_id)


def test_a_cloud_failure_offers_to_answer_offline_in_one_click(app, studio_runtime, monkeypatch):
    for name in ("OPENAI_API_KEY", "OPENAI_BASE_URL"):
        monkeypatch.delenv(name, raising=False)
    clone, _ = chat_page(app, studio_runtime)
    update_clone(studio_runtime, clone.id, llm_provider="openai", llm_model="gpt-4o-mini")
    at = app(PAGE_CHAT, query={"clone": clone.id})
    assert "Offline mode" not in texts(at)
    ask(at, "When is paraffin delivered?")
    (failed,) = [m for m in thread_messages_of(studio_runtime, at.query_params["thread"]) if m.role == "assistant"]
    assert failed.status == "error" and failed.provider == "openai"
    assert texts(at).count(failed.error) == 1  # said once, next to the offer

    button(at, "Answer offline instead").click().run()
    no_exception(at)
    answers = [m for m in thread_messages_of(studio_runtime, at.query_params["thread"]) if m.role == "assistant"]
    assert [(m.status, m.provider) for m in answers] == [("error", "openai"), ("complete", "offline")]
    assert "first Monday" in texts(at)
    assert not [b for b in at.button if b.label == "Answer offline instead"]


def test_a_citation_card_shows_the_heading_apart_from_the_passage():
    from studio.components import passage

    assert passage("# Opening hours\n\nThe bakery opens at seven.") == "The bakery opens at seven."
    assert passage("## Only a heading") == "Only a heading"


def test_the_model_and_voice_are_chosen_in_the_chat_header(app, studio_runtime, no_outside_keys):
    clone, at = chat_page(app, studio_runtime)
    prefix = f"chat.model.{clone.id}"
    assert "Offline · extractive" in popovers(at)
    assert button(at, "Use for this clone").disabled  # nothing changed yet
    at.selectbox(key=f"{prefix}.llm.provider").select("openai_compatible").run()
    at.selectbox(key=f"{prefix}.llm.model.openai_compatible").select("__custom__").run()
    at.text_input(key=f"{prefix}.llm.custom.openai_compatible").input("llama3.1:8b").run()
    voice = at.selectbox(key=f"{prefix}.voice")
    assert voice.options[voice.index] == "Joe (Offline voice (Piper))"  # the clone's own voice
    button(at, "Use for this clone").click().run()
    no_exception(at)

    with studio_runtime.session() as session:
        saved = get_clone(session, clone.id)
    assert (saved.llm_provider, saved.llm_model) == ("openai_compatible", "llama3.1:8b")
    assert "now answers with llama3.1:8b" in texts(at)
    assert "OpenAI-compatible server · llama3.1:8b" in popovers(at)


def popovers(at) -> list[str]:
    return [node.proto.popover.label for node in at.get("popover")]


def test_an_old_failure_does_not_linger_once_the_next_question_is_answered(app, studio_runtime):
    from core.conversations import append_message
    from core.models import Conversation, Message

    clone, _ = chat_page(app, studio_runtime)
    with studio_runtime.session() as session:
        thread = Conversation(clone_id=clone.id, title="Lamp")
        session.add(thread)
        session.commit()
        session.refresh(thread)
        for message in (Message(role="user", content="What lens?"),
                        Message(role="assistant", status="error", error="The model timed out; ask again.",
                                provider="offline"),
                        Message(role="user", content="When is paraffin delivered?"),
                        Message(role="assistant", content="On the first Monday [1].", provider="offline")):
            append_message(session, thread, message)
    at = app(PAGE_CHAT, query={"clone": clone.id, "thread": thread.id})
    no_exception(at)
    assert not at.error and "The model timed out" not in texts(at)
    assert "This answer failed." in texts(at)


def test_a_question_the_notes_cannot_answer_gets_the_closest_passages_not_an_answer(app, studio_runtime):
    """Chat, as a person asks: the lens of a version the log never mentions, a lens of a given size."""
    clone, at = chat_page(app, studio_runtime)
    for question in ("What lens did version 2.5 of the lighthouse use?", "How big is the lighthouse's Fresnel lens?"):
        page = texts(ask(at, question))
        assert "I couldn't find a clear answer to that in my knowledge base" in page, question
        assert "lighthouse.md" in page  # the closest passages, still cited
    ask(at, "What lens does the lamp use?")
    assert "first-order Fresnel lens" in texts(at)  # the same notes answer what they hold


TERMS = (
    "TERMS AND CONDITIONS\n\n"
    "1. Returns.\n\nYou may return a boat within 30 days of hire if its hull is undamaged.\n\n"
    "2. Deposits.\n\nThe deposit is refunded by bank transfer once the boat is back at the quay.\n"
)


def test_a_bare_heading_is_never_the_passage_chat_cites(app, studio_runtime):
    """A heading that holds no text of its own ("TERMS AND CONDITIONS") is part of the section below it,
    so the answer and the inspector show the section's text, not a title alone."""
    clone = create_clone(studio_runtime, "Boatyard", "Hires out boats.")
    ingest_now(studio_runtime, clone.id, "terms.txt", TERMS.encode())
    at = ask(app(PAGE_CHAT, query={"clone": clone.id}), "Can I return a boat I hired, and for how long?")
    assert "within 30 days of hire" in texts(at)
    (inspector,) = at.dataframe
    passages = inspector.value["Passage"].tolist()
    assert passages and all(p.strip() != "TERMS AND CONDITIONS" for p in passages)
    assert any("TERMS AND CONDITIONS" in p and "within 30 days" in p for p in passages)



def test_the_cited_passage_holds_the_chunk_beside_the_one_that_matched(app, studio_runtime):
    """With one passage per answer, the passage Chat cites is the best chunk with its section's chunks
    beside it: the sentence that answers sits in the chunk above the one that matched the question."""
    clone = create_clone(studio_runtime, "Licensor", "Grants licences.", top_k=1)
    ingest_now(studio_runtime, clone.id, "terms.txt", TERMINATION.encode())
    at = ask(app(PAGE_CHAT, query={"clone": clone.id}), "I broke the terms and lost my licence. How do I get my licence back?")
    (inspector,) = at.dataframe
    (cited,) = inspector.value["Passage"].tolist()
    assert "reinstated provisionally" in cited and "ends your licence at once" in cited
    assert "terms.txt" in texts(at)
