"""First steps: the welcome on the Clones page, suggested questions in an empty chat."""
from __future__ import annotations

from core.clones import create_clone
from core.knowledge.ingest import ingest_now
from core.onboarding import dismiss_welcome, heading_question, sentence_topic, suggested_questions, welcome_dismissed
from studio.state import PAGE_CHAT
from tests.studio_app import app, button, no_exception, studio_runtime, texts  # noqa: F401
from tests.test_pages_chat import thread_messages_of, threads

HANDBOOK = (
    "# Skerry Point lighthouse: keeper's handbook\n\nThe keeper lives in the cottage by the tower.\n\n"
    "## Winding the clockwork\n\nThe clockwork is wound every four hours, day and night.\n\n"
    "## Paraffin deliveries\n\nParaffin comes by boat on the first Monday of each month.\n\n"
    "## Who to call in a storm\n\nCall the harbour master, Ines Varga, on channel 16.\n"
)
ORCHARD = "The orchard has forty-two pear trees. Pruning happens in late February, never in frost.\n"


def test_questions_come_from_each_documents_own_headings_one_document_at_a_time(runtime):
    clone = create_clone(runtime, "Keeper")
    assert suggested_questions(runtime, clone.id) == []  # nothing ready yet
    ingest_now(runtime, clone.id, "handbook.md", HANDBOOK.encode())
    ingest_now(runtime, clone.id, "orchard.txt", ORCHARD.encode())
    assert suggested_questions(runtime, clone.id) == [
        "What should I know about winding the clockwork?",  # handbook, first section (not its title)
        "What should I know about the orchard?",  # orchard.txt has no headings: its first sentence
        "What should I know about paraffin deliveries?",
    ]
    assert suggested_questions(runtime, clone.id, limit=10)[-1] == "Who to call in a storm?"
    assert suggested_questions(runtime, clone.id, owner="someone-else") == []


def test_questions_keep_the_documents_words():
    assert heading_question("Opening hours") == "What should I know about opening hours?"
    assert heading_question("GPS and maps") == "What should I know about GPS and maps?"
    assert heading_question("How do refunds work?") == "How do refunds work?"
    assert heading_question("A heading far too long to be a good question for anyone at all") == ""
    assert sentence_topic("## Notes\n\nThe north gate opens at dawn. Later text.") == "the north gate"
    assert sentence_topic("Lorem ipsum.") == ""


def test_the_welcome_is_dismissed_for_good_per_owner(runtime):
    assert not welcome_dismissed(runtime)
    dismiss_welcome(runtime)
    assert welcome_dismissed(runtime) and not welcome_dismissed(runtime, owner="someone-else")


def test_the_clones_page_welcomes_a_newcomer_until_dismissed(app, studio_runtime):
    at = app()
    page = texts(at)
    assert "Welcome to Clone Studio" in page and "1. Create a clone" in page and "3. Chat" in page
    assert "is a demo clone" in page
    button(at, "Got it, don't show this again").click().run()
    no_exception(at)
    assert "Welcome to Clone Studio" not in texts(at)
    assert "Welcome to Clone Studio" not in texts(app())  # a new session: still dismissed


def test_the_demo_chat_offers_three_questions_from_its_documents_and_asks_one(app, studio_runtime):
    at = app()
    button(at, "Try the demo chat").click().run()
    no_exception(at)
    suggested = [b for b in at.button if b.key and b.key.startswith("suggest-")]
    assert len(suggested) == 3 and all(b.label.endswith("?") for b in suggested)
    assert "opening hours" in " ".join(b.label for b in suggested)
    question = suggested[0].label
    suggested[0].click().run()
    no_exception(at)
    (thread,) = threads(studio_runtime, at.query_params["clone"])
    user, answer = thread_messages_of(studio_runtime, thread.id)
    assert user.content == question and answer.status == "complete"
    assert any(c.get("cited") for c in answer.citations)
    assert not [b for b in at.button if b.key and b.key.startswith("suggest-")]  # a thread, no longer empty


def test_a_new_clones_empty_chat_suggests_its_own_questions_once_documents_are_ready(app, studio_runtime):
    clone = create_clone(studio_runtime, "Keeper")
    at = app(PAGE_CHAT, query={"clone": clone.id})
    assert "once they are ready, questions to try appear here" in texts(at)
    assert not [b for b in at.button if b.key and b.key.startswith("suggest-")]
    ingest_now(studio_runtime, clone.id, "handbook.md", HANDBOOK.encode())
    at.run()
    labels = [b.label for b in at.button if b.key and b.key.startswith("suggest-")]
    assert labels == ["What should I know about winding the clockwork?",
                      "What should I know about paraffin deliveries?", "Who to call in a storm?"]
